// Calls that end before their answer: CANCEL in each mode, and the dealer's call timeout, both
// held to what the caller and the callee are told and when.
// Through Autobahn|Python where it has the feature, raw frames where it has not; expectations
// are the spec's (wamp-proto rfc/text/advanced), quoted where a test hinges on one sentence.

import test from 'ava';
import { fixture, uniquePrefix } from './support/suite.ts';
import { T, isCallAnswer, pending, plainRoles, rawBarrier, rawCall, rawRegister, type Dict } from './support/raw.ts';
import type { PySession } from './support/agent.ts';
import { rawJoiner } from './support/raw-joiner.ts';

const realms = [
  'rpc.cancel.skip',
  'rpc.cancel.kill',
  'rpc.cancel.killnowait',
  'rpc.cancel.autobahn',
  'rpc.timeout',
  'rpc.timeout.intime',
];
const fx = fixture(realms.map((uri) => ({ uri })));
test.after.always('stop agent and router', () => fx.close());
const raw = rawJoiner(fx);

/** Barrier through a Python session's own connection: what it sent before has been routed. */
async function pyBarrier(s: PySession): Promise<void> {
  await s.result('wamp.session.count');
}

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
