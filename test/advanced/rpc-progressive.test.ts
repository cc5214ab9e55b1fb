// Progressive call results and progressive call invocations against the real router process:
// results that stream back before the final one, chunks that stream to one callee, and what
// becomes of either when a side leaves, freezes or times out.
// Through Autobahn|Python where it has the feature, raw frames where it has not; expectations
// are the spec's (wamp-proto rfc/text/advanced), quoted where a test hinges on one sentence.

import test from 'ava';
import { fixture, uniquePrefix, until } from './support/suite.ts';
import {
  T,
  isCallAnswer,
  pending,
  plainRoles,
  rawBarrier,
  rawCall,
  rawRegister,
  type Dict,
  type Msg,
} from './support/raw.ts';
import { rawJoiner } from './support/raw-joiner.ts';

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
];
const fx = fixture(realms.map((uri) => ({ uri })));
test.after.always('stop agent and router', () => fx.close());
const raw = rawJoiner(fx);

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
