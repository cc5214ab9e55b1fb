// Connections that hold a slot and do nothing: RawSocket clients that never finish the
// 4-octet handshake, ones that finish it but never send HELLO, WebSocket clients that upgrade
// but never send HELLO. A normal client must still get prompt service meanwhile, and the
// router must reclaim every stalled slot once the handshake timeout passes.

import test from 'ava';
import type { RouterProcess } from '../helpers/router-process.ts';
import {
  connect,
  EchoService,
  isAlive,
  openTcp,
  startConfiguredRouter,
  within,
  type RawClient,
  type TcpProbe,
} from '../helpers/raw-client.ts';

const STALLED_RAW = 300;
const STALLED_WS = 300;
const NO_HELLO_RAW = 100;
// Long enough to open 700 connections and make the probe call first, short enough for the test.
const HANDSHAKE_TIMEOUT_MS = 4_000;
// The router checks HELLO timeouts on a 1 s tick.
const RECLAIM_DEADLINE_MS = HANDSHAKE_TIMEOUT_MS + 1_000 + 4_000;

let router: RouterProcess;
let service: EchoService;

test.before(async () => {
  // Each WebSocket that has not logged in holds a share of the pre-login budget (its
  // maxMessageSize; test/hostile/pre-auth-memory.test.ts is about that memory): small messages and no
  // per-address cap let all 300 in, as this test is about the slots.
  router = await startConfiguredRouter({
    limits: {
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      maxMessageSize: 32 * 1024,
      preAuthConnectionsPerAddress: 1_000_000,
    },
  });
  service = await EchoService.start(router);
});

test.after.always(async () => {
  await service?.stop();
  await router?.stop();
});

async function timedCall(): Promise<number> {
  const start = performance.now();
  const client = await connect({ transport: 'rawsocket', serializer: 'json', port: router.rawsocketPort });
  await client.join();
  const reply = await client.call(service.procedure, ['prompt?'], {}, 2_000);
  const ms = performance.now() - start;
  await client.destroy();
  if (reply[0] !== 50) throw new Error(`probe call failed: ${JSON.stringify(reply)}`);
  return ms;
}

test.serial('stalled handshakes and silent sessions do not delay others, and are reclaimed', async (t) => {
  const baselineMs = await timedCall();
  const openedAt = Date.now();

  // Half send nothing at all, half send the magic octet and stop: a drip that an idle-timer
  // (rather than an absolute deadline) would let live forever.
  const raw: TcpProbe[] = await Promise.all(
    Array.from({ length: STALLED_RAW }, async (_, i) => {
      const probe = await openTcp(router.rawsocketPort);
      if (i % 2 === 1) probe.socket.write(Uint8Array.of(0x7f));
      return probe;
    }),
  );
  const noHello: RawClient[] = await Promise.all(
    Array.from({ length: NO_HELLO_RAW }, () =>
      connect({ transport: 'rawsocket', serializer: 'cbor', port: router.rawsocketPort }),
    ),
  );
  const ws: RawClient[] = await Promise.all(
    Array.from({ length: STALLED_WS }, (_, i) =>
      connect({ transport: 'websocket', serializer: i % 2 ? 'json' : 'msgpack', url: router.wsUrl }),
    ),
  );
  const openMs = Date.now() - openedAt;

  // With 700 idle connections open, a normal client still joins and calls at once.
  const underLoadMs = await timedCall();
  t.log(
    `opened ${STALLED_RAW} stalled RawSocket handshakes, ${NO_HELLO_RAW} RawSocket and ${STALLED_WS} WebSocket sessions without HELLO in ${openMs} ms`,
  );
  t.log(`connect+join+call: ${baselineMs.toFixed(1)} ms before, ${underLoadMs.toFixed(1)} ms with them open`);
  t.true(underLoadMs < 1_000, `a fresh client's call took ${underLoadMs.toFixed(0)} ms`);
  t.true(
    Date.now() - openedAt < HANDSHAKE_TIMEOUT_MS,
    'the probe ran while every stalled connection was still open (else the test proves nothing)',
  );
  t.false(
    raw.some((p) => p.socket.closed) || noHello.some((c) => c.isClosed) || ws.some((c) => c.isClosed),
    'none closed before the timeout',
  );

  // The router reclaims them all: handshakes by their absolute deadline, silent sessions by
  // the HELLO timeout.
  const reclaimed = Promise.all([
    ...raw.map((p) => p.closed),
    ...noHello.map((c) => c.closed),
    ...ws.map((c) => c.closed),
  ]);
  await within(reclaimed, RECLAIM_DEADLINE_MS, 'router closes every stalled connection').catch((e: unknown) =>
    t.fail(String(e)),
  );
  const closedAfterMs = Date.now() - openedAt;
  t.log(
    `all ${STALLED_RAW + NO_HELLO_RAW + STALLED_WS} reclaimed ${closedAfterMs} ms after opening (timeout ${HANDSHAKE_TIMEOUT_MS} ms)`,
  );
  t.true(closedAfterMs >= HANDSHAKE_TIMEOUT_MS - 500, 'not closed early');
  t.is(raw.filter((p) => p.received().length > 0).length, 0, 'stalled handshakes got no reply bytes');

  t.true(isAlive(router.pid));
  await service.assertServing();
  t.pass();
});
