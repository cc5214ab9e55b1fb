import test from 'ava';
import { mock } from 'node:test';
import { Router } from '../../src/router/router.ts';
import { ManualScheduler } from '../../src/router/scheduler.ts';
import { MemoryClient, shape } from '../helpers/memory-peer.ts';

const features = {
  payload_passthru_mode: true,
  progressive_call_results: true,
  progressive_call_invocations: true,
  call_canceling: true,
  call_timeout: true,
  caller_identification: true,
  shared_registration: true,
  pattern_based_registration: true,
};
const roles = { caller: { features }, callee: { features }, publisher: {}, subscriber: {} };
const plainRoles = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

function setup(realm: Record<string, unknown> = {}) {
  const scheduler = new ManualScheduler();
  const router = new Router({
    realms: [{ uri: 'realm1', anonymous: true, ...realm }],
    scheduler,
    now: () => scheduler.now,
  });
  const client = (advanced = true) => {
    const c = new MemoryClient(router);
    c.join('realm1', { roles: advanced ? roles : plainRoles });
    return c;
  };
  return { router, scheduler, client, dealer: router.realms.get('realm1')!.dealer };
}

function register(c: MemoryClient, procedure: string, options: Record<string, unknown> = {}, request = 1): unknown[] {
  c.send([64, request, options, procedure]);
  return c.take()[0]!;
}

test('progressive call results reach a caller that asked for them, then the final result', (t) => {
  const { client, dealer } = setup();
  const callee = client();
  const caller = client();
  register(callee, 'com.app.stream');
  caller.send([48, 1, { receive_progress: true }, 'com.app.stream']);
  const [inv] = callee.take();
  t.is((inv![3] as Record<string, unknown>).receive_progress, true);
  callee.send([70, inv![1], { progress: true }, [1]]);
  callee.send([70, inv![1], { progress: true }, [2]]);
  callee.send([70, inv![1], {}, [3]]);
  t.deepEqual(caller.take(), [
    [50, 1, { progress: true }, [1]],
    [50, 1, { progress: true }, [2]],
    [50, 1, {}, [3]],
  ]);
  t.is(dealer.pendingCount, 0);
});

test('progressive results are not sent to a caller that did not ask', (t) => {
  const { client } = setup();
  const callee = client();
  const caller = client();
  register(callee, 'com.app.stream');
  caller.send([48, 1, {}, 'com.app.stream']);
  const [inv] = callee.take();
  t.is((inv![3] as Record<string, unknown>).receive_progress, undefined);
  callee.send([70, inv![1], { progress: true }, [1]]);
  callee.send([70, inv![1], {}, ['final']]);
  t.deepEqual(caller.take(), [[50, 1, {}, ['final']]]);
});

test('progressive call invocations go to the same callee with the same request ID', (t) => {
  const { client, dealer } = setup();
  const a = client();
  const b = client();
  const caller = client();
  register(a, 'com.app.upload', { invoke: 'roundrobin' });
  register(b, 'com.app.upload', { invoke: 'roundrobin' });
  caller.send([48, 5, { progress: true }, 'com.app.upload', ['chunk1']]);
  caller.send([48, 5, { progress: true }, 'com.app.upload', ['chunk2']]);
  caller.send([48, 5, {}, 'com.app.upload', ['last']]);
  const invs = a.take();
  t.deepEqual(b.take(), []);
  t.deepEqual(
    invs.map((m) => [m[1], m[3], m[4]]),
    [
      [1, { progress: true }, ['chunk1']],
      [1, { progress: true }, ['chunk2']],
      [1, {}, ['last']],
    ],
  );
  a.send([70, 1, {}, ['done']]);
  t.deepEqual(caller.take(), [[50, 5, {}, ['done']]]);
  t.is(dealer.pendingCount, 0);
});

test('progress: true from a caller without the feature is a protocol violation; to a callee without it, feature_not_supported', (t) => {
  const { client } = setup();
  const plainCallee = client(false);
  register(plainCallee, 'com.app.plain');
  const caller = client();
  caller.send([48, 1, { progress: true }, 'com.app.plain']);
  t.deepEqual(shape(caller.take()[0])?.slice(0, 5), [8, 48, 1, '{}', 'wamp.error.feature_not_supported']);
  const plainCaller = client(false);
  plainCaller.send([48, 1, { progress: true }, 'com.app.plain']);
  t.deepEqual(shape(plainCaller.take()[0]), [3, '{}', 'wamp.error.protocol_violation']);
});

for (const mode of ['skip', 'kill', 'killnowait'] as const) {
  test(`CANCEL in mode ${mode}`, (t) => {
    const { client, dealer } = setup();
    const callee = client();
    const caller = client();
    register(callee, 'com.app.long');
    caller.send([48, 1, {}, 'com.app.long']);
    const [inv] = callee.take();
    caller.send([49, 1, { mode }]);
    const interrupts = callee.take();
    if (mode === 'skip') {
      t.deepEqual(interrupts, []);
      t.is(caller.take()[0]![4], 'wamp.error.canceled');
      callee.send([70, inv![1], {}, ['late']]);
      t.deepEqual(caller.take(), [], 'the late result is discarded');
    } else if (mode === 'killnowait') {
      t.deepEqual(interrupts, [[69, inv![1], { mode, reason: 'wamp.error.canceled' }]]);
      t.is(caller.take()[0]![4], 'wamp.error.canceled');
    } else {
      t.deepEqual(interrupts, [[69, inv![1], { mode, reason: 'wamp.error.canceled' }]]);
      t.deepEqual(caller.take(), [], 'kill waits for the callee');
      callee.send([8, 68, inv![1], {}, 'wamp.error.canceled']);
      t.is(caller.take()[0]![4], 'wamp.error.canceled');
    }
    t.is(dealer.pendingCount, 0);
  });
}

test('a callee without call_canceling gets no INTERRUPT (mode falls back to skip)', (t) => {
  const { client } = setup();
  const callee = client(false);
  const caller = client();
  register(callee, 'com.app.long');
  caller.send([48, 1, {}, 'com.app.long']);
  callee.take();
  caller.send([49, 1, { mode: 'kill' }]);
  t.deepEqual(callee.take(), []);
  t.is(caller.take()[0]![4], 'wamp.error.canceled');
});

test('the dealer enforces call timeouts and forwards them to callees that announce call_timeout', (t) => {
  const { client, scheduler, dealer } = setup();
  const callee = client();
  const caller = client();
  register(callee, 'com.app.slow');
  caller.send([48, 1, { timeout: 500 }, 'com.app.slow']);
  const [inv] = callee.take();
  t.is((inv![3] as Record<string, unknown>).timeout, 500);
  scheduler.advance(499);
  t.deepEqual(caller.take(), []);
  scheduler.advance(1);
  t.is(caller.take()[0]![4], 'wamp.error.timeout');
  t.deepEqual(callee.take(), [[69, inv![1], { mode: 'killnowait', reason: 'wamp.error.timeout' }]]);
  t.is(dealer.pendingCount, 0);
  callee.send([70, inv![1], {}, ['too late']]);
  t.deepEqual(caller.take(), []);
});

test('a call timeout beyond what one Node timer can hold (2^31 ms) is not cut short', (t) => {
  // Regression (found by test/hostile/fuzz-*.test.ts): the real scheduler handed 2^31 ms to
  // setTimeout, which Node runs after 1 ms, so the call failed with wamp.error.timeout at once.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] }); // the real scheduler
    const callee = new MemoryClient(router);
    callee.join('realm1', { roles });
    const caller = new MemoryClient(router);
    caller.join('realm1', { roles });
    register(callee, 'com.app.patient');
    caller.send([48, 1, { timeout: 2 ** 31 }, 'com.app.patient']);
    callee.take();
    mock.timers.tick(2 ** 31 - 1);
    t.deepEqual(caller.take(), []);
    mock.timers.tick(1);
    t.is(caller.take()[0]![4], 'wamp.error.timeout');
  } finally {
    mock.timers.reset();
  }
});

test('a call answered in time cancels its timer', (t) => {
  const { client, scheduler } = setup();
  const callee = client();
  const caller = client();
  register(callee, 'com.app.fast');
  caller.send([48, 1, { timeout: 100 }, 'com.app.fast']);
  callee.send([70, callee.take()[0]![1], {}, ['ok']]);
  scheduler.advance(1000);
  t.deepEqual(caller.take(), [[50, 1, {}, ['ok']]]);
});

test('caller identification on request, forced and forbidden by the realm', (t) => {
  for (const [policy, disclose, expected] of [
    ['optional', true, true],
    ['optional', false, false],
    ['always', false, true],
  ] as const) {
    const { client } = setup({ callerDisclosure: policy });
    const callee = client();
    const caller = client();
    register(callee, 'com.app.who');
    caller.send([48, 1, { disclose_me: disclose }, 'com.app.who']);
    const details = callee.take()[0]![3] as Record<string, unknown>;
    t.is(details.caller !== undefined, expected, `${policy}/${disclose}`);
    if (expected) t.is(typeof details.caller_authid, 'string');
  }
  const { client } = setup({ callerDisclosure: 'never' });
  const callee = client();
  const caller = client();
  register(callee, 'com.app.who');
  caller.send([48, 1, { disclose_me: true }, 'com.app.who']);
  t.is(caller.take()[0]![4], 'wamp.error.option_disallowed.disclose_me');
});

test('pattern registrations: exact before prefix before wildcard, concrete procedure in details', (t) => {
  const { client } = setup();
  const exact = client();
  const prefix = client();
  const wildcard = client();
  const caller = client();
  register(exact, 'com.app.a.b');
  register(prefix, 'com.app.', { match: 'prefix' });
  register(wildcard, 'com..a.b', { match: 'wildcard' });
  caller.send([48, 1, {}, 'com.app.a.b']);
  t.is(exact.take().length, 1);
  caller.send([48, 2, {}, 'com.app.x.y']);
  t.is((prefix.take()[0]![3] as Record<string, unknown>).procedure, 'com.app.x.y');
  caller.send([48, 3, {}, 'com.other.a.b']);
  t.is((wildcard.take()[0]![3] as Record<string, unknown>).procedure, 'com.other.a.b');
});

test('shared registrations distribute by invoke policy', (t) => {
  for (const [policy, expected] of [
    ['roundrobin', 'a b c a b c'],
    ['first', 'a a a a a a'],
    ['last', 'c c c c c c'],
  ] as const) {
    const { client } = setup();
    const callees = { a: client(), b: client(), c: client() };
    const ids = Object.values(callees).map((c) => register(c, 'com.app.shared', { invoke: policy })[2]);
    t.is(new Set(ids).size, 1, 'one registration shared by all callees');
    const caller = client();
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      caller.send([48, i + 1, {}, 'com.app.shared']);
      for (const [name, c] of Object.entries(callees)) {
        const inv = c.take()[0];
        if (inv !== undefined) {
          order.push(name);
          c.send([70, inv[1], {}]);
        }
      }
    }
    t.is(order.join(' '), expected, policy);
  }
  const { client } = setup();
  const counts = new Map<MemoryClient, number>();
  const cs = [client(), client(), client()];
  for (const c of cs) register(c, 'com.app.rand', { invoke: 'random' });
  const caller = client();
  for (let i = 0; i < 300; i++) {
    caller.send([48, i + 1, {}, 'com.app.rand']);
    for (const c of cs) {
      const inv = c.take()[0];
      if (inv) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
        c.send([70, inv[1], {}]);
      }
    }
  }
  for (const c of cs) t.true((counts.get(c) ?? 0) > 50, `random spreads calls: ${counts.get(c)}`);
});

test('mismatched or single invoke policies are refused with procedure_already_exists', (t) => {
  const { client } = setup();
  const a = client();
  const b = client();
  register(a, 'com.app.s', { invoke: 'roundrobin' });
  t.is(register(b, 'com.app.s', { invoke: 'first' })[4], 'wamp.error.procedure_already_exists');
  register(a, 'com.app.single');
  t.is(register(b, 'com.app.single')[4], 'wamp.error.procedure_already_exists');
  t.is(register(b, 'com.app.bad', { invoke: 'sometimes' })[4], 'wamp.error.invalid_argument');
});

test('a caller leaving interrupts its calls at callees that support canceling', (t) => {
  const { client, dealer } = setup();
  const callee = client();
  const caller = client();
  register(callee, 'com.app.long');
  caller.send([48, 1, {}, 'com.app.long']);
  const [inv] = callee.take();
  caller.handler.closed();
  t.deepEqual(callee.take(), [[69, inv![1], { mode: 'killnowait', reason: 'wamp.error.canceled' }]]);
  t.is(dealer.pendingCount, 0);
});

test('payload passthru: ppt options travel into details, the payload untouched', (t) => {
  const { client } = setup();
  const callee = client();
  const caller = client();
  register(callee, 'com.app.e2e');
  const payload = new Uint8Array([1, 2, 3, 0, 255]);
  caller.send([
    48,
    1,
    { ppt_scheme: 'x_custom', ppt_serializer: 'cbor', ppt_cipher: 'xsalsa20poly1305', ppt_keyid: 'k1' },
    'com.app.e2e',
    [payload],
  ]);
  const [inv] = callee.take();
  t.deepEqual(inv![3], {
    ppt_scheme: 'x_custom',
    ppt_serializer: 'cbor',
    ppt_cipher: 'xsalsa20poly1305',
    ppt_keyid: 'k1',
  });
  t.deepEqual(Buffer.from((inv![4] as Uint8Array[])[0]!), Buffer.from(payload));
  caller.send([48, 2, { ppt_scheme: 'x_custom' }, 'com.app.e2e', [payload], { no: 'kwargs allowed' }]);
  t.is(caller.take()[0]![4], 'wamp.error.invalid_argument');
});
