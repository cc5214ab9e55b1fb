// The gateway's in-flight and stream limits over real HTTP against an in-process router: past
// them 503 with Retry-After, and every slot comes back when its client goes away (no leak).

import test from 'ava';
import net from 'node:net';
import { Gateway } from '../../src/gateway/gateway.ts';
import { parseApiSpec } from '../../src/gateway/spec.ts';
import { Router } from '../../src/router/router.ts';
import { listenHttp } from '../../src/transport/http-server.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { until } from './support.ts';

test('in-flight and stream limits: 503 + Retry-After past them; slots return when clients go', async (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const spec = parseApiSpec({
    name: 'l',
    realm: 'realm1',
    basePath: '/l',
    routes: [
      { method: 'POST', path: '/hold', call: 'com.l.hold' },
      { method: 'POST', path: '/steps', call: 'com.l.hold', progress: true },
      { method: 'GET', path: '/events', subscribe: 'com.l.events' },
    ],
  });
  const gateway = new Gateway({
    acceptor: router,
    specs: () => ({ version: 1, specs: [spec] }),
    limits: { maxInFlight: 2, maxStreams: 2 },
  });
  const http = await listenHttp({ host: '127.0.0.1', port: 0 }, () => ({ status: 404, headers: {}, body: '' }), {
    routes: [gateway.route],
  });
  t.teardown(async () => {
    gateway.stop();
    await http.close();
  });
  // A callee that never answers: every call stays in flight.
  const callee = new MemoryClient(router);
  callee.join('realm1');
  callee.send([64, 1, {}, 'com.l.hold']);
  const base = `http://127.0.0.1:${http.port}`;

  const held = [new AbortController(), new AbortController()];
  const pending = held.map((a) => fetch(`${base}/l/hold`, { method: 'POST', signal: a.signal }).catch(() => 'gone'));
  await until(() => gateway.inFlight === 2, 3000, 'two in flight');
  const over = await fetch(`${base}/l/hold`, { method: 'POST' });
  t.is(over.status, 503);
  t.is(over.headers.get('retry-after'), '5');
  t.is(((await over.json()) as { error: string }).error, 'wampmesh.error.unavailable');
  for (const a of held) a.abort();
  await Promise.all(pending);
  await until(() => gateway.inFlight === 0, 3000, 'in-flight slots back');

  // Event streams and streamed calls share the stream slots.
  const streams = [new AbortController(), new AbortController()];
  const opened = [
    await fetch(`${base}/l/events`, { signal: streams[0]!.signal }),
    await fetch(`${base}/l/steps`, {
      method: 'POST',
      headers: { accept: 'application/x-ndjson' },
      signal: streams[1]!.signal,
    }),
  ];
  t.deepEqual(
    opened.map((r) => r.status),
    [200, 200],
  );
  t.is(gateway.streams, 2);
  t.is((await fetch(`${base}/l/events`)).status, 503);
  for (const a of streams) a.abort();
  await until(() => gateway.streams === 0, 3000, 'stream slots back');
  const again = new AbortController();
  t.is((await fetch(`${base}/l/events`, { signal: again.signal })).status, 200);
  again.abort();
  await until(() => gateway.streams === 0, 3000, 'stream slot back again');
});

test("a request's body limits: its API's size and the gateway's read time, following a spec change", (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const api = (maxBodyBytes: number) =>
    parseApiSpec({
      name: 'b',
      realm: 'realm1',
      basePath: '/b',
      maxBodyBytes,
      routes: [{ method: 'POST', path: '/x', call: 'com.b.x' }],
    });
  let current = { version: 1, specs: [api(100)] };
  const gateway = new Gateway({ acceptor: router, specs: () => current, limits: { bodyReadTimeoutMs: 1234 } });
  t.teardown(() => gateway.stop());
  const head = { method: 'POST', path: '/b/x', query: '', headers: {}, remote: '127.0.0.1', local: true };
  t.deepEqual(gateway.route.match(head), { maxBytes: 100, readTimeoutMs: 1234 });
  t.is(gateway.route.match({ ...head, path: '/elsewhere' }), undefined);
  current = { version: 2, specs: [api(200)] };
  t.deepEqual(gateway.route.match(head), { maxBytes: 200, readTimeoutMs: 1234 });
});

test('a streamed call whose client does not read is cut off past the buffer limit, and its call cancelled', async (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const spec = parseApiSpec({
    name: 'p',
    realm: 'realm1',
    basePath: '/p',
    routes: [
      { method: 'POST', path: '/steps', call: 'com.p.steps', progress: true },
      { method: 'POST', path: '/echo', call: 'com.p.echo' },
    ],
  });
  const gateway = new Gateway({
    acceptor: router,
    specs: () => ({ version: 1, specs: [spec] }),
    limits: { sseMaxBufferedBytes: 256 * 1024 },
  });
  const http = await listenHttp({ host: '127.0.0.1', port: 0 }, () => ({ status: 404, headers: {}, body: '' }), {
    routes: [gateway.route],
  });
  t.teardown(async () => {
    gateway.stop();
    await http.close();
  });
  const callee = new MemoryClient(router);
  callee.join('realm1', {
    roles: { callee: { features: { progressive_call_results: true, call_canceling: true } } },
  });
  callee.send([64, 1, {}, 'com.p.steps']);
  callee.send([64, 2, {}, 'com.p.echo']);
  callee.take();

  // A client that sends its request and reads nothing.
  const client = net.connect(http.port, '127.0.0.1');
  client.pause();
  let received = 0;
  const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.on('connect', () => resolve()));
  client.write('POST /p/steps HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\nContent-Length: 2\r\n\r\n{}');
  await until(() => callee.received.some((m) => m[0] === 68), 3000, 'the invocation');
  const invocation = callee.take().find((m) => m[0] === 68)!;
  // 40 MB of progressive results: far more than the kernel's socket buffers and the limit.
  const chunk = 'x'.repeat(100_000);
  for (let i = 0; i < 400 && !callee.received.some((m) => m[0] === 69); i++) {
    callee.send([70, invocation[1], { progress: true }, [chunk]]);
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
  }
  await until(() => callee.received.some((m) => m[0] === 69), 3000, 'the INTERRUPT of the cancelled call');
  await until(() => gateway.streams === 0, 3000, 'the stream slot back');
  // What reaches the client is what the kernel held when the stream was cut: no final line.
  client.on('data', (d: Buffer) => (received += d.length));
  client.resume();
  await closed;
  t.true(received < 20_000_000, `${received} bytes reached the client`);
  t.false(callee.closed, 'the callee is still connected');
  // The gateway still serves.
  const answered = fetch(`http://127.0.0.1:${http.port}/p/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '"hi"',
  });
  await until(() => callee.received.some((m) => m[0] === 68), 3000, 'the echo invocation');
  const echo = callee.take().find((m) => m[0] === 68)!;
  callee.send([70, echo[1], {}, echo[4] as unknown[]]);
  t.is((await answered).status, 200);
});
