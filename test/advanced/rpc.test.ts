// Advanced-profile RPC against the real router process, through Autobahn|Python 22.7.1 where
// it has the feature and raw frames where it has not (progressive call invocations, CANCEL
// modes, disclose_me). Expectations are the spec's (wamp-proto rfc/text/advanced), quoted
// where a test hinges on one sentence.

import test from 'ava';
import { fixture, uniquePrefix, until } from './support/suite.ts';
import {
  T,
  isCallAnswer,
  pending,
  plainRoles,
  rawBarrier,
  rawCall,
  rawJoin,
  rawRegister,
  type Dict,
  type Msg,
  type RawPeer,
} from './support/raw.ts';
import type { PySession } from './support/agent.ts';

const realms = [
  'rpc.progress',
  'rpc.progress.nocancel',
  'rpc.progress.callerleft',
  'rpc.progress.calleeleft',
  'rpc.progress.timeout',
  'rpc.pinv',
  'rpc.pinv.refused',
  'rpc.pinv.frozen',
  'rpc.pinv.callerleft',
  'rpc.cancel.skip',
  'rpc.cancel.kill',
  'rpc.cancel.killnowait',
  'rpc.cancel.autobahn',
  'rpc.timeout',
  'rpc.timeout.intime',
  'rpc.ident',
  'rpc.pattern',
  'rpc.shared.single',
  'rpc.shared.roundrobin',
  'rpc.shared.random',
  'rpc.shared.first',
  'rpc.shared.last',
  'rpc.shared.mismatch',
];
const fx = fixture(realms.map((uri) => ({ uri })));
test.after.always('stop agent and router', () => fx.close());

async function raw(
  realm: string,
  options: { transport?: 'websocket' | 'rawsocket'; serializer?: 'json' | 'msgpack' | 'cbor'; roles?: Dict } = {},
): Promise<RawPeer> {
  const { router } = await fx.get();
  return rawJoin(router, { realm, ...options });
}

/** Barrier through a Python session's own connection: what it sent before has been routed. */
async function pyBarrier(s: PySession): Promise<void> {
  await s.result('wamp.session.count');
}

// ---- progressive call results -------------------------------------------------------------

test('progressive call results: RESULTs with progress reach the caller before the final one [progressive_call_results]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.progress';
  const P = uniquePrefix('progress');
  const callee = await agent.connect('progress-callee', { realm, transport: 'ws', serializer: 'json' });
  const caller = await agent.connect('progress-caller', { realm, transport: 'rs', serializer: 'msgpack' });
  await callee.register(`${P}.stream`, { kind: 'progress', values: ['p0', 'p1', 'p2'], final: 'done' });

  const r = await caller.call(`${P}.stream`, [], {}, { receive_progress: true });
  t.true(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  t.deepEqual(
    r.progress.map((p) => p.args),
    [['p0'], ['p1'], ['p2']],
    'every progressive result, in order, before the final one',
  );
  t.deepEqual(r.args, ['done']);
  const invs = agent.eventsWhere((e) => e.event === 'invocation' && e.session === 'progress-callee');
  t.is(invs[0]?.receive_progress, true, 'INVOCATION.Details.receive_progress was set for the callee');

  // The exact frames, seen by a raw CBOR caller over RawSocket.
  const rc = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });
  const req = rawCall(rc, `${P}.stream`, { receive_progress: true });
  const frames: Msg[] = [];
  for (let i = 0; i < 4; i++) frames.push(await rc.c.next(isCallAnswer(req)));
  t.deepEqual(frames, [
    [T.RESULT, req, { progress: true }, ['p0']],
    [T.RESULT, req, { progress: true }, ['p1']],
    [T.RESULT, req, { progress: true }, ['p2']],
    [T.RESULT, req, {}, ['done']],
  ]);

  // A caller that did not ask gets only the final result; the callee is not told to stream.
  const plain = await caller.call(`${P}.stream`);
  t.true(plain.ok && plain.progress.length === 0 && plain.args[0] === 'done', JSON.stringify(plain));
  const lastInv = agent.eventsWhere((e) => e.event === 'invocation' && e.session === 'progress-callee').at(-1);
  t.is(lastInv?.receive_progress, false);
  await rc.c.destroy();
});

test('progressive call results: a callee without call_canceling still gets them, and a cancel toward it is skip [progressive_call_results]', async (t) => {
  // Spec: "If a Callee supports Progressive Call Results, but not Call Canceling, then the
  // Dealer disregards the Callees Progressive Call Results feature." wampmesh departs from that
  // sentence (README "Where the router departs from the letter of the spec"): Autobahn|JS
  // announces exactly these features and its users expect the stream to flow.
  const realm = 'rpc.progress.nocancel';
  const P = uniquePrefix('progress');
  const callee = await raw(realm, { roles: { caller: {}, callee: { features: { progressive_call_results: true } } } });
  await rawRegister(callee, `${P}.p`);
  const caller = await raw(realm);
  const req = rawCall(caller, `${P}.p`, { receive_progress: true });
  const inv = await callee.c.next((m) => m[0] === T.INVOCATION);
  t.is((inv[3] as Dict).receive_progress, true, `INVOCATION.Details: ${JSON.stringify(inv)}`);
  callee.c.send([T.YIELD, inv[1], { progress: true }, ['first']]);
  t.deepEqual(await caller.c.next(isCallAnswer(req)), [T.RESULT, req, { progress: true }, ['first']]);
  caller.c.send([T.CANCEL, req, { mode: 'killnowait' }]);
  const err = await caller.c.next(isCallAnswer(req));
  t.deepEqual([err[0], err[4]], [T.ERROR, 'wamp.error.canceled']);
  callee.c.send([T.YIELD, inv[1], { progress: true }, ['late']]);
  callee.c.send([T.YIELD, inv[1], {}, ['late final']]);
  await rawBarrier(callee);
  await rawBarrier(caller);
  t.deepEqual(
    pending(callee, (m) => m[0] === T.INTERRUPT),
    [],
    'no INTERRUPT: the cancel is mode skip',
  );
  t.deepEqual(pending(caller, isCallAnswer(req)), [], 'the late YIELDs are discarded');
  await callee.c.destroy();
  await caller.c.destroy();
});

test('progressive call results: a caller that disconnects gets its invocation interrupted (killnowait) [progressive_call_results]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.progress.callerleft';
  const P = uniquePrefix('progress');
  // Raw callee: the exact INTERRUPT frame.
  const callee = await raw(realm, { serializer: 'msgpack' });
  await rawRegister(callee, `${P}.raw`);
  const caller = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });
  const req = rawCall(caller, `${P}.raw`, { receive_progress: true });
  const inv = await callee.c.next((m) => m[0] === T.INVOCATION);
  callee.c.send([T.YIELD, inv[1], { progress: true }, ['first']]);
  t.deepEqual(await caller.c.next(isCallAnswer(req)), [T.RESULT, req, { progress: true }, ['first']]);
  await caller.c.destroy();
  const interrupt = await callee.c.next((m) => m[0] === T.INTERRUPT);
  t.is(interrupt[1], inv[1]);
  t.is((interrupt[2] as Dict).mode, 'killnowait', JSON.stringify(interrupt));

  // Autobahn callee: its endpoint is cancelled.
  const py = await agent.connect('callerleft-callee', { realm, transport: 'rs', serializer: 'json' });
  await py.register(`${P}.py`, { kind: 'hold' });
  const caller2 = await raw(realm);
  rawCall(caller2, `${P}.py`, { receive_progress: true });
  const pyInv = await py.waitInvocation();
  await caller2.c.destroy();
  await py.waitEvent(
    (e) => e.event === 'interrupted' && e.invocation === pyInv.invocation,
    'INTERRUPT after the caller left',
  );
  t.pass();
  await callee.c.destroy();
});

test('progressive call results: a callee that disconnects fails the call with wamp.error.canceled [progressive_call_results]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.progress.calleeleft';
  const P = uniquePrefix('progress');
  const callee = await raw(realm, { transport: 'rawsocket', serializer: 'msgpack' });
  await rawRegister(callee, `${P}.p`);
  const caller = await agent.connect('calleeleft-caller', { realm, transport: 'ws', serializer: 'cbor' });
  const outcome = caller.call(`${P}.p`, [], {}, { receive_progress: true }, 'calleeleft');
  const inv = await callee.c.next((m) => m[0] === T.INVOCATION);
  callee.c.send([T.YIELD, inv[1], { progress: true }, ['partial']]);
  await agent.waitEvent((e) => e.event === 'progress' && e.tag === 'calleeleft', 'progressive result');
  await callee.c.destroy();
  const r = await outcome;
  t.false(r.ok);
  if (!r.ok) t.is(r.error, 'wamp.error.canceled');
});

test('progressive call results: the call timeout runs between results, not over the whole call [progressive_call_results] [call_timeout]', async (t) => {
  // Spec (Progressive Call Results, "Timeouts"): for Dealer-initiated timeouts the timeout is
  // "the time between receipt of the CALL message and receipt of the first YIELD message, and
  // the time between received YIELD messages thereafter". Five results 150 ms apart with a
  // 600 ms timeout: no gap comes near it, the whole call (~750 ms) exceeds it.
  const { agent } = await fx.get();
  const realm = 'rpc.progress.timeout';
  const P = uniquePrefix('progress');
  const callee = await agent.connect('ptimeout-callee', { realm });
  const caller = await agent.connect('ptimeout-caller', { realm, transport: 'rs', serializer: 'cbor' });
  await callee.register(`${P}.slow`, { kind: 'progress', values: [1, 2, 3, 4, 5], interval_ms: 150, final: 'end' });
  const r = await caller.call(`${P}.slow`, [], {}, { receive_progress: true, timeout: 600 });
  t.true(r.ok, `expected the streamed call to complete; got ${JSON.stringify(r)}`);
  if (r.ok)
    t.deepEqual(
      r.progress.map((p) => p.args[0]),
      [1, 2, 3, 4, 5],
    );
});

// ---- progressive call invocations ---------------------------------------------------------

test('progressive call invocations: chunks go to one callee under the same request ID, results stream back [progressive_call_invocations]', async (t) => {
  const realm = 'rpc.pinv';
  const P = uniquePrefix('pinv');
  const proc = `${P}.upload`;
  const a = await raw(realm, { transport: 'rawsocket', serializer: 'msgpack' });
  const b = await raw(realm, { serializer: 'json' });
  await rawRegister(a, proc, { invoke: 'roundrobin' });
  await rawRegister(b, proc, { invoke: 'roundrobin' });
  const caller = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });

  const req = rawCall(caller, proc, { progress: true, receive_progress: true }, ['chunk1']);
  const isInv = (m: Msg) => m[0] === T.INVOCATION;
  await until(() => a.c.inbox.some(isInv) || b.c.inbox.some(isInv), 'first INVOCATION');
  const [chosen, other] = a.c.inbox.some(isInv) ? [a, b] : [b, a];
  const first = await chosen.c.next(isInv);
  t.deepEqual(first[4], ['chunk1']);
  t.is((first[3] as Dict).progress, true, 'INVOCATION.Details.progress for a non-final chunk');
  const invReq = first[1];

  // The callee streams a result back between chunks (both features together).
  chosen.c.send([T.YIELD, invReq, { progress: true }, ['got1']]);
  t.deepEqual(await caller.c.next(isCallAnswer(req)), [T.RESULT, req, { progress: true }, ['got1']]);
  rawCall(caller, proc, { progress: true }, ['chunk2'], undefined, req);
  const second = await chosen.c.next((m) => m[0] === T.INVOCATION);
  t.deepEqual(
    [second[1], (second[3] as Dict).progress, second[4]],
    [invReq, true, ['chunk2']],
    'same INVOCATION request ID, progress set',
  );
  rawCall(caller, proc, {}, ['last'], undefined, req);
  const last = await chosen.c.next((m) => m[0] === T.INVOCATION);
  t.deepEqual(
    [last[1], (last[3] as Dict).progress, last[4]],
    [invReq, undefined, ['last']],
    'the final chunk has no progress flag',
  );
  chosen.c.send([T.YIELD, invReq, {}, ['stored', 3]]);
  t.deepEqual(await caller.c.next(isCallAnswer(req)), [T.RESULT, req, {}, ['stored', 3]]);

  await rawBarrier(other);
  t.deepEqual(
    pending(other, (m) => m[0] === T.INVOCATION),
    [],
    'no chunk went to the other callee of the shared registration',
  );

  // The next progressive call starts at the other callee (roundrobin moved once per call).
  const req2 = rawCall(caller, proc, { progress: true }, ['x1']);
  const x1 = await other.c.next((m) => m[0] === T.INVOCATION);
  rawCall(caller, proc, {}, ['x2'], undefined, req2);
  const x2 = await other.c.next((m) => m[0] === T.INVOCATION);
  t.is(x2[1], x1[1]);
  other.c.send([T.YIELD, x1[1], {}, ['ok']]);
  t.deepEqual(await caller.c.next(isCallAnswer(req2)), [T.RESULT, req2, {}, ['ok']]);
  for (const p of [a, b, caller]) await p.c.destroy();
});

test(
  'progressive call invocations: feature_not_supported for callees without it; ' +
    'ABORT for callers that did not announce it [progressive_call_invocations]',
  async (t) => {
    const { agent } = await fx.get();
    const realm = 'rpc.pinv.refused';
    const P = uniquePrefix('pinv');
    // Autobahn|Python 22.7.1 does not announce progressive_call_invocations.
    const py = await agent.connect('pinv-autobahn-callee', { realm, transport: 'ws', serializer: 'msgpack' });
    await py.register(`${P}.autobahn`);
    // A callee that announces it but not call canceling "shall be considered by the Dealer as
    // not supporting progressive call invocations".
    const noCancel = await raw(realm, { roles: { callee: { features: { progressive_call_invocations: true } } } });
    await rawRegister(noCancel, `${P}.nocancel`);
    const caller = await raw(realm, { transport: 'rawsocket', serializer: 'json' });
    for (const proc of [`${P}.autobahn`, `${P}.nocancel`]) {
      const req = rawCall(caller, proc, { progress: true }, ['c1']);
      const answer = await caller.c.next(isCallAnswer(req));
      t.deepEqual(answer.slice(0, 2), [T.ERROR, T.CALL], `${proc}: ${JSON.stringify(answer)}`);
      t.is(answer[4], 'wamp.error.feature_not_supported', proc);
    }
    t.deepEqual(
      py.agent.eventsWhere((e) => e.event === 'invocation' && e.session === 'pinv-autobahn-callee'),
      [],
      'no INVOCATION reached the Autobahn callee',
    );

    // "The Caller did not announce the progressive call invocations feature" -> protocol error, session aborted.
    const plain = await raw(realm, { roles: plainRoles });
    rawCall(plain, `${P}.nocancel`, { progress: true }, ['c1']);
    const abort = await plain.c.next((m) => m[0] === T.ABORT);
    t.is(abort[2], 'wamp.error.protocol_violation');
    await plain.c.closed;
    for (const p of [noCancel, caller]) await p.c.destroy();
  },
);

test(
  'progressive call invocations: options of the first CALL are frozen for every ' +
    'INVOCATION (disclose_me) [progressive_call_invocations] [caller_identification]',
  async (t) => {
    // Spec "Freezing of Options": "if disclose_me=true was specified in the initiating
    // progressive call, ... all INVOCATION messages associated with the overall request shall
    // contain caller identify information."
    const realm = 'rpc.pinv.frozen';
    const P = uniquePrefix('pinv');
    const callee = await raw(realm);
    await rawRegister(callee, `${P}.up`);
    const caller = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });
    const req = rawCall(caller, `${P}.up`, { progress: true, disclose_me: true }, ['a']);
    rawCall(caller, `${P}.up`, { progress: true }, ['b'], undefined, req);
    rawCall(caller, `${P}.up`, {}, ['c'], undefined, req);
    const invs: Msg[] = [];
    for (let i = 0; i < 3; i++) invs.push(await callee.c.next((m) => m[0] === T.INVOCATION));
    for (const inv of invs) {
      t.is((inv[3] as Dict).caller, caller.id, `INVOCATION ${JSON.stringify(inv)} lacks Details.caller`);
    }
    callee.c.send([T.YIELD, invs[0]![1], {}, []]);
    await caller.c.next(isCallAnswer(req));
    await callee.c.destroy();
    await caller.c.destroy();
  },
);

test(
  'progressive call invocations: a caller that leaves mid-stream gets the ' +
    'invocation interrupted with killnowait [progressive_call_invocations]',
  async (t) => {
    const realm = 'rpc.pinv.callerleft';
    const P = uniquePrefix('pinv');
    const callee = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });
    await rawRegister(callee, `${P}.up`);
    const caller = await raw(realm);
    const req = rawCall(caller, `${P}.up`, { progress: true }, ['a']);
    rawCall(caller, `${P}.up`, { progress: true }, ['b'], undefined, req);
    const inv = await callee.c.next((m) => m[0] === T.INVOCATION);
    await callee.c.next((m) => m[0] === T.INVOCATION);
    await caller.c.destroy();
    const interrupt = await callee.c.next((m) => m[0] === T.INTERRUPT);
    t.deepEqual([interrupt[1], (interrupt[2] as Dict).mode], [inv[1], 'killnowait']);
    await callee.c.destroy();
  },
);

// ---- call canceling -----------------------------------------------------------------------

async function holdingCallee(realm: string, name: string, proc: string, behavior: Dict): Promise<PySession> {
  const { agent } = await fx.get();
  const callee = await agent.connect(name, { realm, transport: 'rs', serializer: 'cbor' });
  await callee.register(proc, { kind: 'hold', ...behavior });
  return callee;
}

test('call canceling, mode skip: ERROR at once, no INTERRUPT, the late result is discarded [call_canceling]', async (t) => {
  const realm = 'rpc.cancel.skip';
  const P = uniquePrefix('cancel');
  const callee = await holdingCallee(realm, 'skip-callee', `${P}.long`, {});
  const caller = await raw(realm, { transport: 'rawsocket', serializer: 'msgpack' });
  const req = rawCall(caller, `${P}.long`, {}, ['job']);
  const inv = await callee.waitInvocation();
  caller.c.send([T.CANCEL, req, { mode: 'skip' }]);
  const err = await caller.c.next(isCallAnswer(req));
  t.deepEqual(err.slice(0, 5), [T.ERROR, T.CALL, req, err[3], 'wamp.error.canceled']);
  // The callee finishes anyway; its YIELD must not reach the caller, and it saw no INTERRUPT.
  await callee.release(inv.invocation as number, { result: { args: ['late'] } });
  await pyBarrier(callee);
  await rawBarrier(caller);
  t.deepEqual(pending(caller, isCallAnswer(req)), [], 'no RESULT after the canceled call');
  t.deepEqual(
    callee.agent.eventsWhere((e) => e.event === 'interrupted' && e.session === 'skip-callee'),
    [],
  );

  // A callee that does not announce call_canceling gets skip whatever mode was asked.
  const plainCallee = await raw(realm, { roles: plainRoles });
  await rawRegister(plainCallee, `${P}.plain`);
  const req2 = rawCall(caller, `${P}.plain`);
  await plainCallee.c.next((m) => m[0] === T.INVOCATION);
  caller.c.send([T.CANCEL, req2, { mode: 'kill' }]);
  t.is((await caller.c.next(isCallAnswer(req2)))[4], 'wamp.error.canceled');
  await rawBarrier(plainCallee);
  t.deepEqual(
    pending(plainCallee, (m) => m[0] === T.INTERRUPT),
    [],
    'no INTERRUPT to a callee without call_canceling',
  );
  await caller.c.destroy();
  await plainCallee.c.destroy();
});

test("call canceling, mode kill: INTERRUPT, and the caller gets the callee's answer only once it comes [call_canceling]", async (t) => {
  const realm = 'rpc.cancel.kill';
  const P = uniquePrefix('cancel');
  const callee = await holdingCallee(realm, 'kill-callee', `${P}.long`, { on_interrupt: 'wait' });
  const caller = await raw(realm, { transport: 'websocket', serializer: 'cbor' });
  const req = rawCall(caller, `${P}.long`);
  const inv = await callee.waitInvocation();
  caller.c.send([T.CANCEL, req, { mode: 'kill' }]);
  await callee.waitEvent((e) => e.event === 'interrupted' && e.invocation === inv.invocation, 'INTERRUPT');
  await rawBarrier(caller);
  t.deepEqual(pending(caller, isCallAnswer(req)), [], 'kill: no ERROR before the callee has answered');
  await callee.release(inv.invocation as number, { error: `${P}.error.stopped`, args: ['stopped by interrupt'] });
  const answer = await caller.c.next(isCallAnswer(req));
  t.deepEqual(
    [answer[0], answer[1], answer[2], answer[4], answer[5]],
    [T.ERROR, T.CALL, req, `${P}.error.stopped`, ['stopped by interrupt']],
  );
  await caller.c.destroy();
});

test('call canceling, mode killnowait: ERROR at once, INTERRUPT to the callee, its answer discarded [call_canceling]', async (t) => {
  const realm = 'rpc.cancel.killnowait';
  const P = uniquePrefix('cancel');
  const callee = await holdingCallee(realm, 'killnowait-callee', `${P}.long`, {
    on_interrupt: 'raise',
    interrupt_error: `${P}.error.from_callee`,
  });
  const caller = await raw(realm, { transport: 'rawsocket', serializer: 'json' });
  const req = rawCall(caller, `${P}.long`);
  const inv = await callee.waitInvocation();
  caller.c.send([T.CANCEL, req, { mode: 'killnowait' }]);
  const err = await caller.c.next(isCallAnswer(req));
  t.deepEqual([err[0], err[4]], [T.ERROR, 'wamp.error.canceled']);
  await callee.waitEvent((e) => e.event === 'interrupted' && e.invocation === inv.invocation, 'INTERRUPT');
  await pyBarrier(callee);
  await rawBarrier(caller);
  t.deepEqual(pending(caller, isCallAnswer(req)), [], "the callee's ERROR after killnowait is discarded");

  // The exact INTERRUPT frame, at a raw callee.
  const rawCallee = await raw(realm, { serializer: 'msgpack' });
  await rawRegister(rawCallee, `${P}.raw`);
  const req2 = rawCall(caller, `${P}.raw`);
  const inv2 = await rawCallee.c.next((m) => m[0] === T.INVOCATION);
  caller.c.send([T.CANCEL, req2, { mode: 'killnowait' }]);
  const interrupt = await rawCallee.c.next((m) => m[0] === T.INTERRUPT);
  t.is(interrupt[1], inv2[1]);
  t.is((interrupt[2] as Dict).mode, 'killnowait');
  await caller.c.destroy();
  await rawCallee.c.destroy();
});

test('call canceling: an Autobahn caller cancelling its call (CANCEL without mode) interrupts the Autobahn callee [call_canceling]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.cancel.autobahn';
  const P = uniquePrefix('cancel');
  const callee = await holdingCallee(realm, 'abcancel-callee', `${P}.long`, {});
  const caller = await agent.connect('abcancel-caller', { realm, transport: 'ws', serializer: 'json' });
  const outcome = caller.call(`${P}.long`, [], {}, {}, 'abcancel').then(
    () => 'completed',
    (e: Error) => e.message,
  );
  const inv = await callee.waitInvocation();
  await caller.cancel('abcancel');
  t.regex(await outcome, /CancelledError/);
  // The router's default mode (killnowait; the spec names none) interrupts the callee.
  await callee.waitEvent((e) => e.event === 'interrupted' && e.invocation === inv.invocation, 'INTERRUPT');
  // Both sessions stay usable.
  await callee.register(`${P}.echo`);
  const r = await caller.call(`${P}.echo`, ['still here']);
  t.true(r.ok && r.args[0] === 'still here', JSON.stringify(r));
});

// ---- call timeout -------------------------------------------------------------------------

test('call timeout: the dealer fails the call with wamp.error.timeout and interrupts the callee [call_timeout]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.timeout';
  const P = uniquePrefix('timeout');
  // Autobahn announces call_canceling but not call_timeout: a Dealer-initiated timeout, mode killnowait.
  const callee = await holdingCallee(realm, 'timeout-callee', `${P}.slow`, { on_interrupt: 'raise' });
  const caller = await agent.connect('timeout-caller', { realm, transport: 'ws', serializer: 'msgpack' });
  const started = Date.now();
  const r = await caller.call(`${P}.slow`, [], {}, { timeout: 300 });
  const elapsed = Date.now() - started;
  t.false(r.ok, JSON.stringify(r));
  if (!r.ok) t.is(r.error, 'wamp.error.timeout');
  t.true(elapsed >= 250, `timed out after ${elapsed} ms, asked for 300`);
  const inv = await callee.waitInvocation();
  await callee.waitEvent((e) => e.event === 'interrupted' && e.invocation === inv.invocation, 'INTERRUPT on timeout');

  // A callee without call_canceling: mode skip, so no INTERRUPT, and its late YIELD is dropped.
  const plain = await raw(realm, { roles: plainRoles, transport: 'rawsocket', serializer: 'cbor' });
  await rawRegister(plain, `${P}.plain`);
  const rc = await raw(realm);
  const req = rawCall(rc, `${P}.plain`, { timeout: 200 });
  const pinv = await plain.c.next((m) => m[0] === T.INVOCATION);
  t.is((pinv[3] as Dict).timeout, undefined, 'timeout is not forwarded to a callee without call_timeout');
  const terr = await rc.c.next(isCallAnswer(req));
  t.deepEqual([terr[0], terr[4]], [T.ERROR, 'wamp.error.timeout']);
  plain.c.send([T.YIELD, pinv[1], {}, ['late']]);
  await rawBarrier(plain);
  await rawBarrier(rc);
  t.deepEqual(
    pending(plain, (m) => m[0] === T.INTERRUPT),
    [],
  );
  t.deepEqual(pending(rc, isCallAnswer(req)), [], 'the late YIELD is discarded');
  await plain.c.destroy();
  await rc.c.destroy();
});

test('call timeout: a call answered in time is not failed later [call_timeout]', async (t) => {
  const realm = 'rpc.timeout.intime';
  const P = uniquePrefix('timeout');
  const callee = await raw(realm, { transport: 'rawsocket', serializer: 'msgpack' });
  await rawRegister(callee, `${P}.fast`);
  await rawRegister(callee, `${P}.never`);
  const caller = await raw(realm);
  const fast = rawCall(caller, `${P}.fast`, { timeout: 150 });
  const inv = await callee.c.next((m) => m[0] === T.INVOCATION);
  callee.c.send([T.YIELD, inv[1], {}, ['ok']]);
  t.deepEqual(await caller.c.next(isCallAnswer(fast)), [T.RESULT, fast, {}, ['ok']]);
  // A second call with the same timeout, started later, times out: by then the first call's
  // timer would have fired too. No sleeping needed to show it did nothing.
  const slow = rawCall(caller, `${P}.never`, { timeout: 150 });
  t.is((await caller.c.next(isCallAnswer(slow)))[4], 'wamp.error.timeout');
  await rawBarrier(caller);
  t.deepEqual(pending(caller, isCallAnswer(fast)), [], 'nothing more for the call answered in time');
  await callee.c.destroy();
  await caller.c.destroy();
});

// ---- caller identification ----------------------------------------------------------------

test('caller identification: disclose_me puts caller, caller_authid and caller_authrole in the INVOCATION [caller_identification]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.ident';
  const P = uniquePrefix('ident');
  const callee = await agent.connect('ident-callee', { realm, transport: 'rs', serializer: 'msgpack' });
  await callee.register(`${P}.who`);
  const rc = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });
  const req = rawCall(rc, `${P}.who`, { disclose_me: true }, ['x']);
  await rc.c.next(isCallAnswer(req));
  const inv = await callee.waitInvocation((e) => (e.args as unknown[])[0] === 'x');
  const welcomeDetails = rc.welcome[2] as Dict;
  t.deepEqual(
    [inv.caller, inv.caller_authid, inv.caller_authrole],
    [rc.id, welcomeDetails.authid, welcomeDetails.authrole],
  );
  t.is(inv.caller_authrole, 'anonymous');

  // Without disclose_me (the spec's default, and the realm's "optional"), nothing is disclosed.
  const pyCaller = await agent.connect('ident-caller', { realm, transport: 'ws', serializer: 'json' });
  const r = await pyCaller.call(`${P}.who`, ['y']);
  t.true(r.ok);
  const inv2 = await callee.waitInvocation((e) => (e.args as unknown[])[0] === 'y');
  t.deepEqual([inv2.caller, inv2.caller_authid, inv2.caller_authrole], [null, null, null]);
  await rc.c.destroy();
});

// ---- pattern-based registrations ----------------------------------------------------------

test('pattern-based registrations: exact, then longest prefix, then best wildcard; details.procedure [pattern_based_registration]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.pattern';
  const P = uniquePrefix('pattern');
  // The spec's example table ("Calls matching multiple registrations"), under a unique prefix.
  // One change: its RPC 5 'a1.b2.c33..e5' is 'a1.b2.c44..e5' here. The example says a call to
  // 'a1.b2.c33.d4.e5' has "no prefix match", yet its prefix section says prefix matching is a
  // string prefix ('com.myapp.myobject1' matches 'com.myapp.myobject1-mysubobject1'), by which
  // the prefix 'a1.b2.c3' does match it. Renaming keeps what the row tests (wildcard
  // precedence) out of that contradiction.
  const regs: Array<[string, 'exact' | 'prefix' | 'wildcard']> = [
    ['a1.b2.c3.d4.e55', 'exact'],
    ['a1.b2.c3', 'prefix'],
    ['a1.b2.c3.d4', 'prefix'],
    ['a1.b2..d4.e5', 'wildcard'],
    ['a1.b2.c44..e5', 'wildcard'],
    ['a1.b2..d4.e5..g7', 'wildcard'],
    ['a1.b2..d4..f6.g7', 'wildcard'],
  ];
  const callee = await agent.connect('pattern-callee', { realm, transport: 'ws', serializer: 'cbor' });
  const ids: number[] = [];
  for (const [uri, match] of regs)
    ids.push(await callee.register(`${P}.${uri}`, { kind: 'echo' }, match === 'exact' ? {} : { match }));
  const caller = await agent.connect('pattern-caller', { realm, transport: 'rs', serializer: 'json' });
  const cases: Array<[string, number]> = [
    ['a1.b2.c3.d4.e55', 1],
    ['a1.b2.c3.d98.e74', 2],
    ['a1.b2.c3.d4.e325', 3],
    ['a1.b2.c55.d4.e5', 4],
    ['a1.b2.c44.d4.e5', 5],
    ['a1.b2.c88.d4.e5.f6.g7', 6],
  ];
  for (const [uri, rpc] of cases) {
    const procedure = `${P}.${uri}`;
    const r = await caller.call(procedure, [uri]);
    t.true(r.ok, `${uri}: ${JSON.stringify(r)}`);
    const inv = await callee.waitInvocation((e) => (e.args as unknown[])[0] === uri, uri);
    t.is(inv.registration, ids[rpc - 1], `${uri} should be routed to RPC ${rpc}`);
    // (Autobahn fills CallDetails.procedure from its registration when the INVOCATION has none,
    // so the exact row is checked on raw frames below.)
    if (rpc !== 1) t.is(inv.procedure, procedure, `${uri}: INVOCATION.Details.procedure`);
  }
  const none = await caller.call(`${P}.a2.b2.c2.d2.e2`);
  t.deepEqual(none.ok ? 'ok' : none.error, 'wamp.error.no_such_procedure');

  // Raw frames: Details.procedure only for pattern-based registrations.
  const rawCallee = await raw(realm, { transport: 'rawsocket', serializer: 'msgpack' });
  await rawRegister(rawCallee, `${P}.raw.exact`);
  await rawRegister(rawCallee, `${P}.raw.pre`, { match: 'prefix' });
  await rawRegister(rawCallee, `${P}.raw..wild`, { match: 'wildcard' });
  const rc = await raw(realm);
  for (const [procedure, expected] of [
    [`${P}.raw.exact`, undefined],
    [`${P}.raw.prefixed.x`, `${P}.raw.prefixed.x`],
    [`${P}.raw.any.wild`, `${P}.raw.any.wild`],
  ] as const) {
    rawCall(rc, procedure);
    const inv = await rawCallee.c.next((m) => m[0] === T.INVOCATION);
    t.deepEqual(inv[3], expected === undefined ? {} : { procedure: expected }, procedure);
    rawCallee.c.send([T.YIELD, inv[1], {}]);
  }
  await rawCallee.c.destroy();
  await rc.c.destroy();
});

// ---- shared registrations -----------------------------------------------------------------

type Policy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

async function sharedSetup(policy: Policy, realm: string, label: string = policy) {
  const { agent } = await fx.get();
  const P = uniquePrefix(`shared.${policy}`);
  const proc = `${P}.work`;
  const names = ['a', 'b', 'c'] as const;
  const transports = [
    ['ws', 'json'],
    ['rs', 'msgpack'],
    ['ws', 'cbor'],
  ] as const;
  const callees: PySession[] = [];
  for (const [i, n] of names.entries()) {
    callees.push(
      await agent.connect(`${label}-${n}`, { realm, transport: transports[i]![0], serializer: transports[i]![1] }),
    );
  }
  const caller = await agent.connect(`${label}-caller`, { realm, transport: 'rs', serializer: 'cbor' });
  return { agent, proc, callees, caller };
}

async function callMany(caller: PySession, proc: string, n: number, prefix: string): Promise<string[]> {
  const who: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await caller.call(proc);
    if (!r.ok) throw new Error(`call ${i}: ${r.error}`);
    who.push(String(r.args[0]).slice(prefix.length));
  }
  return who;
}

for (const policy of ['roundrobin', 'random', 'first', 'last'] as const) {
  test(`shared registration, invoke "${policy}": 60 calls over 3 callees [shared_registration]`, async (t) => {
    const { proc, callees, caller } = await sharedSetup(policy, `rpc.shared.${policy}`);
    const regIds = new Set<number>();
    for (const c of callees) regIds.add(await c.register(proc, { kind: 'whoami' }, { invoke: policy }));
    t.is(regIds.size, 1, 'every callee joined the same registration');
    const who = await callMany(caller, proc, 60, `${policy}-`);
    const count = (n: string) => who.filter((w) => w === n).length;
    if (policy === 'roundrobin') {
      // "callees are picked subsequently from the list of registrations (ordered by the order of registration)"
      t.is(who.join(''), 'abc'.repeat(20));
    } else if (policy === 'random') {
      // Each callee has p = 1/3 per call: fewer than 5 of 60 has probability ~1e-5.
      for (const n of ['a', 'b', 'c'])
        t.true(count(n) >= 5, `random spread: ${['a', 'b', 'c'].map((x) => `${x}=${count(x)}`).join(' ')}`);
    } else {
      // Hot stand-by: "the first respectively last callee on the current list of registrations".
      const expected = policy === 'first' ? 'a' : 'c';
      t.is(count(expected), 60, who.join(''));
      // Remove that callee: the next on the current list takes over.
      const leaving = callees[policy === 'first' ? 0 : 2]!;
      await leaving.leave();
      const after = await callMany(caller, proc, 6, `${policy}-`);
      t.deepEqual(after, Array(6).fill('b'), `after ${expected} left`);
    }
  });
}

test('shared registration, invoke "single": a second callee is refused with procedure_already_exists [shared_registration]', async (t) => {
  const { proc, callees, caller } = await sharedSetup('single', 'rpc.shared.single');
  await callees[0]!.register(proc, { kind: 'whoami' }, { invoke: 'single' });
  for (const c of callees.slice(1)) {
    const err = await c.register(proc, { kind: 'whoami' }, { invoke: 'single' }).then(
      () => 'registered',
      (e: { error?: string }) => e.error,
    );
    t.is(err, 'wamp.error.procedure_already_exists');
  }
  // Without an invoke option the policy is single too ("If the option is not set, 'single' is applied").
  const dflt = await callees[1]!.register(proc).then(
    () => 'registered',
    (e: { error?: string }) => e.error,
  );
  t.is(dflt, 'wamp.error.procedure_already_exists');
  t.deepEqual(await callMany(caller, proc, 6, 'single-'), Array(6).fill('a'));
});

test("shared registration: a policy different from the registration's is refused with procedure_already_exists [shared_registration]", async (t) => {
  const { proc, callees } = await sharedSetup('roundrobin', 'rpc.shared.mismatch', 'mismatch');
  await callees[0]!.register(proc, { kind: 'whoami' }, { invoke: 'roundrobin' });
  for (const invoke of ['first', 'last', 'random', 'single']) {
    const err = await callees[1]!.register(proc, { kind: 'whoami' }, { invoke }).then(
      () => 'registered',
      (e: { error?: string }) => e.error,
    );
    t.is(err, 'wamp.error.procedure_already_exists', invoke);
  }
  t.is(
    await callees[2]!.register(proc, { kind: 'whoami' }, { invoke: 'roundrobin' }).then(() => 'registered'),
    'registered',
  );
});
