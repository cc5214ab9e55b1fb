import test from 'ava';
import { cbor, json, msgpack } from '../../src/serializers/index.ts';

test('MsgPack and CBOR write integers beyond 32 bits as integers, not floats', (t) => {
  const id = 5218805941164479;
  t.is(Buffer.from(msgpack.encode([id])).toString('hex'), '91d300128a79f24659bf');
  t.is(Buffer.from(cbor.encode([id])).toString('hex'), '811b00128a79f24659bf');
  t.is(Buffer.from(cbor.encode([-(2 ** 40)])).toString('hex'), '813b000000ffffffffff');
  t.is(Buffer.from(msgpack.encode([1.5])).toString('hex'), '91cb3ff8000000000000', 'floats stay floats');
});

test("widening never changes the caller's value", (t) => {
  const args = [2 ** 40, { n: 2 ** 40 }];
  msgpack.encode([48, 1, {}, 'x', args]);
  cbor.encode([48, 1, {}, 'x', args]);
  t.deepEqual(args, [2 ** 40, { n: 2 ** 40 }]);
  t.is(typeof args[0], 'number');
});

test('CBOR 64-bit integers decode to numbers a JSON peer can take', (t) => {
  const decoded = cbor.decode(Buffer.from('831b00000001000000001b001fffffffffffff3b001ffffffffffffe', 'hex'));
  t.deepEqual(decoded, [2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1]);
  t.is(Buffer.from(json.encode(decoded as unknown[])).toString(), '[4294967296,9007199254740991,-9007199254740991]');
});

test('JSON writes a BigInt from another serializer as an exact number', (t) => {
  t.is(Buffer.from(json.encode([2n ** 64n - 1n, -(2n ** 53n)])).toString(), '[18446744073709551615,-9007199254740992]');
});

test('integers beyond ±2^53 stay exact (BigInt) in all three decoders; 2^53 itself is a number', (t) => {
  const jsonFrame = Buffer.from('[48, 9007199254740993, 9007199254740992, -9007199254740993, 18446744073709551615]');
  t.deepEqual(json.decode(jsonFrame), [48, 9007199254740993n, 2 ** 53, -9007199254740993n, 18446744073709551615n]);
  // 0xcf: uint64 2^53+1 and 2^53; 0xd3: int64 -(2^53+1).
  const mp = Buffer.from('93cf0020000000000001cf0020000000000000d3ffdfffffffffffff', 'hex');
  t.deepEqual(msgpack.decode(mp), [9007199254740993n, 2 ** 53, -9007199254740993n]);
  const cb = Buffer.from('831b00200000000000011b00200000000000003b0020000000000000', 'hex');
  t.deepEqual(cbor.decode(cb), [9007199254740993n, 2 ** 53, -9007199254740993n]);
  t.is(
    typeof (cbor.decode(Buffer.from('811b0000000100000000', 'hex')) as unknown[])[0],
    'number',
    '2^32 in 8 bytes is a number',
  );
});

test('JSON writes binary and BigInt values wherever they sit, also deeper than the quick scan looks', (t) => {
  const bin = new Uint8Array([0, 255]);
  t.is(
    Buffer.from(json.encode([50, 1, {}, ['plain', 1.5, null, { a: [true] }]])).toString(),
    '[50,1,{},["plain",1.5,null,{"a":[true]}]]',
  );
  t.is(Buffer.from(json.encode([50, 1, {}, [{ a: [bin] }]])).toString(), '[50,1,{},[{"a":["\\u0000AP8="]}]]');
  t.is(Buffer.from(json.encode([50, 1, {}, [Buffer.from([1])]])).toString(), '[50,1,{},["\\u0000AQ=="]]');
  t.is(Buffer.from(json.encode([50, 1, { n: 2n ** 60n }])).toString(), '[50,1,{"n":1152921504606846976}]');
  // 40 levels down: past the scan's depth limit, where it hands over to the replacer anyway.
  let deep: unknown = [bin, 2n ** 60n];
  for (let i = 0; i < 40; i++) deep = [deep];
  const text = Buffer.from(json.encode([50, 1, {}, [deep]])).toString();
  t.true(text.includes('["\\u0000AP8=",1152921504606846976]'), text);
});

test('JSON revives exactly the integers beyond 2^53, whatever their digits', (t) => {
  const decode = (text: string): unknown => json.decode(Buffer.from(text));
  // 16 digits below 2^53 (random WAMP IDs) stay numbers, also those starting with 9.
  t.deepEqual(decode('[1234567890123456, 8999999999999999, 9007199254740991, 9007199254740992]'), [
    1234567890123456,
    8999999999999999,
    9007199254740991,
    2 ** 53,
  ]);
  t.deepEqual(decode('[9007199254740993, -9007199254740993, 12345678901234567]'), [
    9007199254740993n,
    -9007199254740993n,
    12345678901234567n,
  ]);
  t.deepEqual(decode('["\\u0000AP8=", 1234567890123456]'), [Buffer.from([0, 255]), 1234567890123456]);
  // With a binary value, in a dict, deeper than the walk looks, and as a float (stays a number).
  t.deepEqual(decode('["\\u0000AP8=", {"n": 9007199254740993}]'), [Buffer.from([0, 255]), { n: 9007199254740993n }]);
  const deep = (n: number, inner: string): string => '['.repeat(n) + inner + ']'.repeat(n);
  t.deepEqual(
    JSON.stringify(decode(deep(100, '18446744073709551615')), (_k, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v,
    ),
    deep(100, '"18446744073709551615n"'),
  );
  // biome-ignore lint/correctness/noPrecisionLoss: the same literal as the JSON text, which is beyond double precision on purpose
  t.deepEqual(decode('[1e300, -9.5e20, 9007199254740993.5]'), [1e300, -9.5e20, 9007199254740993.5]);
});

test('CBOR finds a 64-bit integer in short and in long frames', (t) => {
  const big = 2n ** 60n;
  const short = cbor.encode([1, big]);
  const long = cbor.encode([1, 'x'.repeat(400), big]);
  t.true(long.length > 256);
  t.deepEqual(cbor.decode(short), [1, big]);
  t.deepEqual(cbor.decode(long), [1, 'x'.repeat(400), big]);
  t.deepEqual(cbor.decode(cbor.encode([1, 'x'.repeat(400), 2 ** 40])), [1, 'x'.repeat(400), 2 ** 40]);
});

// Regressions found by test/hostile/fuzz-*.test.ts: the MsgPack and CBOR libraries decode their
// own extensions into values that are not plain data, and cbor-x kept state between frames.

test('values that contain themselves are refused by the MsgPack and CBOR decoders', (t) => {
  // msgpackr structured clone (ext 0x69 names a value, ext 0x70 points back at it): [1, <itself>].
  t.throws(() => msgpack.decode(Buffer.from('92 10 d66900000001 92 01 d67000000001'.replace(/ /g, ''), 'hex')));
  // CBOR value sharing (tag 28 shareable, tag 29 shared reference): [<itself>], also with a
  // 64-bit integer in the frame (the other decoder).
  t.throws(() => cbor.decode(Buffer.from('8210d81c81d81d00', 'hex')));
  t.throws(() => cbor.decode(Buffer.from('8310d81c81d81d001b0000000100000000', 'hex')));
});

test('a CBOR record definition does not outlive its frame', (t) => {
  // Tag 105: record 0xe000 with keys a, b, and one record. Kept by the decoder, it grew the
  // router's memory for good and changed how later frames (any session's) decoded.
  t.deepEqual(cbor.decode(Buffer.from('8210d8698419e00082616161620102', 'hex')), [16, { a: 1, b: 2 }]);
  t.notDeepEqual(cbor.decode(Buffer.from('8210d9e000820304', 'hex')), [16, { a: 3, b: 4 }]);
});

test('a CBOR tag 259 map decodes to a plain dict, and one with non-string keys is refused', (t) => {
  const decoded = cbor.decode(Buffer.from('8210d90103a2616101' + '0102', 'hex')) as unknown[];
  t.deepEqual(decoded, [16, { a: 1, 1: 2 }]);
  t.is(Object.getPrototypeOf(decoded[1]), Object.prototype);
  // As a Map with a dict and a list as keys, it was forwarded to MsgPack and CBOR peers with
  // keys that the router's own decoders (and most clients) refuse.
  t.throws(() => cbor.decode(Buffer.from('8210d90103a2a1616b0101820102' + '02', 'hex')));
});

test('CBOR sets, typed arrays and named objects decode to lists, so JSON and MsgPack peers get their values', (t) => {
  const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
  const cases: [string, unknown][] = [
    ['d9 0102 83 01 02 03', [1, 2, 3]], // tag 258, a set
    ['d8 45 44 0100 0302', [1, 0x0203]], // tag 69, uint16 little-endian
    ['d8 41 44 0001 0203', [1, 0x0203]], // tag 65, uint16 big-endian
    ['d8 4f 48 ffffffffffffffff', [-1]], // tag 79, sint64 little-endian
    ['d8 4b 48 0020000000000001', [2n ** 53n + 1n]], // tag 75, sint64 big-endian, beyond 2^53
    ['d8 51 44 3fc00000', [1.5]], // tag 81, float32 big-endian
    ['d8 48 42 ff01', [-1, 1]], // tag 72, sint8
    ['d8 1b 82 65 4572726f72 64 626f6f6d', ['Error', 'boom']], // tag 27, a named object
  ];
  for (const [payload, expected] of cases) {
    const frame = Buffer.concat([hex('85 10 01 a0 63 612e62 81'), hex(payload)]);
    const decoded = cbor.decode(frame) as unknown[];
    t.deepEqual(decoded, [16, 1, {}, 'a.b', [expected]], payload);
    t.true(Array.isArray((decoded[4] as unknown[])[0]), payload);
    if (typeof (expected as unknown[])[0] !== 'bigint') {
      const event = [36, 1, 2, {}, decoded[4]] as never;
      t.deepEqual(json.decode(json.encode(event)), event, `${payload} through JSON`);
      t.deepEqual(msgpack.decode(msgpack.encode(event)), event, `${payload} through MsgPack`);
    }
  }
  // A typed array is a byte string of whole elements.
  t.throws(() => cbor.decode(Buffer.concat([hex('85 10 01 a0 63 612e62 81'), hex('d8 46 43 010203')])));
});

test('a lone surrogate escaped in JSON is read as U+FFFD, so CBOR and MsgPack peers get valid UTF-8', (t) => {
  const text = String.raw`[16,1,{},"a.b",["\ud800",{"k\udc00":"x\uD800y","__proto__":"\udfff"},"\ud83d\ude00",["\uDBFF"]]]`;
  const decoded = json.decode(Buffer.from(text)) as unknown[];
  const args = decoded[4] as unknown[];
  t.is(args[0], '\ufffd');
  t.deepEqual(Object.keys(args[1] as object), ['__proto__', 'k\ufffd']);
  t.is((args[1] as Record<string, unknown>)['k\ufffd'], 'x\ufffdy');
  t.is(Object.getOwnPropertyDescriptor(args[1], '__proto__')?.value, '\ufffd');
  t.is(Object.getPrototypeOf(args[1]), Object.prototype);
  t.is(args[2], '\u{1f600}', 'a pair escaped whole stays the character');
  t.deepEqual(args[3], ['\ufffd']);
  // Written on: valid UTF-8 that the strict decoders read back as the same values.
  // (cbor-x reads a key "__proto__" as "__proto_": left out here.)
  Reflect.deleteProperty(args[1] as object, '__proto__');
  for (const s of [cbor, msgpack]) {
    const frame = s.encode([36, 1, 2, {}, args] as never);
    // A surrogate in UTF-8's form: ED A0..BF xx (no other octet of this frame is ED).
    const surrogate = frame.findIndex((b, i) => b === 0xed && frame[i + 1]! >= 0xa0);
    t.is(surrogate, -1, s.name);
    t.deepEqual((s.decode(frame) as unknown[])[4], args, s.name);
  }
});

test('JSON: a head spliced before a payload is written as JSON.stringify writes it', (t) => {
  const payload = Buffer.from('[["x",9007199254740993],{"k":null}]');
  const integers = [0, -0, 1, 9, 10, 99, 100, 12345, -5, -10, 99_999_999, 1e8, 1e8 + 1, 2 ** 31 - 1, 2 ** 31];
  integers.push(2 ** 32 + 1, 1e15 + 7, 2 ** 53 - 7, 2 ** 53 - 1, -(2 ** 53 - 1), -(2 ** 31), -(2 ** 31) - 1);
  const heads: unknown[][] = [
    ...integers.map((n) => [68, n, 2, {}]),
    [50, 1, {}],
    [68, 1, 2 ** 53, {}],
    [68, 1.5, 2, {}],
    [68, 1, 2, { caller: 42 }],
    [68, 1, 2, { b: new Uint8Array([1]) }],
    [8, 48, 1, {}, 'wamp.error.x'],
  ];
  for (const head of heads) {
    const spliced = json.encodeSpliced!(head, 2, payload, 1, payload.length - 1);
    const expected = `${JSON.stringify(head, (_k, v) => (v instanceof Uint8Array ? '\0AQ==' : v)).slice(0, -1)},${payload.subarray(1, -1).toString()}]`;
    t.is(Buffer.from(spliced!).toString(), expected, JSON.stringify(head));
  }
});
