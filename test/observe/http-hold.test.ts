// A node:http listener holds at most 64 connections: ones that never finish a request head
// must not hold them for long. The real router process, its default timeouts (a head within
// 10 s), and clients that keep their side of the connection open (allowHalfOpen): a server
// that only ended its side would leave them counted against the limit.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';

const HELD = 64;

async function startHttpRouter(): Promise<{ router: RouterProcess; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-hold-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: {
        websocket: [{ host: '127.0.0.1', port: 0, path: '/ws' }],
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        http: [{ host: '127.0.0.1', port: 0, serve: ['metrics', 'health'] }],
      },
    }),
  );
  try {
    const router = await startRouter({ args: ['--config', file] });
    const http = router.listeners.find((l) => l.transport === 'http');
    if (http === undefined) throw new Error('no http listener in the listening line');
    return { router, port: http.port };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A connection that keeps its side open whatever the server does; it notes the server's FIN and the close. */
interface Held {
  readonly socket: net.Socket;
  ended: boolean;
  closed: boolean;
  /** What the server sent. */
  got: string;
}

function hold(port: number, onConnect: (s: net.Socket) => void): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const h: Held = { socket, ended: false, closed: false, got: '' };
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => (h.got += d.toString('latin1')));
    socket.on('end', () => (h.ended = true));
    socket.on('close', () => (h.closed = true));
    socket.once('connect', () => {
      onConnect(socket);
      resolve(h);
    });
    socket.once('error', reject);
  });
}

/** GET /healthz on a connection of its own (a pooled one would keep a place): its status, or why none came. */
function healthz(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => s.destroy(), 2000);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(got);
      resolve(status === null ? `no answer (${JSON.stringify(got.slice(0, 40))})` : Number(status[1]));
    });
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  });
}

/** Polls `cond` until it holds (true) or `ms` pass (false). */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

for (const [name, attack] of [
  ['idle connections that never send a byte', (_s: net.Socket) => {}],
  [
    'slow heads: a header line every second, never finished',
    (s: net.Socket) => {
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => (s.writable ? s.write('X-A: b\r\n') : clearInterval(drip)), 1000);
      s.on('close', () => clearInterval(drip));
    },
  ],
] as const) {
  test(`${name}: ${HELD} of them are closed by the server and /healthz answers again`, async (t) => {
    const { router, port } = await startHttpRouter();
    const held: Held[] = [];
    t.teardown(async () => {
      for (const h of held) h.socket.destroy();
      await router.stop();
    });
    t.is(await healthz(port), 200);
    for (let i = 0; i < HELD; i++) held.push(await hold(port, attack));
    const started = Date.now();
    // Every place is taken: a probe now is turned away (the listener drops connections past its limit).
    t.not(await healthz(port), 200);
    // The head is due 10 s after the connection opened; a few seconds' margin for a busy machine.
    const gone = await waitFor(() => held.every((h) => h.ended || h.closed), 16_000);
    t.true(gone, `server closed ${held.filter((h) => h.ended || h.closed).length} of ${HELD}`);
    t.true(Date.now() - started >= 8000, 'not before the head was due');
    // A head begun and not finished is told why (one cut short by a reset may miss it).
    const answers = new Set(held.map((h) => h.got.slice(0, 12)));
    t.deepEqual(answers, new Set(name.startsWith('idle') ? [''] : ['HTTP/1.1 408', ...(answers.has('') ? [''] : [])]));
    // The clients still have their side open: the listener must have let the connections go.
    let status: number | string = '';
    const deadline = Date.now() + 4000;
    while (status !== 200 && Date.now() < deadline) status = await healthz(port);
    t.is(status, 200);
  });
}
