// Frames larger than a link allows (maxFrameBytes): calls, results and errors are answered at
// once with wamp.error.payload_size_exceeded, oversize events are logged, and the link stays up.

import test, { type ExecutionContext } from 'ava';
import type { MemoryClient } from '../helpers/memory-peer.ts';
import { call, client, delay, HOST, linkPeers, register, routerNode, until, type LogLine } from './links-harness.ts';

const BIG = 'x'.repeat(100_000); // over the smallest maxFrameBytes allowed (65536)

/** A callee for oversize tests: answers "big-result" with BIG, "big-error" with an ERROR carrying BIG, anything else with its args. */
function serveBig(t: ExecutionContext, callee: MemoryClient): unknown[][] {
  const invocations: unknown[][] = [];
  const timer = setInterval(() => {
    for (const m of callee.take()) {
      if (m[0] !== 68) continue;
      invocations.push(m);
      const first = (m[4] as unknown[] | undefined)?.[0];
      if (first === 'big-result') callee.send([70, m[1], {}, [BIG]]);
      else if (first === 'big-error') callee.send([8, 68, m[1], {}, 'com.test.error.broken', [BIG]]);
      else callee.send([70, m[1], {}, (m[4] as unknown[] | undefined) ?? []]);
    }
  }, 2);
  t.teardown(() => clearInterval(timer));
  return invocations;
}

async function timedCall(
  caller: MemoryClient,
  request: number,
  procedure: string,
  args: unknown[],
): Promise<{ answer: unknown[]; ms: number }> {
  const started = performance.now();
  const answer = await call(caller, request, procedure, args);
  return { answer, ms: performance.now() - started };
}

const oversizeLines = (logs: LogLine[], t: string) =>
  logs.filter((l) => /exceeds the peer's maximum frame size/.test(l.msg) && l.fields.t === t);

test(
  'maxFrameBytes 64 KiB on both ends: a call, result or error too large for the link ' +
    'is answered at once with wamp.error.payload_size_exceeded; the link stays up',
  async (t) => {
    const a = await routerNode(t, 'A', { maxFrameBytes: 65_536 });
    const b = await routerNode(t, 'B', { maxFrameBytes: 65_536, oversizeLogIntervalMs: 300 });
    a.links.setPeerAddress('B', { host: HOST, port: b.port });
    a.mesh.peerDiscovered('B');
    await until(() => linkPeers(a).includes('B') && linkPeers(b).includes('A'), 5000, 'A-B link');
    const callee = client(b.router);
    register(callee, 'com.test.big');
    const invocations = serveBig(t, callee);
    const subscriber = client(a.router);
    subscriber.send([32, 1, {}, 'com.test.news']);
    await until(
      () => a.mesh.status().remoteCallees === 1 && b.mesh.lsdb.get('A')?.realms.realm1?.subscriptions.length === 1,
      5000,
      'advertisements',
    );
    const caller = client(a.router);

    // Too large for A -> B: the Dealer on A answers before anything is sent.
    const tooBigCall = await timedCall(caller, 1, 'com.test.big', [BIG]);
    t.like(tooBigCall.answer, [8, 48, 1, {}, 'wamp.error.payload_size_exceeded']);
    t.true(tooBigCall.ms < 1000, `answered after ${Math.round(tooBigCall.ms)} ms`);
    // The callee's answers too large for B -> A: B sends a small error back instead.
    for (const [request, what] of [
      [2, 'big-result'],
      [3, 'big-error'],
    ] as const) {
      const { answer, ms } = await timedCall(caller, request, 'com.test.big', [what]);
      t.like(answer, [8, 48, request, {}, 'wamp.error.payload_size_exceeded'], what);
      t.true(ms < 1000, `${what}: answered after ${Math.round(ms)} ms`);
    }
    t.regex(
      String((caller.received.find((m) => m[0] === 8 && m[2] === 3)![5] as string[])[0]),
      /com\.test\.error\.broken/,
      "the callee's error URI is named",
    );
    t.deepEqual(
      invocations.map((m) => (m[4] as unknown[])[0]),
      ['big-result', 'big-error'],
      'the oversize call never reached the callee',
    );
    t.deepEqual(await call(caller, 4, 'com.test.big', ['still fine']), [50, 4, {}, ['still fine']]);
    t.deepEqual(linkPeers(a), ['B'], 'the link stayed up');
    t.is(a.mesh.status().callsInFlight, 0);
    t.is(b.mesh.status().callsInFlight, 0);
    t.is(oversizeLines(a.logs, 'call').length, 1);
    t.is(oversizeLines(a.logs, 'call')[0]!.level, 'warn');
    t.deepEqual([oversizeLines(b.logs, 'result').length, oversizeLines(b.logs, 'error').length], [1, 1]);

    // Oversize events reach no one and nobody can be told: logged, but once per interval.
    const publisher = client(b.router);
    for (let i = 0; i < 5; i++) publisher.send([16, 10 + i, {}, 'com.test.news', [BIG]]);
    publisher.send([16, 20, {}, 'com.test.news', ['small']]);
    await until(() => subscriber.received.some((m) => m[0] === 36), 5000, 'the small event');
    t.deepEqual(
      subscriber.received.filter((m) => m[0] === 36).map((m) => m[4]),
      [['small']],
    );
    t.is(oversizeLines(b.logs, 'event').length, 1, 'five oversize events, one log line');
    t.like(oversizeLines(b.logs, 'event')[0], { level: 'error', fields: { peer: 'A', limit: 65_536 } });
    await delay(350);
    publisher.send([16, 21, {}, 'com.test.news', [BIG]]);
    await until(() => oversizeLines(b.logs, 'event').length === 2, 2000, "the next interval's line");
    t.is(oversizeLines(b.logs, 'event')[1]!.fields.alsoDropped, 4, 'the next line counts those not logged');
    t.deepEqual(linkPeers(b), ['A']);
  },
);

test(
  'chain A - B - C with 64 KiB frames at A and C: a hop in the middle ' +
    'answers oversize calls and results with wamp.error.payload_size_exceeded',
  async (t) => {
    const a = await routerNode(t, 'A', { maxFrameBytes: 65_536 });
    const b = await routerNode(t, 'B');
    const c = await routerNode(t, 'C', { maxFrameBytes: 65_536 });
    a.links.setPeerAddress('B', { host: HOST, port: b.port });
    a.mesh.peerDiscovered('B');
    c.links.addSeed(HOST, b.port);
    await until(
      () => a.mesh.lsdb.routes().get('C') === 'B' && c.mesh.lsdb.routes().get('A') === 'B',
      5000,
      'routes A->C via B',
    );
    const callee = client(c.router);
    register(callee, 'com.test.far');
    const invocations = serveBig(t, callee);
    await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised to A');
    const caller = client(a.router);
    // A -> B carries it (B takes 16 MiB); B -> C cannot: B answers.
    const call1 = await timedCall(caller, 1, 'com.test.far', [BIG]);
    t.like(call1.answer, [8, 48, 1, {}, 'wamp.error.payload_size_exceeded']);
    t.true(call1.ms < 1000, `answered after ${Math.round(call1.ms)} ms`);
    t.regex(String((call1.answer[5] as string[])[0]), /mesh link B -> C/);
    // C -> B carries the result; B -> A cannot: B answers.
    const call2 = await timedCall(caller, 2, 'com.test.far', ['big-result']);
    t.like(call2.answer, [8, 48, 2, {}, 'wamp.error.payload_size_exceeded']);
    t.regex(String((call2.answer[5] as string[])[0]), /mesh link B -> A/);
    t.true(call2.ms < 1000, `answered after ${Math.round(call2.ms)} ms`);
    t.deepEqual(
      invocations.map((m) => (m[4] as unknown[])[0]),
      ['big-result'],
    );
    t.deepEqual(await call(caller, 3, 'com.test.far', ['ok']), [50, 3, {}, ['ok']]);
    t.deepEqual([oversizeLines(b.logs, 'call').length, oversizeLines(b.logs, 'result').length], [1, 1]);
    for (const n of [a, b, c]) t.is(n.mesh.status().callsInFlight, 0, `${n.id} holds no calls`);
  },
);
