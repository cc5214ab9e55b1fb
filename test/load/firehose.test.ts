// A publisher firehose (200k acknowledged PUBLISHes of ~1 KB) with three subscribers: one that
// reads, and two that never read (a paused RawSocket and a paused WebSocket). Per the router's
// slow-consumer policy (src/router/limits.ts): events to a session over the soft limit are
// dropped, and a session that stays over it is closed. What must hold:
//   - the publisher is never stalled by the non-readers: its acknowledgements keep coming;
//   - the reader gets every event, in order;
//   - the non-readers are dropped, then closed;
//   - the router's memory stays bounded (RSS from /proc/<pid>/status, sampled throughout).
// The router runs as a child process with small limits from a config file.

import test from 'ava';
import { cbor } from '../../src/serializers/index.ts';
import type { RouterProcess } from '../helpers/router-process.ts';
import {
  connect,
  EchoService,
  rssBytes,
  startConfiguredRouter,
  waitFor,
  within,
  type RawClient,
} from '../helpers/raw-client.ts';

const EVENTS = 200_000;
const PAYLOAD = 'x'.repeat(1000);
const TOPIC = 'load.firehose';
const SOFT_LIMIT = 512 * 1024;
const HARD_LIMIT = 8 * 1024 * 1024;
const SLOW_CONSUMER_MS = 1_000;
// Publishing stops short of this many unacknowledged PUBLISHes (the publisher's own pacing)...
const ACK_WINDOW = 512;
// ...and of this many events the reader has not yet received: the reader is "fast" by
// construction, so events it misses would be the router's fault, not the policy's.
const READER_WINDOW = 256;
const RSS_HEADROOM = 150 * 1024 * 1024;
const DEADLINE_MS = 45_000;

let router: RouterProcess;

test.before(async () => {
  router = await startConfiguredRouter({
    limits: {
      outboundSoftLimitBytes: SOFT_LIMIT,
      outboundHardLimitBytes: HARD_LIMIT,
      slowConsumerTimeoutMs: SLOW_CONSUMER_MS,
    },
  });
});

test.after.always(async () => {
  await router?.stop();
});

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

test.serial(
  `firehose of ${EVENTS} events: publisher unstalled, reader complete, non-readers dropped, memory bounded`,
  async (t) => {
    const port = router.rawsocketPort;
    const reader = await connect({ transport: 'rawsocket', serializer: 'cbor', port });
    const stuckRaw = await connect({ transport: 'rawsocket', serializer: 'json', port });
    const stuckWs = await connect({
      transport: 'websocket',
      serializer: 'msgpack',
      url: router.wsUrl,
      websocketImpl: 'net',
    });
    const publisher = await connect({ transport: 'rawsocket', serializer: 'cbor', port });
    for (const c of [reader, stuckRaw, stuckWs, publisher]) await c.join();
    for (const c of [reader, stuckRaw, stuckWs]) await c.subscribe(TOPIC);
    stuckRaw.pause();
    stuckWs.pause();
    // Non-readers still count what eventually reaches them (after resume) without keeping it.
    let stuckRawEvents = 0;
    let stuckWsEvents = 0;
    stuckRaw.rawMode(() => {
      stuckRawEvents++;
    });
    stuckWs.rawMode(() => {
      stuckWsEvents++;
    });

    // Reader: decode every event and check the sequence.
    let received = 0;
    let outOfOrder = 0;
    let resolveReaderDone!: () => void;
    const readerDone = new Promise<void>((resolve) => {
      resolveReaderDone = resolve;
    });
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    reader.rawMode((payload) => {
      const m = cbor.decode(payload as Uint8Array) as unknown[];
      if (m[0] !== 36) return;
      const seq = (m[4] as unknown[])[0];
      if (seq !== received) outOfOrder++;
      received++;
      if (received === EVENTS) resolveReaderDone();
      poke();
    });

    // Publisher: acknowledged publishes, paced by its ack window and the reader's progress.
    let acked = 0;
    let ackErrors = 0;
    let lastAckAt = performance.now();
    let maxAckGapMs = 0;
    publisher.rawMode((payload) => {
      const m = cbor.decode(payload as Uint8Array) as unknown[];
      if (m[0] === 17) {
        const now = performance.now();
        maxAckGapMs = Math.max(maxAckGapMs, now - lastAckAt);
        lastAckAt = now;
        acked++;
      } else if (m[0] === 8) ackErrors++;
      poke();
    });

    const baselineRss = rssBytes(router.pid);
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(router.pid));
    }, 100);

    const started = performance.now();
    let sent = 0;
    try {
      lastAckAt = performance.now();
      while (sent < EVENTS) {
        if (performance.now() - started > DEADLINE_MS)
          throw new Error(`deadline: sent ${sent}, acked ${acked}, read ${received}`);
        if (publisher.isClosed) throw new Error(`publisher closed: ${JSON.stringify(publisher.closeInfo)}`);
        while (sent < EVENTS && sent - acked < ACK_WINDOW && sent - received < READER_WINDOW) {
          publisher.send([16, sent + 1, { acknowledge: true }, TOPIC, [sent, PAYLOAD]]);
          sent++;
        }
        // Wait for an ack or an event (no fixed sleep); the timeout only guards a wedged router.
        await within(
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
          5_000,
          `progress (sent ${sent}, acked ${acked}, read ${received})`,
        );
      }
      await within(readerDone, 10_000, `reader gets all ${EVENTS} (has ${received})`);
      while (acked + ackErrors < EVENTS)
        await within(
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
          5_000,
          `acks (${acked})`,
        );
    } finally {
      clearInterval(sampler);
    }
    const elapsedMs = performance.now() - started;
    const finalRss = rssBytes(router.pid);

    t.is(ackErrors, 0, 'no PUBLISH was refused');
    t.is(acked, EVENTS, 'every PUBLISH acknowledged');
    t.is(received, EVENTS, 'the reader received every event');
    t.is(outOfOrder, 0, 'in order');
    t.true(
      maxAckGapMs < 2_000,
      `the publisher was never stalled: longest wait between acks ${maxAckGapMs.toFixed(0)} ms`,
    );
    t.true(
      peakRss < baselineRss + RSS_HEADROOM,
      `router RSS peak ${mb(peakRss)} within ${mb(baselineRss)} + ${mb(RSS_HEADROOM)}`,
    );

    // The non-readers: the router must give up on them within the slow-consumer timeout (plus
    // its 1 s tick), even if the firehose ended sooner. Only then resume reading: a paused socket
    // does not notice the FIN, and one that catches up early would rightly be kept.
    const slowConsumerLines = (): string[] =>
      router
        .stderr()
        .split('\n')
        .filter((l) => l.includes('slow consumer'));
    await waitFor(
      () => slowConsumerLines().length >= 2,
      SLOW_CONSUMER_MS + 5_000,
      'the router to close both slow consumers',
    ).catch((e: unknown) => t.fail(String(e)));
    stuckRaw.resume();
    stuckWs.resume();
    const closedRaw = await within(stuckRaw.closed, 15_000, 'paused RawSocket subscriber closed by the router').catch(
      (e: unknown) => {
        t.fail(String(e));
        return undefined;
      },
    );
    const closedWs = await within(stuckWs.closed, 15_000, 'paused WebSocket subscriber closed by the router').catch(
      (e: unknown) => {
        t.fail(String(e));
        return undefined;
      },
    );
    t.true(stuckRawEvents < EVENTS, `paused RawSocket subscriber got ${stuckRawEvents} events, not all`);
    t.true(stuckWsEvents < EVENTS, `paused WebSocket subscriber got ${stuckWsEvents} events, not all`);
    t.deepEqual(
      closedWs,
      { code: 1008, reason: 'slow consumer' },
      'WebSocket close code 1008 (policy violation) for a slow consumer',
    );
    const slowLines = slowConsumerLines();
    t.true(slowLines.length >= 2, `router logged the slow consumers: ${slowLines.join(' | ').slice(0, 500)}`);

    t.log(
      `${EVENTS} events of ${PAYLOAD.length} B in ${(elapsedMs / 1000).toFixed(1)} s = ` +
        `${Math.round(EVENTS / (elapsedMs / 1000))} events/s; longest ack gap ${maxAckGapMs.toFixed(0)} ms`,
    );
    t.log(
      `router RSS: baseline ${mb(baselineRss)}, peak ${mb(peakRss)} (+${mb(peakRss - baselineRss)}), after ${mb(finalRss)}`,
    );
    t.log(
      `paused subscribers: RawSocket got ${stuckRawEvents} then closed ${JSON.stringify(closedRaw)}; ` +
        `WebSocket got ${stuckWsEvents} then closed ${JSON.stringify(closedWs)}`,
    );
    t.log(`router log: ${slowLines.map((l) => l.slice(0, 240)).join('\n  ')}`);

    // And the router still serves.
    const service = await EchoService.start(router, 'load.after');
    await service.assertServing();
    await service.stop();
    for (const c of [reader, publisher] as RawClient[]) await c.close();
  },
);

test.serial('a caller that stops reading its (undroppable) RPC results is closed at the hard limit', async (t) => {
  // RESULTs cannot be dropped like EVENTs, so the hard limit is what bounds memory here.
  const RESULT_SIZE = 64 * 1024;
  const CALLS = 2_000; // 128 MB of results if nothing stopped them
  const big = 'r'.repeat(RESULT_SIZE);
  const callee = await connect({ transport: 'rawsocket', serializer: 'cbor', port: router.rawsocketPort });
  await callee.join();
  await callee.register('load.big');
  let invocations = 0;
  callee.rawMode((payload) => {
    const m = cbor.decode(payload as Uint8Array) as unknown[];
    if (m[0] !== 68) return;
    invocations++;
    callee.send([70, m[1], {}, [big]]);
  });
  const caller = await connect({ transport: 'websocket', serializer: 'json', url: router.wsUrl, websocketImpl: 'net' });
  await caller.join();
  caller.pause();

  const baselineRss = rssBytes(router.pid);
  let peakRss = baselineRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssBytes(router.pid));
  }, 50);
  try {
    for (let i = 1; i <= CALLS; i++) caller.send([48, i, {}, 'load.big', [i]]);
    // The kill is logged by the router; the paused caller only sees it once it reads again.
    await waitFor(
      () => router.stderr().includes('over the hard limit'),
      20_000,
      'the router to close the caller at the hard limit',
    );
  } finally {
    clearInterval(sampler);
  }
  caller.resume();
  const info = await within(caller.closed, 10_000, 'caller connection closed');
  t.deepEqual(
    info,
    { code: 1008, reason: 'slow consumer' },
    'WebSocket close code 1008 (policy violation) for a slow consumer',
  );
  t.true(
    peakRss < baselineRss + RSS_HEADROOM,
    `router RSS peak ${mb(peakRss)} within ${mb(baselineRss)} + ${mb(RSS_HEADROOM)}`,
  );
  t.false(callee.isClosed, 'the callee is unaffected');
  t.log(
    `callee served ${invocations} invocations before the caller was closed ` +
      `(${JSON.stringify(info)}); router RSS baseline ${mb(baselineRss)}, peak ${mb(peakRss)}`,
  );
  await callee.close();
  const service = await EchoService.start(router, 'load.after.hard');
  await service.assertServing();
  await service.stop();
});
