// The WebSocket transport under the real core (an in-process Router), over real sockets:
// what a client learns from the close code when the router ends its connection, and the
// peer address a WebSocket session reports. Close codes (src/transport/websocket-server.ts):
// 1008 for a slow consumer the core kills, 1000 after GOODBYE or ABORT.

import test from 'ava';
import type { Peer, PeerAcceptor } from '../../src/router/peer.ts';
import { Router } from '../../src/router/router.ts';
import { parsePeer } from '../../src/security/address.ts';
import { listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { listenWebSocket } from '../../src/transport/websocket-server.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { connect, waitFor, within, type RawClient } from '../helpers/raw-client.ts';

const SOFT_LIMIT = 64 * 1024;
const HARD_LIMIT = 256 * 1024;
const SLOW_CONSUMER_MS = 200;

interface Fixture {
  readonly router: Router;
  readonly wsUrl: string;
  /** Every Peer the transports attached, in order. */
  readonly peers: Peer[];
}

async function fixture(t: { teardown(fn: () => Promise<void> | void): void }): Promise<Fixture> {
  const router = new Router({
    realms: [{ uri: 'realm1', anonymous: true }],
    limits: {
      outboundSoftLimitBytes: SOFT_LIMIT,
      outboundHardLimitBytes: HARD_LIMIT,
      slowConsumerTimeoutMs: SLOW_CONSUMER_MS,
    },
  });
  const peers: Peer[] = [];
  const acceptor: PeerAcceptor = {
    attach: (peer) => {
      peers.push(peer);
      return router.attach(peer);
    },
  };
  const listener = await listenWebSocket({ host: '127.0.0.1', port: 0 }, acceptor);
  t.teardown(() => listener.close());
  return { router, wsUrl: `ws://127.0.0.1:${listener.port}/ws`, peers };
}

async function joined(url: string, impl: 'net' | 'global' = 'net'): Promise<RawClient> {
  const c = await connect({ transport: 'websocket', serializer: 'json', url, websocketImpl: impl });
  await c.join();
  return c;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a caller that stops reading its RPC results is closed at the hard limit with 1008', async (t) => {
  const { router, wsUrl } = await fixture(t);
  // An in-process callee answering every INVOCATION with 64 KiB.
  const callee = new MemoryClient(router);
  callee.join();
  callee.send([64, 1, {}, 'test.big']);
  callee.take();
  const big = 'r'.repeat(64 * 1024);
  const caller = await joined(wsUrl);
  caller.pause();
  // Up to 64 MiB of results if nothing stopped them; far beyond the kernel's socket buffers.
  for (let i = 1; i <= 1000; i++) caller.send([48, i, {}, 'test.big', [i]]);
  await waitFor(
    () => {
      for (const m of callee.take()) if (m[0] === 68) callee.send([70, m[1], {}, [big]]);
      return router.sessionCount < 2;
    },
    10_000,
    'the router to kill the caller',
    1,
  );
  t.false(callee.closed, 'the callee lives');
  caller.resume();
  const info = await within(caller.closed, 10_000, 'the caller sees the close');
  t.deepEqual(info, { code: 1008, reason: 'slow consumer' });
});

test('a subscriber over the soft limit for slowConsumerTimeoutMs is closed with 1008', async (t) => {
  const { router, wsUrl, peers } = await fixture(t);
  const subscriber = await joined(wsUrl);
  subscriber.send([32, 1, {}, 'test.fire']);
  await subscriber.next((m) => m[0] === 33);
  const subscriberPeer = peers.at(-1)!;
  subscriber.pause();
  const publisher = new MemoryClient(router);
  publisher.join();
  const payload = 'x'.repeat(1000);
  // Publish in batches across event-loop turns (the transport writes at the end of each), until
  // the kernel's buffers are full and bytes pile up in the router over the soft limit.
  await waitFor(
    async () => {
      for (let i = 0; i < 64; i++) publisher.send([16, 1, {}, 'test.fire', [payload]]);
      await turn();
      return subscriberPeer.bufferedAmount() > SOFT_LIMIT;
    },
    10_000,
    'the subscriber to fall behind by more than the soft limit',
    0,
  );
  router.tick();
  t.is(router.sessionCount, 2, 'not closed before the timeout');
  await new Promise((r) => setTimeout(r, SLOW_CONSUMER_MS + 20));
  router.tick();
  t.is(router.sessionCount, 1, 'killed as a slow consumer');
  subscriber.resume();
  const info = await within(subscriber.closed, 10_000, 'the subscriber sees the close');
  t.deepEqual(info, { code: 1008, reason: 'slow consumer' });
});

for (const impl of ['net', 'global'] as const) {
  test(`GOODBYE from the client: GOODBYE back, then close 1000 (${impl} client)`, async (t) => {
    const { wsUrl } = await fixture(t);
    const c = await joined(wsUrl, impl);
    c.send([6, {}, 'wamp.close.close_realm']);
    t.deepEqual(await c.next(), [6, {}, 'wamp.close.goodbye_and_out']);
    const info = await within(c.closed, 5_000, 'close');
    t.is(info.code, 1000);
  });
}

test('GOODBYE from the router (realm deleted), answered: close 1000', async (t) => {
  const { router, wsUrl } = await fixture(t);
  const c = await joined(wsUrl);
  router.removeRealm('realm1');
  const goodbye = await c.next();
  t.is(goodbye[0], 6);
  t.is(goodbye[2], 'wamp.close.close_realm');
  c.send([6, {}, 'wamp.close.goodbye_and_out']);
  t.like(await within(c.closed, 5_000, 'close'), { code: 1000 });
});

test('ABORT after a protocol violation: close 1000 (the ABORT says why)', async (t) => {
  const { wsUrl } = await fixture(t);
  const c = await joined(wsUrl);
  c.send([1, 'realm1', { roles: { caller: {} } }]); // HELLO again
  const abort = await c.next();
  t.is(abort[0], 3);
  t.is(abort[2], 'wamp.error.protocol_violation');
  t.like(await within(c.closed, 5_000, 'close'), { code: 1000 });
});

test('the transport peer of a WebSocket session: the client IP, which sources can match', async (t) => {
  const { router, wsUrl } = await fixture(t);
  const raw = await listenRawSocket({ host: '127.0.0.1', port: 0 }, router);
  t.teardown(() => raw.close());
  const ws = await joined(wsUrl);
  const rs = await connect({ transport: 'rawsocket', serializer: 'json', port: raw.port! });
  await rs.join();

  const result = await ws.call('wamp.session.get', [ws.sessionId]);
  t.is(result[0], 50, JSON.stringify(result));
  const details = (result[3] as Array<Record<string, unknown>>)[0]!;
  // uWS 20.57 gives no remote port (see websocket-server.ts), so a WebSocket peer is the bare
  // IP; RawSocket peers carry ":port".
  t.deepEqual(details.transport, { type: 'websocket', peer: '127.0.0.1' });
  const other = await ws.call('wamp.session.get', [rs.sessionId]);
  const rsTransport = (other[3] as Array<Record<string, unknown>>)[0]!.transport as { peer: string };
  t.regex(rsTransport.peer, /^127\.0\.0\.1:\d+$/);
  // Whatever the form, address matching sees the bare IP.
  for (const peer of ['127.0.0.1', rsTransport.peer]) {
    t.deepEqual(parsePeer(peer), { kind: 'ip', family: 'ipv4', address: '127.0.0.1' }, peer);
  }
  await Promise.all([ws.close(), rs.close()]);
});
