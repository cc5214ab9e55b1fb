// Hostile HTTP against the gateway, on both HTTP servers (node:http on its own port, uWS on
// the WebSocket port): oversize and slow bodies, malformed JSON, header floods, traversal in
// path values, thousands of idle keep-alive connections. Each gets a clear status (or is
// closed), and a normal request is served right after, with its callee answering.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openSession, type OpenSession } from '../interop/support/autobahn-js.ts';
import { startGatewayRouter, until, type GatewayRouter } from './support.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'wampmesh-hostile-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const API = {
  name: 'h',
  realm: 'realm1',
  basePath: '/h',
  maxBodyBytes: 4096,
  routes: [
    { method: 'POST', path: '/echo', call: 'com.h.echo' },
    { method: 'GET', path: '/item/{id}', call: 'com.h.item.{path.id}' },
  ],
};

for (const shared of [false, true]) {
  const server = shared ? 'uWS' : 'node:http';
  let g: GatewayRouter;
  let callee: OpenSession;

  test.before(async () => {
    g = await startGatewayRouter({
      shared,
      config: { realms: [{ uri: 'realm1', anonymous: true }], gateway: { apis: [API], bodyReadTimeoutMs: 500 } },
    });
    callee = await openSession({ type: 'websocket', url: g.router.wsUrl }, 'callee', 'realm1');
    await callee.session.register('com.h.echo', (args) => args[0]);
    await callee.session.register('com.h.item.', () => 'item', { match: 'prefix' });
  });

  test.after.always(async () => {
    await callee?.close();
    await g?.stop();
  });

  const port = () => Number(new URL(g.base).port);
  const served = async (): Promise<boolean> => {
    const r = await fetch(`${g.base}/h/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"ok":1}',
    });
    const text = await r.text();
    return r.status === 200 && text === '{"args":[{"ok":1}],"kwargs":{}}';
  };

  /** Sends `bytes` (all at once, or as the function writes them) and returns what came back when the server closed or `ms` passed. */
  const raw = (send: (s: net.Socket) => void, ms = 3000): Promise<string> =>
    new Promise((resolve) => {
      const s = net.connect(port(), '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => {
        s.destroy();
        resolve(got);
      }, ms);
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => {
        clearTimeout(timer);
        resolve(got);
      });
      s.on('error', () => {});
      s.on('connect', () => send(s));
    });

  test.serial(`${server}: oversize bodies get 413, slow ones 408; malformed JSON 400`, async (t) => {
    const big = await raw((s) =>
      s.write(
        `POST /h/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"a":`,
      ),
    );
    t.regex(big, /^HTTP\/1\.1 413 /);
    t.regex(big, /"error":"wampmesh\.error\.payload_too_large"/);
    const chunked = await raw((s) => {
      s.write('POST /h/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 10; i++) s.write(`400\r\n${'a'.repeat(1024)}\r\n`);
    });
    t.regex(chunked, /^HTTP\/1\.1 413 /);
    const started = Date.now();
    const slow = await raw((s) => {
      s.write('POST /h/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{"a":');
      // One byte every 100 ms: alive, but never done within the read time.
      const drip = setInterval(() => (s.writable ? s.write(' ') : clearInterval(drip)), 100);
      s.on('close', () => clearInterval(drip));
    });
    t.regex(slow, /^HTTP\/1\.1 408 /);
    t.true(Date.now() - started < 2500);
    const bad = await fetch(`${g.base}/h/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":[1,2,',
    });
    t.is(bad.status, 400);
    t.true(await served());
  });

  test.serial(`${server}: 413 and 408 are well-formed HTTP (curl reads them whole, exit 0)`, async (t) => {
    const body = join(dir, 'body.json');
    // Over the spec's maxBodyBytes (4096): refused as it streams in.
    writeFileSync(body, `{"a":"${'x'.repeat(200_000)}"}`);
    const curl = (...args: string[]) =>
      run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', 'content-type: application/json', ...args]).then(
        (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
      );
    const large = await curl('--data-binary', `@${body}`, `${g.base}/h/echo`);
    t.is(large.code, 0, large.err);
    t.regex(large.out, /"error":"wampmesh\.error\.payload_too_large".*\n413$/s);
    // Under the size limit, but at 1000 bytes/s: past the read time (500 ms).
    writeFileSync(body, `{"a":"${'x'.repeat(3000)}"}`);
    const slow = await curl('--limit-rate', '1000', '--data-binary', `@${body}`, `${g.base}/h/echo`);
    t.is(slow.code, 0, slow.err);
    t.regex(slow.out, /"error":"wampmesh\.error\.request_timeout".*\n408$/s);
    // A client still sending when the answer comes reads it (the connection is not cut at once).
    const big = await fetch(`${g.base}/h/echo`, { method: 'POST', body: Buffer.alloc(5_000_000, 0x20) });
    t.is(big.status, 413);
    t.true(await served());
  });

  test.serial(`${server}: a header flood is refused; traversal in path values is 400`, async (t) => {
    const many = Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
    const flood = await raw((s) => s.write(`GET /h/item/1 HTTP/1.1\r\nHost: x\r\n${many}\r\n`));
    // node:http: 431; uWS closes the connection without an answer. Either way, no call.
    t.true(flood === '' || /^HTTP\/1\.1 4\d\d /.test(flood), flood.slice(0, 100));
    const huge = await raw((s) =>
      s.write(`GET /h/item/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`),
    );
    t.true(huge === '' || /^HTTP\/1\.1 4\d\d /.test(huge), huge.slice(0, 100));
    for (const path of [
      '/h/item/..',
      '/h/item/%2e%2e',
      '/h/item/a%2Fb',
      '/h/item/wamp.x',
      '/h/item/%00',
      '/h/item/a%ZZ',
    ]) {
      const r = await fetch(`${g.base}${path}`);
      t.true(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
    }
    const r = await fetch(`${g.base}/h/item/../../echo`);
    t.not(r.status, 200);
    t.true(await served());
  });

  test.serial(`${server}: thousands of idle keep-alive connections do not stop others being served`, async (t) => {
    const sockets: net.Socket[] = [];
    const statuses = new Map<net.Socket, string>();
    try {
      // Half never send a byte, half send one request and then sit on the connection.
      for (let i = 0; i < 2000; i++) {
        const s = net.connect(port(), '127.0.0.1');
        s.on('error', () => {});
        sockets.push(s);
        if (i % 2 === 1) {
          s.on('connect', () =>
            s.write(
              'POST /h/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
            ),
          );
          let head = '';
          s.on('data', (d: Buffer) => {
            head += d.toString('latin1');
            if (head.length >= 12 && !statuses.has(s)) statuses.set(s, head.slice(9, 12));
          });
        }
      }
      await until(() => sockets.every((s) => !s.connecting), 10_000, 'connections up');
      // Every request answered: 200, or 503 past the in-flight limit (1000 at once > 256).
      await until(() => statuses.size === 1000, 20_000, 'all answered');
      t.deepEqual(
        [...statuses.values()].filter((x) => x !== '200' && x !== '503'),
        [],
      );
      t.true([...statuses.values()].includes('200'));
      const started = Date.now();
      t.true(await served());
      t.true(Date.now() - started < 2000, 'served promptly');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
}
