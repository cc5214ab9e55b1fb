// 200 sessions at once, over both transports and all three serializers, calling one callee:
// every caller gets its own result (no crossed wires in the Dealer's request mapping), first
// with one call each, then with 25 in flight each.

import test from 'ava';
import type { SerializerName } from '../../src/serializers/index.ts';
import { connect, type RawClient, type TransportKind } from '../helpers/raw-client.ts';
import { servedRouter } from '../helpers/served-router.ts';

const SESSIONS = 200;
const PIPELINED = 25;
const SERIALIZERS: readonly SerializerName[] = ['json', 'msgpack', 'cbor'];

const fx = servedRouter(test, {});

test.serial(
  `${SESSIONS} concurrent sessions (RawSocket and WebSocket, all serializers) each get their own result`,
  async (t) => {
    const started = performance.now();
    const clients: RawClient[] = await Promise.all(
      Array.from({ length: SESSIONS }, async (_, i) => {
        const transport: TransportKind = i % 2 === 0 ? 'rawsocket' : 'websocket';
        const serializer = SERIALIZERS[i % 3]!;
        const client = await connect({
          transport,
          serializer,
          port: fx.router.rawsocketPort,
          url: fx.router.wsUrl,
          timeoutMs: 10_000,
        });
        await client.join('realm1', {}, 10_000);
        return client;
      }),
    );
    const joinedMs = performance.now() - started;
    const ids = new Set(clients.map((c) => c.sessionId));
    t.is(ids.size, SESSIONS, 'distinct session IDs');

    // Round 1: one call each, all at once.
    const round1 = performance.now();
    const results = await Promise.all(
      clients.map((c, i) => c.call(fx.service.procedure, [i, `caller-${i}`], { who: c.sessionId }, 15_000)),
    );
    const round1Ms = performance.now() - round1;
    results.forEach((r, i) => {
      t.deepEqual(
        r,
        [50, r[1], {}, [i, `caller-${i}`], { who: clients[i]!.sessionId }],
        `caller ${i} (${clients[i]!.transport}/${clients[i]!.serializer.name})`,
      );
    });

    // Round 2: many calls in flight per session, interleaved across sessions at the callee.
    const round2 = performance.now();
    const all = await Promise.all(
      clients.map((c, i) =>
        Promise.all(Array.from({ length: PIPELINED }, (_, k) => c.call(fx.service.procedure, [i, k], {}, 30_000))),
      ),
    );
    const round2Ms = performance.now() - round2;
    let wrong = 0;
    all.forEach((replies, i) =>
      replies.forEach((r, k) => {
        if (r[0] !== 50 || JSON.stringify(r[3]) !== JSON.stringify([i, k])) wrong++;
      }),
    );
    t.is(wrong, 0, 'every pipelined call got its own result');

    t.log(`${SESSIONS} sessions connected and joined in ${joinedMs.toFixed(0)} ms`);
    t.log(`round 1: ${SESSIONS} concurrent calls in ${round1Ms.toFixed(0)} ms`);
    t.log(
      `round 2: ${SESSIONS * PIPELINED} calls (${PIPELINED} in flight per session) in ` +
        `${round2Ms.toFixed(0)} ms = ${Math.round((SESSIONS * PIPELINED) / (round2Ms / 1000))} calls/s`,
    );
    await Promise.all(clients.map((c) => c.close()));
    await fx.service.assertServing();
  },
);
