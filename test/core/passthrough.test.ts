// Payload passthrough (src/serializers/payload-span.ts, raw-payload.ts): the scanners find the
// exact bytes of Arguments/ArgumentsKw in frames laid out in every way the formats allow, and a
// spliced message decodes to the same value as one encoded from scratch.

import test from 'ava';
import { Encoder } from 'cbor-x';
import { Packr } from 'msgpackr';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { RawPayload, rawPayloadOf } from '../../src/wamp/raw-payload.ts';

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
      const raw = rawPayloadOf(s, frame, s.decode(frame) as unknown[]);
      // An empty payload is left out of the forwarded message rather than passed through, and
      // a small one is cheaper to re-encode.
      if ((args.length === 0 && !withKw) || frame.length < 96) {
        t.is(raw, undefined, `seed ${seed}`);
        continue;
      }
      t.true(raw instanceof RawPayload, `seed ${seed}`);
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

  test(`${s.name}: a frame without a payload, with only empty ones or a small one has none to pass through`, (t) => {
    const frame = s.encode([48, 1, {}, 'com.example.proc']);
    t.is(rawPayloadOf(s, frame, s.decode(frame) as unknown[]), undefined);
    for (const empty of [
      [48, 1, {}, 'p', []],
      [48, 1, {}, 'p', [1], {}],
      [70, 1, {}, [], {}],
    ]) {
      const f = s.encode(empty);
      t.is(rawPayloadOf(s, f, s.decode(f) as unknown[]), undefined, JSON.stringify(empty));
    }
    const small = s.encode([48, 1, {}, 'p', ['a few octets']]);
    t.is(rawPayloadOf(s, small, s.decode(small) as unknown[]), undefined, 'small');
    const subscribe = s.encode([32, 1, {}, 'com.example.topic']);
    t.is(rawPayloadOf(s, subscribe, s.decode(subscribe) as unknown[]), undefined);
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
  const span = json.span!(frame, 4)!;
  t.is(frame.subarray(span.start, span.end).toString(), '[ "a,b", {"c": "\\\\"}, [ ] ] , { "k" : "}" }');
  const spliced = new RawPayload(json, frame, 4, 2).encode([68, 5, 6, {}])!;
  t.deepEqual(JSON.parse(Buffer.from(spliced).toString()), [68, 5, 6, {}, ['a,b', { c: '\\' }, []], { k: '}' }]);
});

test('json: binary strings and integers beyond 2^53 reach a JSON peer as they were written', (t) => {
  const text = '[70,9,{},["\\u0000AQID",9007199254740993]]';
  const frame = Buffer.from(text);
  const spliced = new RawPayload(json, frame, 3, 1).encode([50, 3, {}])!;
  t.is(Buffer.from(spliced).toString(), '[50,3,{},["\\u0000AQID",9007199254740993]]');
});

test('json: a byte-order mark or a cut-off frame gives no span (the router re-encodes)', (t) => {
  t.is(json.span!(Buffer.from('\ufeff[48,1,{},"p",[1]]'), 4), null);
  t.is(json.span!(Buffer.from('[48,1,{},"p",[1'), 4), null);
  t.is(json.span!(Buffer.from('[48,1,{},"p"'), 4), null);
  t.is(json.span!(Buffer.from('{"a":1}'), 0), null);
});

test('cbor: indefinite-length arrays and maps, tags, floats and simple values', (t) => {
  // [_ 48, 1, {}, "p", [_ "ab", 1.5, tag 1(0), true, undefined, h'0102'], {_ "k": [_ 1 ]}]: an
  // indefinite-length top-level array (cbor-x refuses chunked strings, so the router never sees them).
  const frame = Uint8Array.from([
    0x9f, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x9f, 0x62, 0x61, 0x62, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc1, 0x00,
    0xf5, 0xf7, 0x42, 1, 2, 0xff, 0xbf, 0x61, 0x6b, 0x9f, 0x01, 0xff, 0xff, 0xff,
  ]);
  const decoded = cbor.decode(frame) as unknown[];
  t.is(decoded.length, 6);
  const span = cbor.span!(frame, 4)!;
  t.deepEqual([span.start, span.end], [7, frame.length - 1]);
  const spliced = new RawPayload(cbor, frame, 4, 2).encode([68, 5, 6, {}])!;
  t.deepEqual(normalise(cbor.decode(spliced)), normalise([68, 5, 6, {}, decoded[4], decoded[5]]));
  // The callee gets the caller's own encoding of the payload, byte for byte.
  t.deepEqual(
    Buffer.from(spliced.subarray(spliced.length - (frame.length - 1 - 7))),
    Buffer.from(frame.subarray(7, frame.length - 1)),
  );
});

test('cbor: integers written wider than needed pass through unchanged', (t) => {
  // 1 as an 8-octet integer; a re-encoding would shorten it.
  const frame = Uint8Array.from([0x84, 0x18, 70, 0x01, 0xa0, 0x81, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]);
  const spliced = new RawPayload(cbor, frame, 3, 1).encode([50, 2, {}])!;
  t.deepEqual([...spliced], [0x84, 0x18, 50, 0x02, 0xa0, 0x81, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('cbor and msgpack: a head cut short, an unused octet or a frame that is no array give no span', (t) => {
  t.is(cbor.span!(Uint8Array.from([0x85, 0x18, 48, 0x01, 0xa0, 0x62, 0x70]), 4), null); // procedure cut short
  t.is(cbor.span!(Uint8Array.from([0x85, 0x18, 48, 0x01, 0xa0, 0x61, 0x70]), 4), null); // no payload
  t.is(cbor.span!(Uint8Array.from([0x85, 0x18, 48, 0x01, 0xbc, 0x61, 0x70, 0x80]), 4), null); // reserved additional info
  t.is(cbor.span!(Uint8Array.from([0x9f, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x80]), 4), null); // indefinite, no break
  t.is(cbor.span!(Uint8Array.from([0xa1, 0x01, 0x02]), 0), null);
  t.is(cbor.span!(Uint8Array.from([0x84, 0x18, 70, 0x01, 0xa0]), 4), null); // index past the array
  t.is(msgpack.span!(Uint8Array.from([0x95, 48, 0x01, 0x80, 0xa2, 0x70]), 4), null);
  t.is(msgpack.span!(Uint8Array.from([0x95, 48, 0x01, 0xc1, 0xa1, 0x70, 0x90]), 4), null);
  t.is(msgpack.span!(Uint8Array.from([0x94, 48, 0x01, 0x80, 0xa1, 0x70]), 4), null);
  t.is(msgpack.span!(Uint8Array.from([0x81, 0x01, 0x02]), 0), null);
});

test('msgpack: 16-bit array and map headers, ext types and every integer width', (t) => {
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const args = [
    new Date(0),
    2 ** 40,
    -(2 ** 40),
    255,
    -100,
    65_535,
    'x'.repeat(70_000).length,
    Array.from({ length: 20 }, (_, i) => i),
  ];
  const kwargs = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1.5]));
  const body = packr.pack([16, 3, {}, 'com.topic', args, kwargs]);
  // Rewrite the top-level fixarray header (0x96) as array16 (0xdc 00 06): legal, if unusual.
  const frame = Buffer.concat([Buffer.from([0xdc, 0x00, 0x06]), body.subarray(1)]);
  const decoded = msgpack.decode(frame) as unknown[];
  const spliced = rawPayloadOf(msgpack, frame, decoded)!.encode([36, 4, 5, {}])!;
  t.deepEqual(normalise(msgpack.decode(spliced)), normalise([36, 4, 5, {}, decoded[4], decoded[5]]));
});

test('a CBOR frame from another encoder, with records and tags disabled as peers send them', (t) => {
  const other = new Encoder({
    useRecords: false,
    mapsAsObjects: true,
    tagUint8Array: false,
    pack: false,
  } as ConstructorParameters<typeof Encoder>[0]);
  const frame = other.encode([8, 68, 12, {}, 'com.error', ['why', new Uint8Array([1, 2])], { code: 7 }]);
  const spliced = new RawPayload(cbor, frame, 5, 2).encode([8, 48, 99, {}, 'com.error'])!;
  t.deepEqual(
    normalise(cbor.decode(spliced)),
    normalise([8, 48, 99, {}, 'com.error', ['why', new Uint8Array([1, 2])], { code: 7 }]),
  );
});
