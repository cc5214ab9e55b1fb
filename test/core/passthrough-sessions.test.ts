// Payload passthrough through the router: CALL and YIELD between peers of one serialization
// are decoded only as far as their heads, small frames included, and malformed payloads are
// refused rather than passed on.

import test from 'ava';
import { cbor, json, type Serializer } from '../../src/serializers/index.ts';
import type { Peer } from '../../src/router/peer.ts';
import { Router } from '../../src/router/router.ts';
import type { Message } from '../../src/wamp/messages.ts';
import { MIN_FRAME, receivedPayloadOf } from '../../src/wamp/raw-payload.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

test('through a session: CALL and YIELD between peers of one serialization are never decoded past their heads', (t) => {
  // A CBOR serializer that records every frame decoded with it.
  const decoded: Uint8Array[] = [];
  let counting = false;
  const watched: Serializer = {
    ...cbor,
    decode(frame) {
      if (counting) decoded.push(frame);
      return cbor.decode(frame);
    },
  };
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const callee = new MemoryClient(router, watched);
  const caller = new MemoryClient(router, watched);
  const jsonCallee = new MemoryClient(router, json);
  callee.join();
  caller.join();
  jsonCallee.join();
  callee.send([64, 1, {}, 'com.example.same']);
  jsonCallee.send([64, 1, {}, 'com.example.other']);
  callee.take();
  jsonCallee.take();
  const args = ['x'.repeat(500), 2 ** 40, { nested: [1.5, null, true] }];
  const kwargs = { unit: '°C' };
  const call = cbor.encode([48, 7, {}, 'com.example.same', args, kwargs]);

  counting = true;
  caller.sendRaw(call);
  counting = false;
  // Decoded: only the INVOCATION (by the memory peer), never the CALL: the split reads the CALL's
  // head itself (cbor-read.ts) and only checks the payload's bytes.
  t.is(decoded.length, 1);
  t.false(decoded.includes(call));
  const invocation = callee.frames[0]!;
  t.deepEqual(Buffer.from(invocation.subarray(invocation.length - (call.length - 22))), Buffer.from(call.subarray(22)));
  const request = callee.take()[0]![1] as number;

  decoded.length = 0;
  counting = true;
  const yielded = cbor.encode([70, request, {}, ['y'.repeat(200)]]);
  callee.sendRaw(yielded);
  counting = false;
  t.is(decoded.length, 1);
  t.false(decoded.includes(yielded));
  t.deepEqual(caller.take(), [[50, 7, {}, ['y'.repeat(200)]]]);

  // A callee of another serialization gets the values, decoded when its INVOCATION is encoded.
  decoded.length = 0;
  counting = true;
  const other = cbor.encode([48, 8, {}, 'com.example.other', args, kwargs]);
  caller.sendRaw(other);
  counting = false;
  t.is(decoded.length, 1, 'the whole frame for the JSON callee');
  t.is(decoded[0], other);
  const [inv] = jsonCallee.take();
  t.deepEqual(inv!.slice(4), [['x'.repeat(500), 2 ** 40, { nested: [1.5, null, true] }], kwargs]);
});

test('cbor: a small CALL and YIELD are passed through as well, and invalid UTF-8 in them is refused as in large ones', (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const callee = new MemoryClient(router, cbor);
  const caller = new MemoryClient(router, cbor);
  callee.join();
  caller.join();
  callee.send([64, 1, {}, 'p']);
  callee.take();
  // A 64-bit request ID, read by the one-pass split as the number it is.
  const call = cbor.encode([48, 2 ** 40, {}, 'p', ['x', -1.5], { k: null }]);
  t.true(call.length < MIN_FRAME);
  caller.sendRaw(call);
  const payload = Buffer.from(cbor.encode([['x', -1.5], { k: null }])).subarray(1);
  t.true(Buffer.from(callee.frames[0]!).subarray(-payload.length).equals(payload), 'the payload octets as they came');
  const [invocation] = callee.take();
  t.deepEqual(invocation!.slice(4), [['x', -1.5], { k: null }]);
  callee.sendRaw(cbor.encode([70, invocation![1], {}, ['y']]));
  t.deepEqual(caller.take(), [[50, 2 ** 40, {}, ['y']]]);

  // A lone surrogate in UTF-8 (ED A0 80): cbor-x would have made it U+FFFD and forwarded it.
  const bad = Buffer.from(cbor.encode([48, 3, {}, 'p', ['abc']]));
  bad.set([0xed, 0xa0, 0x80], bad.length - 3);
  caller.sendRaw(bad);
  t.deepEqual(callee.take(), []);
  const abort = caller.take().find((m) => m[0] === 3);
  t.is(abort?.[2], 'wamp.error.protocol_violation');
  t.regex(String((abort?.[1] as { message?: string } | undefined)?.message), /not valid UTF-8/);
});

test('json: a small compact CALL and YIELD are passed through as text; anything else is decoded whole as before', (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const callee = new MemoryClient(router, json);
  const caller = new MemoryClient(router, json);
  callee.join();
  caller.join();
  callee.send([64, 1, {}, 'p']);
  callee.take();
  // 2^53 + 1 in the payload: forwarded as written, where parsing and writing it would need the exact path.
  const call = '[48,1099511627776,{"timeout":1500},"p",[9007199254740993,"x"],{"k":null}]';
  t.true(call.length < MIN_FRAME);
  const raw = receivedPayloadOf(json, Buffer.from(call));
  t.deepEqual(raw?.decodeHead(), [48, 2 ** 40, { timeout: 1500 }, 'p'], 'split in one pass, the payload not parsed');
  caller.sendRaw(Buffer.from(call));
  const invocation = Buffer.from(callee.frames[0]!).toString();
  t.true(invocation.endsWith(',[9007199254740993,"x"],{"k":null}]'), invocation);
  const [inv] = callee.take();
  t.deepEqual(inv!.slice(4), [[9007199254740993n, 'x'], { k: null }]);
  callee.sendRaw(Buffer.from(`[70,${inv![1]},{},["y"]]`));
  t.deepEqual(caller.take(), [[50, 2 ** 40, {}, ['y']]]);

  // Escapes, whitespace and request IDs from 2^53 are read by JSON.parse, as before.
  for (const text of ['[48,2,{},"\\u0070",["z"]]', '[48, 3, {}, "p", ["z"]]', '[48,9007199254740992,{},"p",["z"]]']) {
    caller.sendRaw(Buffer.from(text));
    const [call2] = callee.take();
    t.deepEqual(call2!.slice(4), [['z']], text);
    callee.sendRaw(Buffer.from(`[70,${call2![1]},{},["y"]]`));
    t.deepEqual((caller.take()[0] as unknown[]).slice(3), [['y']], text);
  }
  // The largest IDs read exactly (each digit added before the sum passes 2^53).
  t.is(
    (receivedPayloadOf(json, Buffer.from('[48,9007199254740985,{},"p",["z"]]'))!.decodeHead() as unknown[])[1],
    2 ** 53 - 7,
  );
  // 2^53 + 1 as a request ID is still a protocol violation (not rounded to 2^53).
  caller.sendRaw(Buffer.from('[48,9007199254740993,{},"p",["z"]]'));
  t.is(caller.take().find((m) => m[0] === 3)?.[2], 'wamp.error.protocol_violation');
});

test('an in-process caller gets a passed-through RESULT with its values, and a malformed YIELD never reaches it', (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const got: Message[] = [];
  const peer: Peer = {
    serializer: json,
    info: { type: 'memory', peer: 'in-process', local: true },
    send: () => undefined,
    bufferedAmount: () => 0,
    close: () => undefined,
    sendMessage: (m) => {
      got.push(m);
    },
  };
  const caller = router.attach(peer);
  caller.receiveMessage!({ type: 1, realm: 'realm1', details: { roles: { caller: {} } } });
  const callee = new MemoryClient(router, cbor);
  callee.join();
  callee.send([64, 1, {}, 'com.example.proc']);
  callee.take();
  caller.receiveMessage!({ type: 48, request: 5, options: {}, procedure: 'com.example.proc', args: ['x'] });
  const [inv] = callee.take();
  const args = ['y'.repeat(200), { n: 2 ** 40, list: [1.5, null] }];
  callee.sendRaw(cbor.encode([70, inv![1], {}, args, { unit: '°C' }]));
  const result = got.find((m) => m.type === 50) as { args?: unknown[]; kwargs?: Record<string, unknown> } | undefined;
  t.deepEqual(result?.args, args);
  t.deepEqual(result?.kwargs, { unit: '°C' });

  // A YIELD with a string of invalid UTF-8: the callee is aborted, the caller gets an ERROR.
  caller.receiveMessage!({ type: 48, request: 6, options: {}, procedure: 'com.example.proc', args: ['x'] });
  const [inv2] = callee.take();
  const bad = Buffer.from(cbor.encode([70, inv2![1], {}, ['z'.repeat(200), 'MM']]));
  bad.set([0xc0, 0xaf], bad.lastIndexOf(Buffer.from('MM')));
  callee.sendRaw(bad);
  t.is(callee.take().find((m) => m[0] === 3)?.[2], 'wamp.error.protocol_violation');
  const answers = got.filter((m) => (m.type === 50 || m.type === 8) && m.request === 6);
  t.deepEqual(
    answers.map((m) => m.type),
    [8],
  );
});
