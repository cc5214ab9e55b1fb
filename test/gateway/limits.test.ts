// The gateway's in-flight and stream limits over real HTTP against an in-process router: past
// them 503 with Retry-After, and every slot comes back when its client goes away (no leak).

import test from 'ava';
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
