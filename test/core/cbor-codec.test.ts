// The router's own CBOR reader and writer (src/serializers/cbor-read.ts, cbor-write.ts) against
// cbor-x, which they stand in for on plain values: the writer must write the octets cbor-x
// writes, and the reader must give cbor-x's value or leave the frame to cbor-x. Seeded, so a
// failure repeats.

import test from 'ava';
import { Decoder, Encoder } from 'cbor-x';
import { cborXOptions } from '../../src/serializers/cbor.ts';
import { cbor } from '../../src/serializers/index.ts';
import { OTHER, readCbor } from '../../src/serializers/cbor-read.ts';
import { writeCbor } from '../../src/serializers/cbor-write.ts';
import { widenInts } from '../../src/serializers/wide-ints.ts';
import { protoDict, Rng, randomValue } from '../helpers/fuzz-input.ts';

const reference = new Encoder(cborXOptions);
const referenceDecoder = new Decoder({ ...cborXOptions, int64AsNumber: true } as ConstructorParameters<
  typeof Decoder
>[0]);

function referenceBytes(value: unknown): Buffer | Error {
  try {
    return Buffer.from(reference.encode(widenInts(value)));
  } catch (err) {
    return err as Error;
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Strings of every head size and each UTF-8 length, around the lengths where the writer changes
// how it writes them (24 octets, 64 units, 256 octets), with lone surrogates.
const EDGE_STRINGS = [0, 1, 23, 24, 31, 32, 63, 64, 85, 86, 255, 256, 300, 70_000].flatMap((n) => [
  'a'.repeat(n),
  'é'.repeat(n),
  '€'.repeat(n),
  '😀'.repeat(n >> 1),
  'a'.repeat(Math.max(0, n - 1)) + '\ud800',
  '\udc00' + 'b'.repeat(n),
]);
const EDGE_NUMBERS = [
  0,
  -0,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  -1,
  -24,
  -25,
  -256,
  -257,
  -65536,
  -65537,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 32),
  -(2 ** 32) - 1,
  -(2 ** 53),
  -(2 ** 53) - 2,
  1.5,
  -1.5,
  0.1,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MIN_VALUE,
];

test('the writer writes what cbor-x writes, or leaves the value to cbor-x', (t) => {
  const values: unknown[] = [
    ...EDGE_STRINGS,
    ...EDGE_NUMBERS,
    2n ** 64n - 1n,
    2n ** 64n,
    -(2n ** 64n),
    -(2n ** 64n) + 1n,
    [68, 1, 2, {}, ['the quick brown fox jumps over..']],
    { [`k${'x'.repeat(30)}`]: Array.from({ length: 300 }, (_, i) => i * 1000) },
    Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])),
    Object.create(null),
    [undefined],
    { a: undefined },
    [new Uint8Array([1, 2])],
    protoDict(1),
  ];
  const rng = new Rng(23);
  for (let i = 0; i < 20_000; i++) values.push([rng.int(80), randomValue(rng)]);
  let written = 0;
  for (const value of values) {
    const mine = writeCbor(value);
    const theirs = referenceBytes(value);
    if (mine === null) continue;
    written++;
    if (theirs instanceof Error) t.fail(`cbor-x refuses what the writer wrote: ${theirs.message}`);
    else if (hex(mine) !== hex(theirs)) t.is(hex(mine), hex(theirs), String(value));
  }
  t.true(written > values.length / 2, `${written} of ${values.length} written without cbor-x`);
});

test('frames the writer wrote stay intact while later frames are written', (t) => {
  const first = writeCbor(['x'.repeat(100)])!;
  const copy = Buffer.from(first);
  for (let i = 0; i < 1_000; i++) writeCbor(['y'.repeat(i)]);
  writeCbor(['z'.repeat(100_000)]);
  t.is(hex(first), hex(copy));
});

test('the reader gives what cbor-x gives, or leaves the frame to it', (t) => {
  const rng = new Rng(2323);
  let read = 0;
  let frames = 0;
  for (let i = 0; i < 20_000; i++) {
    const encoded = referenceBytes([rng.int(80), randomValue(rng)]);
    if (encoded instanceof Error) continue;
    // Every frame as written, and a copy with octets changed, cut or added.
    const variants = [encoded, mutate(rng, encoded)];
    for (const frame of variants) {
      frames++;
      const mine = readCbor(frame);
      let theirs: unknown;
      try {
        theirs = referenceDecoder.decode(frame);
      } catch (err) {
        if (mine !== OTHER) t.fail(`read ${hex(frame)} that cbor-x refuses: ${(err as Error).message}`);
        continue;
      }
      if (mine === OTHER) continue;
      read++;
      t.deepEqual(mine, theirs, hex(frame));
    }
  }
  t.true(read > frames / 4, `${read} of ${frames} read without cbor-x`);
});

function mutate(rng: Rng, frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  switch (rng.int(3)) {
    case 0:
      for (let n = 1 + rng.int(3); n > 0; n--) out[rng.int(out.length)] = rng.int(256);
      return out;
    case 1:
      return out.subarray(0, rng.int(out.length));
    default:
      return Buffer.concat([out, rng.bytes(1 + rng.int(3))]);
  }
}

test('the reader leaves to cbor-x what only cbor-x decides', (t) => {
  const cases: Record<string, string> = {
    'invalid UTF-8 (cbor-x makes it U+FFFD)': '8162c328',
    'a lone surrogate in UTF-8': '8163eda080',
    'a 64-bit integer (the 2^53 rule)': '811b0020000000000001',
    'a byte string': '814201ff',
    'a tag': '81c11a5f5e1000',
    'a half float': '81f93e00',
    undefined: '81f7',
    'an indefinite length': '9f01ff',
    'a non-string key': 'a10102',
    'the key __proto__': 'a1695f5f70726f746f5f5f01',
    'trailing octets': '810100',
    'cut short': '8201',
    'a count past the frame': '9a0000ffff',
  };
  for (const [what, frame] of Object.entries(cases)) t.is(readCbor(Buffer.from(frame, 'hex')), OTHER, what);
  // And the serializer then gives cbor-x's answer, as before.
  t.deepEqual(cbor.decode(Buffer.from('8162c328', 'hex')), ['\ufffd(']);
  t.deepEqual(cbor.decode(Buffer.from('a1695f5f70726f746f5f5f01', 'hex')), { __proto_: 1 });
  t.throws(() => cbor.decode(Buffer.from('810100', 'hex')));
});

test('the reader reads 64-bit integers within ±2^53 as numbers, as cbor.ts does', (t) => {
  t.deepEqual(
    readCbor(Buffer.from('841b00000001000000001b00200000000000003b001fffffffffffff1b0000000000000001', 'hex')),
    [2 ** 32, 2 ** 53, -(2 ** 53), 1],
  );
  t.is(readCbor(Buffer.from('813b0020000000000000', 'hex')), OTHER, '-(2^53) - 1');
  t.deepEqual(cbor.decode(Buffer.from('813b0020000000000000', 'hex')), [-(2n ** 53n) - 1n]);
});

test('the reader reads a small CALL and its strings of each kind', (t) => {
  const call = [
    48,
    0x1000_0000,
    { receive_progress: true, timeout: 1.5 },
    'com.example.é€😀',
    ['x'.repeat(40), -70_000],
  ];
  const frame = referenceBytes(call) as Buffer;
  t.deepEqual(readCbor(frame), call);
  t.deepEqual(readCbor(new Uint8Array(frame)), call, 'a Uint8Array that is not a Buffer');
});

test('the reader reads ASCII strings of every short length, as keys and as values', (t) => {
  // Lengths 0 to 12 are built from their octets in JavaScript (cbor-read.ts shortAscii); 13 on natively.
  for (let n = 0; n <= 14; n++) {
    const s = 'abcdefghijklmn'.slice(0, n);
    const value = [70, n, { [`k${s}`]: s, [s.toUpperCase()]: [s] }];
    t.deepEqual(readCbor(referenceBytes(value) as Buffer), value, `length ${n}`);
  }
});

test('the reader gives dict keys read before again, and tells apart keys that share a slot', (t) => {
  // Keys kept by length, first and last octet: these share those and differ inside, or differ
  // in one octet only, or are not ASCII (never kept), or are the same key again and again.
  const keys = ['abxa', 'abya', 'a', 'b', 'aXa', 'aYa', 'é', 'ée', 'ab', 'b\u00e9a', 'tags', 'sensor', 'value'];
  const rng = new Rng(7);
  for (let round = 0; round < 200; round++) {
    const dict: Record<string, unknown> = {};
    for (let i = 0; i < 4; i++) dict[keys[Math.floor(rng.next() * keys.length)]!] = round;
    const value = [70, round + 1, dict];
    t.deepEqual(readCbor(referenceBytes(value) as Buffer), referenceDecoder.decode(referenceBytes(value) as Buffer));
  }
});
