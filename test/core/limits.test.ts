// Limits on what one session and one realm can make the router hold: pending calls (per
// session, per realm), registrations, subscriptions, retained topics. Beyond them: ERROR
// wampmesh.error.limit_exceeded, a rate-limited log line, a count.

import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { LIMIT_EXCEEDED, type RealmLimits } from '../../src/router/limits.ts';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

function setup(limits: Partial<RealmLimits>) {
  const lines: Array<Record<string, unknown>> = [];
  let now = 1_000_000;
  const logger = createLogger({
    level: 'warn',
    destination: { write: (s) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true, limits }], logger, now: () => now });
  const client = () => {
    const c = new MemoryClient(router);
    c.join();
    return c;
  };
  return {
    router,
    realm: router.realms.get('realm1')!,
    client,
    lines,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const errors = (c: MemoryClient, type: number) => c.take().filter((m) => m[0] === 8 && m[1] === type);

test('pending calls per session: beyond the limit the caller gets limit_exceeded at once; answered calls free room', (t) => {
  const { realm, client, lines } = setup({ maxPendingCallsPerSession: 3 });
  const callee = client();
  callee.send([64, 1, {}, 'com.sink']);
  const caller = client();
  for (let i = 1; i <= 5; i++) caller.send([48, i, {}, 'com.sink', [i]]);
  const refused = errors(caller, 48);
  t.deepEqual(
    refused.map((m) => m[2]),
    [4, 5],
  );
  t.is(refused[0]![4], LIMIT_EXCEEDED);
  t.regex(String((refused[0]![5] as unknown[])[0]), /3 calls waiting for an answer/);
  t.is(realm.dealer.pendingCount, 3);
  t.is(realm.limitCounts.maxPendingCallsPerSession, 2);
  // One line for the two refusals (rate-limited), naming realm, limit and session.
  const logged = lines.filter((l) => l.msg === 'request refused: limit exceeded');
  t.is(logged.length, 1);
  t.like(logged[0], { realm: 'realm1', limit: 'maxPendingCallsPerSession', value: 3 });
  // The callee answers one: the caller may call again.
  const invocation = callee.take().find((m) => m[0] === 68)!;
  callee.send([70, invocation[1], {}, ['done']]);
  caller.send([48, 6, {}, 'com.sink']);
  t.deepEqual(errors(caller, 48), []);
  t.is(realm.dealer.pendingCount, 3);
  // A caller that leaves takes its pending calls with it.
  caller.send([6, {}, 'wamp.close.close_realm']);
  t.is(realm.dealer.pendingCount, 0);
});

test('pending calls per realm: many callers together stop at the realm limit', (t) => {
  const { realm, client, lines, advance } = setup({ maxPendingCallsPerSession: 4, maxPendingCalls: 10 });
  const callee = client();
  callee.send([64, 1, {}, 'com.sink']);
  const callers = [client(), client(), client(), client()];
  let refused = 0;
  for (const c of callers) {
    for (let i = 1; i <= 4; i++) c.send([48, i, {}, 'com.sink']);
    refused += errors(c, 48).length;
  }
  t.is(realm.dealer.pendingCount, 10);
  t.is(refused, 6);
  t.is(realm.limitCounts.maxPendingCalls, 6);
  // Logged once per 10 s, with the number held back since.
  advance(10_000);
  callers[3]!.send([48, 99, {}, 'com.sink']);
  const logged = lines.filter((l) => l.limit === 'maxPendingCalls');
  t.is(logged.length, 2);
  t.is(logged[1]!.unlogged, 5);
  // The callee leaving ends them all: nothing is held.
  callee.send([6, {}, 'wamp.close.close_realm']);
  t.is(realm.dealer.pendingCount, 0);
});

test('registrations, subscriptions and retained topics per session', (t) => {
  const { realm, client } = setup({
    maxRegistrationsPerSession: 2,
    maxSubscriptionsPerSession: 2,
    maxRetainedTopicsPerSession: 2,
  });
  const c = client();
  for (let i = 1; i <= 3; i++) c.send([64, i, {}, `com.p${i}`]);
  t.deepEqual(
    errors(c, 64).map((m) => [m[2], m[4]]),
    [[3, LIMIT_EXCEEDED]],
  );
  for (let i = 1; i <= 3; i++) c.send([32, 10 + i, {}, `com.t${i}`]);
  t.deepEqual(
    errors(c, 32).map((m) => [m[2], m[4]]),
    [[13, LIMIT_EXCEEDED]],
  );
  c.send([32, 20, {}, 'com.t1']);
  t.deepEqual(errors(c, 32), [], 'subscribing again to a topic it has is no new subscription');
  for (let i = 1; i <= 3; i++) c.send([16, 30 + i, { retain: true, acknowledge: true }, `com.r${i}`, [i]]);
  t.deepEqual(
    errors(c, 16).map((m) => [m[2], m[4]]),
    [[33, LIMIT_EXCEEDED]],
  );
  c.send([16, 40, { retain: true, acknowledge: true }, 'com.r1', ['again']]);
  t.deepEqual(errors(c, 16), [], 'replacing a retained event it gave is no new topic');
  t.like(realm.limitCounts, {
    maxRegistrationsPerSession: 1,
    maxSubscriptionsPerSession: 1,
    maxRetainedTopicsPerSession: 1,
  });
  // Another session has its own budget.
  const d = client();
  d.send([64, 1, {}, 'com.q1']);
  t.deepEqual(errors(d, 64), []);
});
