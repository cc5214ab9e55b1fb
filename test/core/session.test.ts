import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack } from '../../src/serializers/index.ts';
import type { Peer } from '../../src/router/peer.ts';
import { MessageType as T, type Dict, type Message } from '../../src/wamp/messages.ts';
import { MemoryClient, shape } from '../helpers/memory-peer.ts';

const router = () => new Router({ realms: [{ uri: 'realm1', anonymous: true }] });

test('HELLO gets WELCOME announcing roles and identity', (t) => {
  const c = new MemoryClient(router());
  c.send([1, 'realm1', { roles: { caller: {} } }]);
  const [welcome] = c.take();
  t.is(welcome![0], 2);
  t.true(Number.isInteger(welcome![1]) && (welcome![1] as number) >= 1 && (welcome![1] as number) <= 2 ** 53);
  const details = welcome![2] as Record<string, unknown>;
  t.is(details.authrole, 'anonymous');
  t.is(details.authmethod, 'anonymous');
  t.deepEqual(Object.keys(details.roles as object).sort(), ['broker', 'dealer']);
});

test('unknown realm is ABORTed with no_such_realm', (t) => {
  const c = new MemoryClient(router());
  c.send([1, 'nope', { roles: { caller: {} } }]);
  t.deepEqual(shape(c.take()[0]), [3, '{}', 'wamp.error.no_such_realm']);
  t.true(c.closed);
});

for (const [name, frame] of [
  ['CALL before HELLO', [48, 1, {}, 'com.x']],
  ['unknown message type', [1234, 1]],
  ['wrong field type', [1, 42, {}]],
  ['HELLO without roles', [1, 'realm1', {}]],
] as const) {
  test(`${name} is a protocol violation`, (t) => {
    const c = new MemoryClient(router());
    c.send(frame as unknown as unknown[]);
    const [abort] = c.take();
    t.is(abort![0], 3);
    t.is(abort![2], 'wamp.error.protocol_violation');
    t.is(typeof (abort![1] as { message: unknown }).message, 'string');
    t.true(c.closed);
  });
}

test('HELLO twice is a protocol violation', (t) => {
  const c = new MemoryClient(router());
  c.join();
  c.send([1, 'realm1', { roles: { caller: {} } }]);
  t.deepEqual(shape(c.take()[0]), [3, '{}', 'wamp.error.protocol_violation']);
  t.true(c.closed);
  t.is(c.closeReason, 'normal', 'the ABORT says why; the transport closes normally');
});

test('IDs out of range and bad arity are protocol violations', (t) => {
  for (const bad of [
    [48, 0, {}, 'a.b'],
    [48, 2 ** 53 + 2, {}, 'a.b'],
    [48, 1.5, {}, 'a.b'],
    [48, 1, {}, 'a.b', [], {}, 'extra'],
    [48, 1, {}, 'a.b', {}],
    [48, 1, {}, 'a.b', [], []],
  ]) {
    const c = new MemoryClient(router());
    c.join();
    c.send(bad);
    t.deepEqual(shape(c.take()[0]), [3, '{}', 'wamp.error.protocol_violation'], JSON.stringify(bad));
  }
});

test('invalid JSON, MsgPack and CBOR frames are protocol violations', (t) => {
  for (const [s, frame] of [
    [json, Buffer.from('[1, "realm1"')],
    [msgpack, Buffer.from([0xc1])],
    [cbor, Buffer.from([0x9f, 0x01])],
  ] as const) {
    const c = new MemoryClient(router(), s);
    c.sendRaw(frame);
    t.deepEqual(shape(c.take()[0]), [3, '{}', 'wamp.error.protocol_violation'], s.name);
    t.true(c.closed);
  }
});

test('deeply nested input does not throw out of the core', (t) => {
  const r = router();
  const depth = 100_000;
  const deepJson = Buffer.from(`[48, 1, {}, "com.x", [${'['.repeat(depth)}${']'.repeat(depth)}]]`);
  const c = new MemoryClient(r);
  c.join();
  t.notThrows(() => c.sendRaw(deepJson));
  // No callee: the call is answered, whatever the depth.
  t.like(c.take()[0], [8, 48, 1, {}, 'wamp.error.no_such_procedure']);
  const m = new MemoryClient(r, msgpack);
  t.notThrows(() => m.sendRaw(Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x90])])));
  t.deepEqual(shape(m.take()[0]), [3, '{}', 'wamp.error.protocol_violation']);
});

test('GOODBYE is answered with goodbye_and_out and closes', (t) => {
  const c = new MemoryClient(router());
  c.join();
  c.send([6, {}, 'wamp.close.close_realm']);
  t.deepEqual(c.take(), [[6, {}, 'wamp.close.goodbye_and_out']]);
  t.true(c.closed);
  t.is(c.closeReason, 'normal');
});

test('shutdown sends GOODBYE system_shutdown to every session', (t) => {
  const r = router();
  const a = new MemoryClient(r);
  const b = new MemoryClient(r);
  a.join();
  b.join();
  r.shutdown();
  for (const c of [a, b]) t.deepEqual(shape(c.take()[0]), [6, '{}', 'wamp.close.system_shutdown']);
  a.send([6, {}, 'wamp.close.goodbye_and_out']);
  t.true(a.closed);
});

test('no HELLO within the timeout closes the transport', (t) => {
  let now = 0;
  const r = new Router({
    realms: [{ uri: 'realm1', anonymous: true }],
    now: () => now,
    limits: { helloTimeoutMs: 1000 },
  });
  const c = new MemoryClient(r);
  r.tick(999);
  t.false(c.closed);
  now = 1000;
  r.tick(1000);
  t.true(c.closed);
  t.is(r.sessionCount, 0);
});

test('nothing follows ABORT or GOODBYE, not even the cancellation of a call to its own procedure', (t) => {
  // Regression (found by test/hostile/fuzz-*.test.ts): leaving the realm cancelled the session's
  // call to itself and sent it ERROR canceled after its ABORT / GOODBYE.
  for (const [name, last, expected] of [
    ['ABORT', [48, 0, {}, 'com.x'], 3],
    ['GOODBYE', [6, {}, 'wamp.close.close_realm'], 6],
  ] as const) {
    const c = new MemoryClient(router());
    c.join();
    c.send([64, 1, {}, 'com.self']);
    c.send([48, 2, {}, 'com.self', ['me']]);
    t.deepEqual(
      c.take().map((m) => m[0]),
      [65, 68],
      name,
    );
    c.send([...last]);
    t.deepEqual(
      c.take().map((m) => m[0]),
      [expected],
      `${name}: only the ${name}`,
    );
    t.true(c.closed);
  }
});

test('a session closed while its WELCOME is sent (slow consumer) does not stay in the realm', (t) => {
  // Regression (found by test/hostile/fuzz-*.test.ts): the realm took in the closed session.
  const r = router();
  const c = new MemoryClient(r);
  c.buffered = 17 << 20; // over the outbound hard limit (16 MiB)
  c.send([1, 'realm1', { roles: { caller: {} } }]);
  t.true(c.closed);
  t.is(c.closeReason, 'slow_consumer');
  t.is(r.sessionCount, 0);
  t.is(r.realms.get('realm1')!.sessions.size, 0);
});

/** A CBOR session registered for com.echo, its REGISTERED taken. */
function echoCallee(r: Router): MemoryClient {
  const callee = new MemoryClient(r, cbor);
  callee.join();
  callee.send([64, 1, {}, 'com.echo']);
  callee.take();
  return callee;
}

test('an in-process peer exchanges messages unencoded, validated and flow-controlled as frames are', (t) => {
  const r = router();
  const got: Message[] = [];
  let buffered = 0;
  let closed: string | undefined;
  const peer: Peer = {
    serializer: msgpack,
    info: { type: 'memory', peer: 'in-process', local: true },
    send: () => t.fail('no frame for a peer that takes messages'),
    sendMessage: (m) => got.push(m),
    bufferedAmount: () => buffered,
    close: (reason = 'normal') => {
      closed = reason;
    },
  };
  const handler = r.attach(peer);
  const callee = echoCallee(r);
  handler.receiveMessage!({ type: T.HELLO, realm: 'realm1', details: { roles: { caller: {} } } });
  t.is(got.shift()?.type, T.WELCOME);
  const args = [{ big: new Uint8Array([1, 2, 3]) }];
  handler.receiveMessage!({ type: T.CALL, request: 7, options: {}, procedure: 'com.echo', args });
  const [invocation] = callee.take();
  const sent = (invocation![4] as { big: Uint8Array }[])[0]!.big;
  t.deepEqual([...sent], [1, 2, 3], 'the callee gets the values, binary in its own serialization');
  callee.send([70, invocation![1], {}, ['back']]);
  const result = got.shift();
  t.like(result, { type: T.RESULT, request: 7, args: ['back'] });
  // Over the hard limit, the core closes it as a slow consumer, as it would a socket.
  buffered = 64 << 20;
  handler.receiveMessage!({ type: T.CALL, request: 8, options: {}, procedure: 'com.echo' });
  callee.send([70, (callee.take()[0] as unknown[])[1], {}, ['late']]);
  t.is(closed, 'slow_consumer');
  // What parseMessage refuses in a frame, it refuses unencoded: ABORT, protocol violation.
  buffered = 0;
  const other = r.attach({ ...peer, close: () => undefined });
  other.receiveMessage!({ type: T.HELLO, realm: 'realm1', details: { roles: { caller: {} } } });
  t.is(got.splice(0).at(-1)?.type, T.WELCOME);
  other.receiveMessage!({ type: T.CALL, request: 9, options: [] as unknown as Dict, procedure: 'com.echo' });
  t.like(got[0], { type: T.ABORT, reason: 'wamp.error.protocol_violation' });
});

test('an in-process CALL reaches its callee as the same CALL sent as a frame does, in every payload form', (t) => {
  const r = router();
  const got: Message[] = [];
  const handler = r.attach({
    serializer: msgpack,
    info: { type: 'memory', peer: 'in-process', local: true },
    send: () => t.fail('no frame for a peer that takes messages'),
    sendMessage: (m) => got.push(m),
    bufferedAmount: () => 0,
    close: () => undefined,
  });
  const framed = new MemoryClient(r, cbor);
  framed.join();
  const callee = echoCallee(r);
  handler.receiveMessage!({ type: T.HELLO, realm: 'realm1', details: { roles: { caller: {} } } });
  t.is(got.shift()?.type, T.WELCOME);
  // args/kwargs as an in-process peer may give them, and the frame with the same content.
  const forms: [{ args?: unknown[] | undefined; kwargs?: Dict | undefined }, unknown[]][] = [
    [{}, []],
    [{ args: undefined, kwargs: undefined }, []],
    [{ args: [] }, [[]]],
    [{ args: ['a', 1] }, [['a', 1]]],
    [{ args: [], kwargs: { k: 1 } }, [[], { k: 1 }]],
    [{ args: ['a'], kwargs: {} }, [['a'], {}]],
  ];
  let request = 1;
  for (const [payload, tail] of forms) {
    handler.receiveMessage!({ type: T.CALL, request: request++, options: {}, procedure: 'com.echo', ...payload });
    framed.send([48, request++, {}, 'com.echo', ...tail]);
    const [inProcess, fromFrame] = callee.take();
    t.deepEqual(inProcess!.slice(2), fromFrame!.slice(2), JSON.stringify(payload));
  }
  // Malformed in place, as in a frame: ABORT.
  handler.receiveMessage!({ type: T.CALL, request: 99, options: {}, procedure: 'com.echo', args: 'x' as never });
  t.like(got.at(-1), { type: T.ABORT, reason: 'wamp.error.protocol_violation' });
});
