// Chunks of a progressive call that has already ended (spec "Progressive Call Invocations",
// "Continuations on Completed Calls": the Dealer "MUST ignore and discard that CALL message
// without any further correlated response to the Caller"; src/router/ended-calls.ts). Over real
// sockets to an in-process Router, so that the Dealer's own counts show nothing is left behind.

import test from 'ava';
import type { RealmLimits } from '../../src/router/limits.ts';
import { CALL_SAMPLE_EVERY, RouterMetrics } from '../../src/router/metrics.ts';
import { Router } from '../../src/router/router.ts';
import { listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { listenWebSocket } from '../../src/transport/websocket-server.ts';
import { waitFor } from '../helpers/deadline.ts';
import {
  T,
  isCallAnswer,
  pending,
  rawBarrier,
  rawCall,
  rawJoin,
  rawRegister,
  type Msg,
  type RawPeer,
} from '../advanced/support/raw.ts';

const PROCEDURE = 'com.app.upload';
const isInvocation = (m: Msg) => m[0] === T.INVOCATION;

async function fixture(
  t: { teardown(fn: () => Promise<void> | void): void },
  limits: Partial<RealmLimits> = {},
  metrics?: RouterMetrics,
) {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true, limits }], ...(metrics && { metrics }) });
  const ws = await listenWebSocket({ host: '127.0.0.1', port: 0 }, router);
  const rs = await listenRawSocket({ host: '127.0.0.1', port: 0 }, router);
  const peers: RawPeer[] = [];
  t.teardown(async () => {
    for (const p of peers) await p.c.destroy();
    await ws.close();
    await rs.close();
  });
  const endpoints = { wsUrl: `ws://127.0.0.1:${ws.port}/ws`, rawsocketHost: '127.0.0.1', rawsocketPort: rs.port! };
  const join = async (transport: 'websocket' | 'rawsocket', serializer: 'json' | 'msgpack' | 'cbor') => {
    const p = await rawJoin(endpoints, { realm: 'realm1', transport, serializer });
    peers.push(p);
    return p;
  };
  return { dealer: router.realms.get('realm1')!.dealer, join };
}

/** Two callees of one roundrobin registration, and a caller; `first`: the callee the next call goes to. */
async function twoCallees(join: Awaited<ReturnType<typeof fixture>>['join']) {
  const a = await join('rawsocket', 'msgpack');
  const b = await join('websocket', 'json');
  await rawRegister(a, PROCEDURE, { invoke: 'roundrobin' });
  await rawRegister(b, PROCEDURE, { invoke: 'roundrobin' });
  const caller = await join('rawsocket', 'cbor');
  return { a, b, caller };
}

/** Starts a progressive call; returns its request ID, the callee that got it and its INVOCATION. */
async function startStream(caller: RawPeer, a: RawPeer, b: RawPeer, chunk: unknown[]) {
  const request = rawCall(caller, PROCEDURE, { progress: true }, chunk);
  await waitFor(() => a.c.inbox.some(isInvocation) || b.c.inbox.some(isInvocation), 5_000, 'the first INVOCATION');
  const chosen = a.c.inbox.some(isInvocation) ? a : b;
  const invocation = await chosen.c.next(isInvocation);
  return { request, chosen, other: chosen === a ? b : a, invocation };
}

/** Everything the router sent to these peers before now has arrived. */
async function settle(...peers: RawPeer[]): Promise<void> {
  for (const p of peers) await rawBarrier(p);
}

test('the callee answers while the caller streams: later chunks reach no callee and get no answer; a new call works', async (t) => {
  const { dealer, join } = await fixture(t);
  const { a, b, caller } = await twoCallees(join);
  const { request, chosen, other, invocation } = await startStream(caller, a, b, ['c1']);
  chosen.c.send([T.YIELD, invocation[1], {}, ['enough']]);
  t.deepEqual(await caller.c.next(isCallAnswer(request)), [T.RESULT, request, {}, ['enough']]);

  // The caller had not seen the result yet: two more chunks and the final one, same request ID.
  rawCall(caller, PROCEDURE, { progress: true }, ['c2'], undefined, request);
  rawCall(caller, PROCEDURE, { progress: true }, ['c3'], undefined, request);
  rawCall(caller, PROCEDURE, {}, ['last'], undefined, request);
  await settle(caller, a, b);
  t.deepEqual(pending(a, isInvocation), [], 'no INVOCATION at either callee of the shared registration');
  t.deepEqual(pending(b, isInvocation), []);
  t.deepEqual(pending(caller, isCallAnswer(request)), [], 'no second answer after the final RESULT');
  t.is(dealer.pendingCount, 0);
  t.is(dealer.endedCount, 0, 'the final chunk ended what was remembered of the call');

  // A new progressive call under a new request ID starts at the other callee (roundrobin moved once).
  const next = rawCall(caller, PROCEDURE, { progress: true }, ['n1']);
  const n1 = await other.c.next(isInvocation);
  t.deepEqual([n1[3], n1[4]], [{ progress: true }, ['n1']]);
  rawCall(caller, PROCEDURE, {}, ['n2'], undefined, next);
  const n2 = await other.c.next(isInvocation);
  t.is(n2[1], n1[1], 'its chunks go to the same INVOCATION');
  other.c.send([T.YIELD, n1[1], {}, ['stored']]);
  t.deepEqual(await caller.c.next(isCallAnswer(next)), [T.RESULT, next, {}, ['stored']]);
  t.is(dealer.endedCount, 0);
});

test('a CANCEL (skip) mid-stream: later chunks reach no callee and get no answer', async (t) => {
  const { dealer, join } = await fixture(t);
  const { a, b, caller } = await twoCallees(join);
  const { request, chosen, invocation } = await startStream(caller, a, b, ['c1']);
  caller.c.send([T.CANCEL, request, { mode: 'skip' }]);
  const canceled = await caller.c.next(isCallAnswer(request));
  t.deepEqual([canceled[0], canceled[4]], [T.ERROR, 'wamp.error.canceled']);

  rawCall(caller, PROCEDURE, { progress: true }, ['c2'], undefined, request);
  await settle(caller, a, b);
  t.deepEqual(pending(a, isInvocation), [], 'no INVOCATION at either callee');
  t.deepEqual(pending(b, isInvocation), []);
  t.is(dealer.endedCount, 1, 'remembered until the final chunk');
  // The skipped callee's answer is discarded, as before; the final chunk is swallowed.
  chosen.c.send([T.YIELD, invocation[1], {}, ['late']]);
  rawCall(caller, PROCEDURE, {}, ['last'], undefined, request);
  await settle(chosen, caller, a, b);
  t.deepEqual(pending(a, isInvocation), []);
  t.deepEqual(pending(b, isInvocation), []);
  t.deepEqual(pending(caller, isCallAnswer(request)), [], 'the ERROR was the only answer');
  t.is(dealer.endedCount, 0);
  t.is(dealer.pendingCount, 0);
});

test('a progressive CALL to a router-side procedure (wamp.session.count): one ERROR feature_not_supported, no RESULT', async (t) => {
  const { dealer, join } = await fixture(t);
  const caller = await join('websocket', 'json');
  const request = rawCall(caller, 'wamp.session.count', { progress: true }, []);
  rawCall(caller, 'wamp.session.count', { progress: true }, [], undefined, request);
  rawCall(caller, 'wamp.session.count', {}, [], undefined, request);
  await settle(caller);
  const answers = pending(caller, isCallAnswer(request));
  t.is(answers.length, 1, JSON.stringify(answers));
  t.deepEqual([answers[0]![0], answers[0]![4]], [T.ERROR, 'wamp.error.feature_not_supported']);
  t.is(dealer.endedCount, 0);
});

test('ENDED calls count toward the pending-call limit, give way to new calls, and leave with their caller', async (t) => {
  const { dealer, join } = await fixture(t, { maxPendingCallsPerSession: 2 });
  const { a, b, caller } = await twoCallees(join);
  const invocations = () => [...pending(a, isInvocation), ...pending(b, isInvocation)];
  // One call ended by its callee mid-stream, one refused (router-side procedure): both remembered.
  const { chosen, invocation } = await startStream(caller, a, b, ['c1']);
  chosen.c.send([T.YIELD, invocation[1], {}, ['enough']]);
  rawCall(caller, 'wamp.session.count', { progress: true }, []);
  await settle(caller);
  t.is(dealer.endedCount, 2);
  t.is(dealer.pendingCount, 0);

  // At the limit, new calls still go through: ENDED ones give way, oldest first.
  const open1 = rawCall(caller, PROCEDURE, {}, ['x1']);
  const open2 = rawCall(caller, PROCEDURE, {}, ['x2']);
  await settle(caller, a, b);
  t.deepEqual(pending(caller, isCallAnswer(open1)), [], 'not refused (limit_exceeded)');
  t.deepEqual(pending(caller, isCallAnswer(open2)), []);
  t.is(invocations().length, 2);
  t.is(dealer.endedCount, 0);

  // Two calls open, no ENDED to give way: a refused progressive call is not remembered (bounded),
  // and a further call is refused by the limit.
  const local = rawCall(caller, 'wamp.session.count', { progress: true }, []);
  const over = rawCall(caller, PROCEDURE, {}, ['x3']);
  await settle(caller);
  t.is((await caller.c.next(isCallAnswer(local)))[4], 'wamp.error.feature_not_supported');
  t.is((await caller.c.next(isCallAnswer(over)))[4], 'wampmesh.error.limit_exceeded');
  t.is(dealer.endedCount, 0);

  // One call answered, one more remembered: the caller leaves with an open call and an ENDED one.
  const x1 = invocations().find((m) => (m[4] as unknown[])[0] === 'x1')!;
  (pending(a, (m) => m === x1).length > 0 ? a : b).c.send([T.YIELD, x1[1], {}, ['ok']]);
  t.deepEqual(await caller.c.next(isCallAnswer(open1)), [T.RESULT, open1, {}, ['ok']]);
  rawCall(caller, 'wamp.session.count', { progress: true }, []);
  await settle(caller);
  t.is(dealer.endedCount, 1);
  t.is(dealer.pendingCount, 1);
  await caller.c.destroy();
  await waitFor(() => dealer.pendingCount === 0 && dealer.endedCount === 0, 5_000, 'the caller to be gone');
  t.pass('nothing of the caller stays');
});

test('a dropped chunk picked for timing its call does not stop the sampling of call durations', async (t) => {
  const metrics = new RouterMetrics(() => performance.now());
  const { join } = await fixture(t, {}, metrics);
  const caller = await join('websocket', 'json');
  // The session's first CALL is timed (and ended by its ERROR), then one in CALL_SAMPLE_EVERY:
  // here a chunk of that ended call, which gets no answer.
  const request = rawCall(caller, 'wamp.session.count', { progress: true }, []);
  for (let i = 0; i < CALL_SAMPLE_EVERY; i++)
    rawCall(caller, 'wamp.session.count', { progress: true }, [], undefined, request);
  // The next call picked for timing is timed.
  let last = 0;
  for (let i = 0; i < CALL_SAMPLE_EVERY; i++) last = rawCall(caller, 'wamp.session.count', {}, []);
  await caller.c.next(isCallAnswer(last));
  t.is(metrics.callDuration.count, 2);
});
