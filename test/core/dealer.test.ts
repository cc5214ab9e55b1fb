import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack } from '../../src/serializers/index.ts';
import { MemoryClient, shape } from '../helpers/memory-peer.ts';

function setup() {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const callee = new MemoryClient(router);
  const caller = new MemoryClient(router);
  callee.join();
  caller.join();
  return { router, callee, caller, dealer: router.realms.get('realm1')!.dealer };
}

function register(callee: MemoryClient, procedure: string, request = 1): number {
  callee.send([64, request, {}, procedure]);
  const [registered] = callee.take();
  if (registered?.[0] !== 65) throw new Error(`expected REGISTERED, got ${JSON.stringify(registered)}`);
  return registered[2] as number;
}

test('call is routed to the callee and the result back to the caller', (t) => {
  const { callee, caller, dealer } = setup();
  const reg = register(callee, 'com.app.add');
  caller.send([48, 7, {}, 'com.app.add', [2, 3], { round: true }]);
  const [inv] = callee.take();
  t.is(inv![0], 68);
  t.is(inv![2], reg);
  t.deepEqual(inv!.slice(4), [[2, 3], { round: true }]);
  callee.send([70, inv![1], {}, [5]]);
  t.deepEqual(caller.take(), [[50, 7, {}, [5]]]);
  t.is(dealer.pendingCount, 0);
});

test('empty args and kwargs are omitted, never null', (t) => {
  const { callee, caller } = setup();
  register(callee, 'com.app.nothing');
  caller.send([48, 1, {}, 'com.app.nothing', [], {}]);
  const [inv] = callee.take();
  t.is(inv!.length, 4);
  callee.send([70, inv![1], {}, [], { only: 'kw' }]);
  t.deepEqual(caller.take(), [[50, 1, {}, [], { only: 'kw' }]]);
});

test('one callee per procedure; unknown procedures and registrations are errors', (t) => {
  const { callee, caller } = setup();
  register(callee, 'com.app.one');
  caller.send([64, 3, {}, 'com.app.one']);
  t.deepEqual(shape(caller.take()[0]), [8, 64, 3, '{}', 'wamp.error.procedure_already_exists']);
  caller.send([48, 4, {}, 'com.app.none']);
  t.deepEqual(shape(caller.take()[0]), [8, 48, 4, '{}', 'wamp.error.no_such_procedure']);
  caller.send([66, 5, 999]);
  t.deepEqual(shape(caller.take()[0]), [8, 66, 5, '{}', 'wamp.error.no_such_registration']);
});

test('invalid and reserved procedure URIs are refused with invalid_uri', (t) => {
  const { callee } = setup();
  for (const [i, uri] of ['com..x', 'com.a b', 'wamp.session.count', ''].entries()) {
    callee.send([64, i + 1, {}, uri]);
    t.deepEqual(shape(callee.take()[0])?.slice(0, 5), [8, 64, i + 1, '{}', 'wamp.error.invalid_uri'], uri);
  }
});

test('a pattern registration does not serve calls to procedures in the wamp. namespace', (t) => {
  const { callee, caller } = setup();
  callee.send([64, 1, { match: 'prefix' }, 'wamp']);
  callee.send([64, 2, { match: 'wildcard' }, '.session.']);
  t.deepEqual(
    callee.take().map((m) => m[0]),
    [65, 65],
  );
  for (const [i, uri] of ['wamp.session.nothing', 'wamp.registration.get_x'].entries()) {
    caller.send([48, i + 1, {}, uri]);
    t.deepEqual(shape(caller.take()[0]), [8, 48, i + 1, '{}', 'wamp.error.no_such_procedure'], uri);
  }
  t.deepEqual(callee.take(), [], 'no INVOCATION');
  // The router's own procedures answer as before, and the patterns serve other URIs.
  caller.send([48, 3, {}, 'wamp.session.count']);
  t.is(caller.take()[0]![0], 50);
  caller.send([48, 4, {}, 'wampx.session.y']);
  t.is(callee.take()[0]![0], 68);
});

test('callee ERROR is relayed with its URI, args and kwargs', (t) => {
  const { callee, caller } = setup();
  register(callee, 'com.app.fail');
  caller.send([48, 9, {}, 'com.app.fail']);
  const [inv] = callee.take();
  callee.send([8, 68, inv![1], { x: 1 }, 'com.app.error.oops', ['bad'], { code: 42 }]);
  t.deepEqual(caller.take(), [[8, 48, 9, { x: 1 }, 'com.app.error.oops', ['bad'], { code: 42 }]]);
});

test('unregister, then calls fail with no_such_procedure', (t) => {
  const { callee, caller } = setup();
  const reg = register(callee, 'com.app.gone');
  callee.send([66, 2, reg]);
  t.deepEqual(callee.take(), [[67, 2]]);
  caller.send([48, 1, {}, 'com.app.gone']);
  t.is(caller.take()[0]![4], 'wamp.error.no_such_procedure');
});

test('callee leaving mid-call fails the call with canceled and frees everything', (t) => {
  const { callee, caller, dealer } = setup();
  register(callee, 'com.app.slow');
  caller.send([48, 1, {}, 'com.app.slow']);
  callee.take();
  callee.handler.closed();
  t.deepEqual(shape(caller.take()[0]), [
    8,
    48,
    1,
    '{}',
    'wamp.error.canceled',
    ['callee disconnected from in-flight call'],
  ]);
  t.is(dealer.pendingCount, 0);
  t.is(dealer.registrationCount, 0);
});

test('caller leaving mid-call: a late YIELD is ignored and nothing leaks', (t) => {
  const { router, callee, caller, dealer } = setup();
  register(callee, 'com.app.slow');
  caller.send([48, 1, {}, 'com.app.slow']);
  const [inv] = callee.take();
  caller.handler.closed();
  t.is(dealer.pendingCount, 0);
  callee.send([70, inv![1], {}, ['late']]);
  callee.send([70, 12345, {}, ['unknown invocation']]);
  t.deepEqual(callee.take(), []);
  t.false(callee.closed);
  t.is(router.sessionCount, 1);
});

test('values survive transcoding between every pair of serializers', (t) => {
  const payload = [
    new Uint8Array([0, 255, 7]),
    'héllo 😀 字 e\u0301',
    2 ** 53,
    -(2 ** 31),
    1.25,
    { nested: { list: [null, true, { deep: 'x' }] } },
  ];
  const kwargs = { bytes: new Uint8Array([1, 0, 2]), big: 9007199254740991 };
  for (const a of [json, msgpack, cbor]) {
    for (const b of [json, msgpack, cbor]) {
      const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
      const callee = new MemoryClient(router, b);
      const caller = new MemoryClient(router, a);
      callee.join();
      caller.join();
      register(callee, 'com.app.echo');
      caller.send([48, 1, {}, 'com.app.echo', payload, kwargs]);
      const [inv] = callee.take();
      t.deepEqual(normalise(inv!.slice(4)), normalise([payload, kwargs]), `${a.name} -> ${b.name}`);
      callee.send([70, inv![1], {}, inv![4], inv![5]]);
      const [result] = caller.take();
      t.deepEqual(normalise(result!.slice(3)), normalise([payload, kwargs]), `${b.name} -> ${a.name}`);
    }
  }
});

// Buffers and Uint8Arrays with the same bytes are the same WAMP value.
function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}
