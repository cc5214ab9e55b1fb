// Payload passthrough (src/serializers/frame-head.ts, payload-span.ts, src/wamp/raw-payload.ts):
// the scanners find the exact bytes of Arguments/ArgumentsKw in frames laid out in every way the
// formats allow, a spliced message decodes to the same value as one encoded from scratch, and a
// CALL's or YIELD's head decodes to the elements before the payload, whose values are decoded
// only when read.

import test from 'ava';
import { Encoder } from 'cbor-x';
import { Packr } from 'msgpackr';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import type { Peer } from '../../src/router/peer.ts';
import { Router } from '../../src/router/router.ts';
import type { Message } from '../../src/wamp/messages.ts';
import { MIN_FRAME, RawPayload, rawPayloadOf, receivedPayloadOf } from '../../src/wamp/raw-payload.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const all: readonly Serializer[] = [json, msgpack, cbor];

/** A deterministic pseudo-random source, so a failure names its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const STRINGS = [
  '',
  'a',
  'quote " inside',
  'back\\slash',
  'brackets ] } [ {',
  'comma, here',
  'ünïcødé ✓ 😀',
  '\u0001 control',
  'x'.repeat(300),
];

function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return Math.floor(r() * 2 ** 31) - 2 ** 30;
    case 1:
      return Math.floor(r() * 2 ** 53); // wide integers (64-bit in CBOR/MsgPack)
    case 2:
      return r() * 1e6 - 5e5; // floats
    case 3:
      return STRINGS[Math.floor(r() * STRINGS.length)];
    case 4:
      return r() < 0.5 ? null : r() < 0.5;
    case 5:
      return -Math.floor(r() * 300);
    case 6:
      return Array.from({ length: Math.floor(r() * 20) }, () => randomValue(r, depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 20) }, (_, i) => [
          `k${i}${STRINGS[i % STRINGS.length]}`,
          randomValue(r, depth + 1),
        ]),
      );
    default:
      return Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256));
  }
}

function normalise(v: unknown): unknown {
  // Decoders differ on the class of binary values; compare bytes.
  return JSON.parse(
    JSON.stringify(v, function (this: Record<string, unknown>, k: string, x: unknown) {
      const original = this[k];
      return original instanceof Uint8Array ? { bin: Buffer.from(original).toString('hex') } : x;
    }),
  );
}

for (const s of all) {
  test(`${s.name}: CALL -> INVOCATION by splicing equals encoding the values (500 random payloads)`, (t) => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const args = Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, 1));
      const withKw = r() < 0.5;
      const kwargs = { a: randomValue(r, 1), 'b.c': randomValue(r, 1) };
      const call = [
        48,
        1 + Math.floor(r() * 2 ** 53),
        r() < 0.5 ? {} : { disclose_me: true },
        'com.example.proc',
        args,
        ...(withKw ? [kwargs] : []),
      ];
      const frame = s.encode(call);
      const raw = rawPayloadOf(s, frame);
      // An empty payload is left out of the forwarded message rather than passed through.
      if (args.length === 0 && !withKw) {
        t.is(raw, undefined, `seed ${seed}`);
        continue;
      }
      t.true(raw instanceof RawPayload, `seed ${seed}`);
      t.true(raw!.deferred);
      t.deepEqual(normalise(raw!.decodeHead()), normalise(call.slice(0, 4)), `seed ${seed}`);
      t.deepEqual(normalise(raw!.args), normalise(args), `seed ${seed}`);
      if (withKw) t.deepEqual(normalise(raw!.kwargs), normalise(kwargs), `seed ${seed}`);
      else t.is(raw!.kwargs, undefined, `seed ${seed}`);
      const head = [68, 7, 2 ** 53, { caller: 42 }];
      const spliced = raw!.encode(head);
      t.not(spliced, null, `seed ${seed}`);
      t.deepEqual(
        normalise(s.decode(spliced!)),
        normalise([...head, args, ...(withKw ? [kwargs] : [])]),
        `seed ${seed}`,
      );
    }
  });

  test(`${s.name}: a frame without a payload or with only empty ones has none to pass through`, (t) => {
    const frame = s.encode([48, 1, {}, 'com.example.proc']);
    t.is(rawPayloadOf(s, frame), undefined);
    for (const empty of [
      [48, 1, {}, 'p', []],
      [48, 1, {}, 'p', [1], {}],
      [70, 1, {}, [], {}],
    ]) {
      const f = s.encode(empty);
      t.is(rawPayloadOf(s, f), undefined, JSON.stringify(empty));
    }
    const subscribe = s.encode([32, 1, {}, 'com.example.topic']);
    t.is(rawPayloadOf(s, subscribe), undefined);
    const tooMany = s.encode([48, 1, {}, 'p', [1], { a: 1 }, 'extra']);
    t.is(rawPayloadOf(s, tooMany), undefined, 'an extra element: decoded whole, and refused by parseMessage');
  });
}

test('the decoders refuse bytes after the message, which the spans rely on', (t) => {
  for (const s of [msgpack, cbor]) {
    const frame = Buffer.concat([Buffer.from(s.encode([48, 1, {}, 'p', [1]])), Buffer.from([0x01])]);
    t.throws(() => s.decode(frame), undefined, s.name);
    const wide = Buffer.concat([Buffer.from(s.encode([48, 1, {}, 'p', [2 ** 60]])), Buffer.from([0x01])]);
    t.throws(() => s.decode(wide), undefined, `${s.name}, 64-bit path`);
  }
  t.throws(() => json.decode(Buffer.from('[48,1,{},"p",[1]] 1')));
});

// Layouts the router's own encoders never write, but peers may.

test('json: whitespace, escapes and nesting anywhere; the tail is exactly the payload text', (t) => {
  const text =
    ' \n[ 48 ,\t1, { "x" : [1, {"y": "]"}] } , "com.p\\"q" ,\r\n [ "a,b", {"c": "\\\\"}, [ ] ] , { "k" : "}" } \n] ';
  const frame = Buffer.from(text);
  // A leading space: not split (decoded whole); the same frame without it is.
  t.is(rawPayloadOf(json, frame), undefined);
  const trimmed = Buffer.from(text.trimStart());
  const raw = rawPayloadOf(json, trimmed)!;
  t.deepEqual(raw.decodeHead(), [48, 1, { x: [1, { y: ']' }] }, 'com.p"q']);
  const spliced = raw.encode([68, 5, 6, {}])!;
  t.true(Buffer.from(spliced).toString().endsWith(',[ "a,b", {"c": "\\\\"}, [ ] ] , { "k" : "}" }]'));
  t.deepEqual(JSON.parse(Buffer.from(spliced).toString()), [68, 5, 6, {}, ['a,b', { c: '\\' }, []], { k: '}' }]);
});

test('json: binary strings and integers beyond 2^53 reach a JSON peer as they were written', (t) => {
  const text = '[70,9,{},["\\u0000AQID",9007199254740993]]';
  const frame = Buffer.from(text);
  const raw = rawPayloadOf(json, frame)!;
  t.deepEqual(raw.args, [Buffer.from([1, 2, 3]), 9007199254740993n]);
  const spliced = raw.encode([50, 3, {}])!;
  t.is(Buffer.from(spliced).toString(), '[50,3,{},["\\u0000AQID",9007199254740993]]');
});

test('json: a byte-order mark or a cut-off frame gives no payload (the router decodes the frame whole)', (t) => {
  t.is(rawPayloadOf(json, Buffer.from('\ufeff[48,1,{},"p",[1]]')), undefined);
  t.is(rawPayloadOf(json, Buffer.from('[48,1,{},"p",[1')), undefined);
  t.is(rawPayloadOf(json, Buffer.from('[48,1,{},"p"')), undefined);
  t.is(rawPayloadOf(json, Buffer.from('{"a":1}')), undefined);
});

test('cbor: indefinite lengths, tags and undefined are not passed through; the frame is decoded whole', (t) => {
  // [_ 48, 1, {}, "p", [_ "ab", 1.5, tag 1(0), true, undefined, h'0102'], {_ "k": [_ 1 ]}]
  const frame = Uint8Array.from([
    0x9f, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x9f, 0x62, 0x61, 0x62, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc1, 0x00,
    0xf5, 0xf7, 0x42, 1, 2, 0xff, 0xbf, 0x61, 0x6b, 0x9f, 0x01, 0xff, 0xff, 0xff,
  ]);
  t.is((cbor.decode(frame) as unknown[]).length, 6);
  t.is(rawPayloadOf(cbor, frame), undefined);
  // The same payload in a definite-length frame: the tag and undefined still keep it out.
  const definite = Uint8Array.from([0x86, ...frame.subarray(1, frame.length - 1)]);
  t.is(rawPayloadOf(cbor, definite), undefined);
  for (const item of [[0xc1, 0x00], [0xf7], [0x5f, 0x41, 0x61, 0xff], [0xf0]]) {
    const f = Uint8Array.from([0x85, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x81, ...item]);
    t.is(rawPayloadOf(cbor, f), undefined, Buffer.from(item).toString('hex'));
  }
});

test('cbor: integers written wider than needed pass through unchanged', (t) => {
  // 1 as an 8-octet integer; a re-encoding would shorten it.
  const frame = Uint8Array.from([0x84, 0x18, 70, 0x01, 0xa0, 0x81, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]);
  const raw = rawPayloadOf(cbor, frame)!;
  t.deepEqual(raw.args, [1]);
  const spliced = raw.encode([50, 2, {}])!;
  t.deepEqual([...spliced], [0x84, 0x18, 50, 0x02, 0xa0, 0x81, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('cbor and msgpack: a head cut short, an unused octet or a frame that is no short list give no payload', (t) => {
  for (const f of [
    [0x85, 0x18, 48, 0x01, 0xa0, 0x62, 0x70], // procedure cut short
    [0x85, 0x18, 48, 0x01, 0xa0, 0x61, 0x70], // no payload
    [0x85, 0x18, 48, 0x01, 0xbc, 0x61, 0x70, 0x80], // reserved additional info
    [0x9f, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x80], // indefinite, no break
    [0x98, 0x05, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x81, 0x01], // a two-octet list head
    [0xa1, 0x01, 0x02],
    [0x84, 0x18, 70, 0x01, 0xa0], // index past the list
    [0x85, 0xf9, 0x52, 0x00, 0x01, 0xa0, 0x61, 0x70, 0x81, 0x01], // the type code as a float
  ])
    t.is(rawPayloadOf(cbor, Uint8Array.from(f)), undefined, Buffer.from(f).toString('hex'));
  for (const f of [
    [0x95, 48, 0x01, 0x80, 0xa2, 0x70],
    [0x95, 48, 0x01, 0xc1, 0xa1, 0x70, 0x90],
    [0x94, 48, 0x01, 0x80, 0xa1, 0x70],
    [0x81, 0x01, 0x02],
    [0xdc, 0x00, 0x05, 48, 0x01, 0x80, 0xa1, 0x70, 0x91, 0x01], // a 16-bit list head
  ])
    t.is(rawPayloadOf(msgpack, Uint8Array.from(f)), undefined, Buffer.from(f).toString('hex'));
});

test('msgpack: 16-bit list and map heads and every integer width inside the payload; ext types are not passed through', (t) => {
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const args = [2 ** 40, -(2 ** 40), 255, -100, 65_535, 2 ** 63, Array.from({ length: 20 }, (_, i) => i), 1.5];
  const kwargs = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1.5]));
  const frame = packr.pack([16, 3, {}, 'com.topic', args, kwargs]);
  const raw = rawPayloadOf(msgpack, frame)!;
  t.false(raw.deferred, 'PUBLISH is decoded whole');
  const decoded = msgpack.decode(frame) as unknown[];
  t.is(raw.attach({ type: 16, request: 3, options: {}, topic: 'com.topic' }, decoded).type, 16);
  t.deepEqual(raw.kwargs, kwargs);
  const spliced = raw.encode([36, 4, 5, {}])!;
  t.deepEqual(normalise(msgpack.decode(spliced)), normalise([36, 4, 5, {}, decoded[4], decoded[5]]));
  const withDate = packr.pack([16, 3, {}, 'com.topic', [new Date(0)]]);
  t.is(rawPayloadOf(msgpack, withDate), undefined);
});

test('a CBOR frame from another encoder, with records and tags disabled as peers send them', (t) => {
  const other = new Encoder({
    useRecords: false,
    mapsAsObjects: true,
    tagUint8Array: false,
    pack: false,
  } as ConstructorParameters<typeof Encoder>[0]);
  const frame = other.encode([8, 68, 12, {}, 'com.error', ['why', new Uint8Array([1, 2])], { code: 7 }]);
  const raw = rawPayloadOf(cbor, frame)!;
  raw.attach({ type: 8, requestType: 68, request: 12, details: {}, error: 'com.error' }, cbor.decode(frame));
  const spliced = raw.encode([8, 48, 99, {}, 'com.error'])!;
  t.deepEqual(
    normalise(cbor.decode(spliced)),
    normalise([8, 48, 99, {}, 'com.error', ['why', new Uint8Array([1, 2])], { code: 7 }]),
  );
});

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
