// Values our encoders cannot or never write (nesting beyond any stack, library extensions,
// tags, indefinite lengths), built as bytes and spliced into an encoded message.

import type { Serializer, SerializerName } from '../../src/serializers/index.ts';
import type { Rng } from './fuzz-rng.ts';

const MARKER = 'FUZZ_DEEP_MARKER_7f3a0'; // 22 characters: one length octet in every format

/** `depth` nested empty lists (or {"a": ...} dicts), encoded by hand: our encoders would overflow. */
export function deepBytes(serializer: SerializerName, depth: number, dict: boolean): Buffer {
  switch (serializer) {
    case 'json':
      return Buffer.from(
        dict ? '{"a":'.repeat(depth) + '{}' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth),
      );
    case 'msgpack':
      return dict
        ? Buffer.concat([Buffer.from(Array.from({ length: depth }, () => [0x81, 0xa1, 0x61]).flat()), Buffer.of(0x80)])
        : Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.of(0x90)]);
    case 'cbor':
      return dict
        ? Buffer.concat([Buffer.from(Array.from({ length: depth }, () => [0xa1, 0x61, 0x61]).flat()), Buffer.of(0xa0)])
        : Buffer.concat([Buffer.alloc(depth, 0x81), Buffer.of(0x80)]);
  }
}

/** Where a value can go: every element of lists and every value of dicts, down to `depth`. */
function slots(
  v: unknown,
  depth: number,
  out: { parent: Record<string | number, unknown>; key: string | number }[],
): void {
  if (depth > 3 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return;
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      if (depth > 0 || i > 0) out.push({ parent: v as unknown as Record<number, unknown>, key: i });
      slots(item, depth + 1, out);
    });
  } else {
    for (const [k, item] of Object.entries(v)) {
      out.push({ parent: v as Record<string, unknown>, key: k });
      slots(item, depth + 1, out);
    }
  }
}

/**
 * `message` encoded with one of its values (anywhere in it: an argument, an option, an element
 * of a nested list) replaced by `value`, octets already encoded in this serialization.
 * Undefined when the message cannot be encoded.
 */
export function withSplicedValue(
  rng: Rng,
  serializer: Serializer,
  message: unknown[],
  value: Uint8Array,
  marked = false,
): Uint8Array | undefined {
  let copy: unknown[];
  try {
    copy = structuredClone(message);
  } catch {
    return undefined;
  }
  // `marked`: the caller put DEEP in the message where the value goes; otherwise anywhere.
  if (!marked) {
    const where: { parent: Record<string | number, unknown>; key: string | number }[] = [];
    slots(copy, 0, where);
    if (where.length === 0) return undefined;
    const slot = rng.pick(where);
    slot.parent[slot.key] = MARKER;
  }
  let bytes: Buffer;
  try {
    bytes = Buffer.from(serializer.encode(copy));
  } catch {
    return undefined;
  }
  const encodedMarker =
    serializer.name === 'json'
      ? Buffer.from(JSON.stringify(MARKER))
      : Buffer.concat([
          Buffer.of(serializer.name === 'msgpack' ? 0xa0 | MARKER.length : 0x60 | MARKER.length),
          Buffer.from(MARKER),
        ]);
  const at = bytes.indexOf(encodedMarker);
  if (at < 0) return undefined;
  return Buffer.concat([bytes.subarray(0, at), value, bytes.subarray(at + encodedMarker.length)]);
}

/** Where a message built for withDeepValue(..., marked) wants its deep value. */
export const DEEP = MARKER;

/** A value nested up to 100,000 deep, spliced in anywhere, or where `message` holds DEEP. */
export function withDeepValue(
  rng: Rng,
  serializer: Serializer,
  message: unknown[],
  marked = false,
): Uint8Array | undefined {
  // Either well within every decoder's and encoder's stack or well beyond it: in between, whether
  // a recursive walk overflows depends on how much of it the JIT has compiled, and runs would
  // not repeat.
  const depth = rng.pick([200, 1_000, 100_000]);
  return withSplicedValue(rng, serializer, message, deepBytes(serializer.name, depth, rng.chance(0.5)), marked);
}

// Values the formats can express and our encoders never write: library extensions and tags
// that decode to JS objects other than plain data (cycles, Maps with object keys, Sets, Dates,
// typed arrays, Errors, RegExps), record definitions, simple values, indefinite lengths.
const EXOTIC: Record<SerializerName, readonly string[]> = {
  json: [
    '{"__proto__":{"acknowledge":true,"progress":true}}',
    '"\\u0000AAAA"',
    '"\\u0000"',
    '"\\u0000!!"',
    '1e400',
    '-1e400',
    '-0',
    '18446744073709551617',
    '-9223372036854775809',
    '9007199254740993',
    '1.0e2',
    '{"a":1,"a":2}',
    '"\\ud800\\udc00\\ud800"',
  ],
  msgpack: [
    'd66900000001 92 01 d67000000001', // msgpackr structured clone: a list that contains itself
    'd66900000001 81 a161 d67000000001', // a dict that contains itself
    '92 d66900000001 90 d67000000001', // the same list twice (shared, no cycle)
    'd47300 92 01 02', // Set
    'd46500 93 a54572726f72 a4626f6f6d c0', // Error
    'd47800 92 a2 7265 a1 67', // RegExp
    'c7 05 74 05 01000000', // Int32Array
    'd6ff 00000001',
    'd7ff 0000000000000001', // timestamps (Date)
    'd40000', // undefined
    'd44201',
    'c7 09 42 ffffffffffffffffff', // BigInt extension
    'd47240 91 a161 01', // record definition
    'd40101',
    'c70001', // unknown extensions
    '81 01 02',
    '81 c0 01',
    '81 91 01 02',
    '81 81 a161 01 02', // maps with int, nil, list, map keys
    'cf ffffffffffffffff',
    'd3 8000000000000000',
    'cb 7ff8000000000000',
    'ca 7f800000', // wide ints, NaN, Infinity
    'c4 00',
    'c5 0000',
    'd9 00',
    'dc 0000',
    'de 0000', // empty bin, 16-bit lengths, empty str8/array16/map16
  ],
  cbor: [
    'd81c 81 d81d 00', // value sharing: a list that contains itself
    'd81c a1 6161 d81d 00', // a dict that contains itself
    '82 d81c 6161 d81d 00', // shared, no cycle
    'd90103 a1 a1616b01 01',
    'd90103 a2 6161 01 01 02', // tag 259 maps: object keys, mixed keys
    'd90102 82 01 02', // Set
    'c1 1a00000001',
    'c0 74 323032302d30312d30315430303a30303a30305a', // Dates
    'd855 48 0000000000000000',
    'd840 43 010203', // Float32Array, Uint8Array
    'd869 84 19e000 82 6161 6162 01 02',
    'd9e000 82 03 04', // record definition and use
    'd81b 83 65 4572726f72 6161 00',
    'd81b 83 66 526567457870 622e2a 6167', // generic objects: Error, RegExp
    'd863 01',
    'd9 ffff 00',
    'db 0000000100000000 00', // unknown and huge tags
    'c2 49 010000000000000000',
    'c3 49 010000000000000000',
    'c2 40', // bignums beyond 64 bits, empty
    '1b ffffffffffffffff',
    '3b ffffffffffffffff',
    'f9 7c00',
    'f9 7e00',
    'fa 7f800000',
    'fb 7ff8000000000000', // wide ints, Infinity, NaN
    'f7',
    'f0',
    'f8 ff',
    'f8 10', // undefined, simple values
    '9f 01 02 ff',
    'bf 6161 01 ff',
    '7f 6161 6162 ff',
    '5f 41 01 ff', // indefinite lengths
    'a2 6161 01 6161 02', // duplicate key
  ],
};

export function exoticBytes(rng: Rng, serializer: SerializerName): Buffer {
  const text = rng.pick(EXOTIC[serializer]);
  return serializer === 'json' ? Buffer.from(text, 'utf8') : Buffer.from(text.replace(/ /g, ''), 'hex');
}
