// Progressive call results with callees as they are found in the wild: Autobahn|JS announces
// progressive_call_results for its callee role but not call_canceling, and some callees send
// progressive YIELDs they were not asked for. README "Where the router departs from the letter of the spec".

import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { Router } from '../../src/router/router.ts';
import { ManualScheduler } from '../../src/router/scheduler.ts';
import { MessageType as T } from '../../src/wamp/messages.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

// HELLO.Details.roles of Autobahn|JS 26.3.1 (lib/session.js WAMP_FEATURES), RPC roles only.
const autobahnJsRoles = {
  caller: { features: { caller_identification: true, call_canceling: true, progressive_call_results: true } },
  callee: {
    features: {
      caller_identification: true,
      pattern_based_registration: true,
      shared_registration: true,
      progressive_call_results: true,
      registration_revocation: true,
    },
  },
};
const fullCaller = {
  caller: { features: { progressive_call_results: true, call_canceling: true, call_timeout: true } },
};
const plainRoles = { caller: {}, callee: {} };

const PROCEDURE = 'com.app.stream';
const CANCELED = 'wamp.error.canceled';

function setup() {
  const scheduler = new ManualScheduler();
  const logLines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const router = new Router({
    realms: [{ uri: 'realm1', anonymous: true }],
    scheduler,
    now: () => scheduler.now,
    logger,
  });
  const client = (roles: Record<string, unknown>) => {
    const c = new MemoryClient(router);
    c.join('realm1', { roles });
    return c;
  };
  return { scheduler, client, logLines, dealer: router.realms.get('realm1')!.dealer };
}

/** Registers PROCEDURE at `callee`, calls it from `caller` with `options`; returns the INVOCATION's request ID and details. */
function invoke(
  callee: MemoryClient,
  caller: MemoryClient,
  options: Record<string, unknown>,
): { request: number; details: Record<string, unknown> } {
  callee.send({ type: T.REGISTER, request: 1, options: {}, procedure: PROCEDURE });
  callee.take();
  caller.send({ type: T.CALL, request: 7, options, procedure: PROCEDURE });
  const [invocation] = callee.take();
  if (invocation?.[0] !== T.INVOCATION) throw new Error(`expected an INVOCATION, got ${JSON.stringify(invocation)}`);
  return { request: invocation[1] as number, details: invocation[3] as Record<string, unknown> };
}

function progressiveYield(request: number, args: unknown[]) {
  return { type: T.YIELD, request, options: { progress: true }, args } as const;
}

test('a callee with progressive_call_results but no call_canceling (Autobahn|JS) is sent receive_progress; its results reach the caller', (t) => {
  const { client, dealer } = setup();
  const callee = client(autobahnJsRoles);
  const caller = client(autobahnJsRoles);
  const { request, details } = invoke(callee, caller, { receive_progress: true });
  t.is(details.receive_progress, true);
  callee.send(progressiveYield(request, [1]));
  callee.send(progressiveYield(request, [2]));
  callee.send({ type: T.YIELD, request, options: {}, args: ['done'] });
  t.deepEqual(caller.take(), [
    [T.RESULT, 7, { progress: true }, [1]],
    [T.RESULT, 7, { progress: true }, [2]],
    [T.RESULT, 7, {}, ['done']],
  ]);
  t.is(dealer.pendingCount, 0);
  t.deepEqual(dealer.stats, { unrequestedProgressForwarded: 0, unrequestedProgressDropped: 0 });
});

for (const mode of ['skip', 'kill', 'killnowait'] as const) {
  test(`CANCEL in mode ${mode} toward such a callee: no INTERRUPT, ERROR canceled at once, later YIELDs discarded`, (t) => {
    const { client, dealer } = setup();
    const callee = client(autobahnJsRoles);
    const caller = client(autobahnJsRoles);
    const { request } = invoke(callee, caller, { receive_progress: true });
    callee.send(progressiveYield(request, ['started']));
    t.deepEqual(caller.take(), [[T.RESULT, 7, { progress: true }, ['started']]]);
    caller.send({ type: T.CANCEL, request: 7, options: { mode } });
    // Autobahn|JS has no INTERRUPT handler: one would fail its transport.
    t.deepEqual(callee.take(), [], 'no INTERRUPT');
    t.deepEqual(caller.take(), [[T.ERROR, T.CALL, 7, {}, CANCELED, ['canceled by the caller']]]);
    t.is(dealer.pendingCount, 0);
    callee.send(progressiveYield(request, ['late']));
    callee.send({ type: T.YIELD, request, options: {}, args: ['late final'] });
    t.deepEqual(caller.take(), [], "the callee's later YIELDs are discarded");
    t.deepEqual(callee.take(), [], 'and not answered: the callee could not have known');
  });
}

test('a call timeout toward such a callee, and its caller leaving, end the call without an INTERRUPT', (t) => {
  const { client, scheduler, dealer } = setup();
  const callee = client(autobahnJsRoles);
  const caller = client(fullCaller);
  const { request } = invoke(callee, caller, { receive_progress: true, timeout: 100 });
  callee.send(progressiveYield(request, [1]));
  scheduler.advance(99);
  callee.send(progressiveYield(request, [2]));
  scheduler.advance(99);
  t.deepEqual(
    caller.take().map((m) => m[0]),
    [T.RESULT, T.RESULT],
    'each progressive result restarts the timeout',
  );
  scheduler.advance(1);
  t.is(caller.take()[0]?.[4], 'wamp.error.timeout');
  t.deepEqual(callee.take(), []);
  t.is(dealer.pendingCount, 0);

  caller.send({ type: T.CALL, request: 8, options: { receive_progress: true }, procedure: PROCEDURE });
  t.is(callee.take()[0]?.[0], T.INVOCATION);
  caller.handler.closed();
  t.deepEqual(callee.take(), [], 'no INTERRUPT when the caller leaves');
  t.is(dealer.pendingCount, 0);
});

test('a progressive YIELD the callee was not asked for goes to a caller that asked for progress: counted, logged at debug', (t) => {
  const { client, dealer, logLines } = setup();
  const callee = client(plainRoles); // announces no progressive_call_results
  const caller = client(fullCaller);
  const { request, details } = invoke(callee, caller, { receive_progress: true });
  t.is(details.receive_progress, undefined, 'a callee that announced nothing is not sent receive_progress');
  callee.send(progressiveYield(request, [1]));
  callee.send({ type: T.YIELD, request, options: {}, args: ['done'] });
  t.deepEqual(caller.take(), [
    [T.RESULT, 7, { progress: true }, [1]],
    [T.RESULT, 7, {}, ['done']],
  ]);
  t.deepEqual(dealer.stats, { unrequestedProgressForwarded: 1, unrequestedProgressDropped: 0 });
  const line = logLines.find((l) => l.msg === 'progressive YIELD without receive_progress in the INVOCATION');
  t.like(line, { level: 'debug', procedure: PROCEDURE, forwarded: true });
});

test('a progressive YIELD the callee was not asked for is dropped when the caller did not ask: counted, logged at debug', (t) => {
  const { client, dealer, logLines } = setup();
  const callee = client(autobahnJsRoles);
  const caller = client(fullCaller);
  const { request, details } = invoke(callee, caller, {});
  t.is(details.receive_progress, undefined);
  callee.send(progressiveYield(request, [1]));
  callee.send(progressiveYield(request, [2]));
  t.deepEqual(caller.take(), [], 'a caller that did not ask would take a progressive result for the final one');
  callee.send({ type: T.YIELD, request, options: {}, args: ['done'] });
  t.deepEqual(caller.take(), [[T.RESULT, 7, {}, ['done']]]);
  t.deepEqual(dealer.stats, { unrequestedProgressForwarded: 0, unrequestedProgressDropped: 2 });
  const lines = logLines.filter((l) => l.msg === 'progressive YIELD without receive_progress in the INVOCATION');
  t.is(lines.length, 2);
  t.like(lines[0], { level: 'debug', procedure: PROCEDURE, forwarded: false });
});
