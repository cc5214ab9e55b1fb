// Seeded, deterministic hostile input for the fuzz suites (test/hostile/fuzz-*.test.ts): a small
// PRNG, a generator of awkward values, the WAMP test vectors as seed frames, and mutators that
// work on the decoded message (wrong types, wrong codes, missing or extra elements, poisoned
// options) or on its bytes (flips, truncation, insertion, splices). Everything is drawn from one
// Rng, so a seed reproduces a run exactly.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Serializer, SerializerName } from '../../src/serializers/index.ts';

// ---- PRNG -------------------------------------------------------------------------------------

/** mulberry32: 32 bits of state, good enough to spread test input, and trivially reproducible. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** A new generator seeded from this one (independent streams that stay reproducible). */
  fork(): Rng {
    return new Rng(this.int(2 ** 32));
  }
}

// ---- awkward values ---------------------------------------------------------------------------

const NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  2,
  7,
  48,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  -(2 ** 53) - 2,
  2 ** 64,
  1.5,
  -1.5,
  0.1,
  1e308,
  -1e308,
  5e-324,
  NaN,
  Infinity,
  -Infinity,
];
const BIGINTS: readonly bigint[] = [
  0n,
  1n,
  -1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  -(2n ** 63n),
  2n ** 64n,
  -(2n ** 64n),
  2n ** 100n,
];
export const STRINGS: readonly string[] = [
  '',
  'a',
  'com',
  'com.fuzz',
  'com.fuzz.echo',
  'com.fuzz.topic',
  'com.myapp.myprocedure1',
  'com.myapp.topic1',
  'realm1',
  'wamp.session.list',
  'wamp.session.count',
  'wamp.error.foo',
  'wamp.close.goodbye_and_out',
  'wamp.close.close_realm',
  '\0',
  '\0AAAA',
  '\0!!not base64',
  '\ud800',
  '\udfff\ud800',
  'é',
  '😀',
  'a..b',
  '.',
  'a.',
  '.a',
  'a b',
  'com.#',
  '*',
  'x'.repeat(300),
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  '[]',
  '{}',
  '\u2028',
  '"',
  '\\',
  '%s%n',
  'prefix',
  'wildcard',
  'exact',
  'single',
  'roundrobin',
  'random',
  'first',
  'last',
  'skip',
  'kill',
  'killnowait',
  'anonymous',
  'ticket',
  'wampcra',
  'cbor',
  'x_custom',
  'true',
  '1',
];
const KEYS: readonly string[] = [
  'a',
  '',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'length',
  '0',
  '-1',
  'x'.repeat(100),
  'progress',
  'receive_progress',
  'timeout',
  'acknowledge',
  'match',
  'invoke',
  'eligible',
  'exclude',
  'retain',
  'mode',
];

/** Keys the router reads from Options and Details: where a wrong type is most likely to matter. */
export const OPTION_KEYS: readonly string[] = [
  'match',
  'invoke',
  'receive_progress',
  'progress',
  'timeout',
  'disclose_me',
  'exclude_me',
  'acknowledge',
  'retain',
  'get_retained',
  'exclude',
  'eligible',
  'exclude_authid',
  'eligible_authid',
  'exclude_authrole',
  'eligible_authrole',
  'ppt_scheme',
  'ppt_serializer',
  'ppt_cipher',
  'ppt_keyid',
  'mode',
  'roles',
  'authmethods',
  'authid',
  'authextra',
  'features',
  'message',
  'caller',
  'callee',
  'publisher',
  'subscriber',
  'procedure',
  'topic',
  'scope',
];

function randomText(rng: Rng, maxLength: number): string {
  const n = rng.int(maxLength + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.int(10);
    s +=
      r < 6
        ? String.fromCharCode(0x61 + rng.int(26))
        : r < 8
          ? rng.pick(['.', '_', '#', '*', ' ', '\0', '"'])
          : String.fromCharCode(rng.int(0x10000));
  }
  return s;
}

/** A dict that has '__proto__' as an own key (a literal would set the prototype instead). */
export function protoDict(inner: unknown): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  Object.defineProperty(d, '__proto__', { value: inner, enumerable: true, writable: true, configurable: true });
  return d;
}

export function nested(depth: number, dict: boolean): unknown {
  let v: unknown = dict ? {} : [];
  for (let i = 0; i < depth; i++) v = dict ? { a: v } : [v];
  return v;
}

/** A value of any type, biased towards the ones that break parsers and validators. */
export function randomValue(rng: Rng, depth = 0): unknown {
  const r = rng.int(depth > 3 ? 12 : 21);
  switch (r) {
    case 0:
    case 1:
      return rng.pick(NUMBERS);
    case 2:
      return rng.chance(0.5) ? rng.int(100) : (rng.next() - 0.5) * 2 ** rng.int(70);
    case 3:
      return rng.pick(BIGINTS);
    case 4:
    case 5:
      return rng.pick(STRINGS);
    case 6:
      return randomText(rng, 20);
    case 7:
      return rng.chance(0.5);
    case 8:
      return null;
    case 9:
      return undefined;
    case 10:
      return rng.bytes(rng.int(40));
    case 11:
      return rng.int(2 ** 31);
    case 12:
    case 13:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    case 14:
    case 15: {
      const d: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        const key = rng.chance(0.5) ? rng.pick(OPTION_KEYS) : rng.pick(KEYS);
        if (key === '__proto__') return protoDict(randomValue(rng, depth + 1));
        d[key] = randomValue(rng, depth + 1);
      }
      return d;
    }
    // Nesting our encoders can write (deeper goes in as bytes: withDeepValue), never near the
    // stack's limit, where whether a walk overflows depends on the JIT and runs would not repeat.
    case 16:
      return nested(rng.chance(0.9) ? rng.int(200) : 1_000, rng.chance(0.5));
    case 17: {
      // Types the encoders turn into extensions (MsgPack) or tags (CBOR): they come back as
      // Dates, Maps, Sets, typed arrays, which the router then holds where it expects dicts.
      switch (rng.int(7)) {
        case 0:
          return new Date(rng.chance(0.5) ? rng.int(2 ** 31) * 1000 : NaN);
        case 1:
          return new Map<unknown, unknown>([
            [1, 'one'],
            ['k', randomValue(rng, depth + 1)],
          ]);
        case 2:
          return new Set([1, 'two', rng.int(10)]);
        case 3:
          return new Float64Array([1.5, NaN, -0]);
        case 4:
          return new Int16Array([-1, 2, 3]);
        case 5:
          return new Map<unknown, unknown>([
            [{ k: 1 }, 1],
            [[1, 2], 2],
          ]);
        default:
          return /re+gex/g;
      }
    }
    case 18:
      return rng.chance(0.7)
        ? Array.from({ length: 1_000 + rng.int(2_000) }, (_, i) => i)
        : 'x'.repeat(10_000 + rng.int(50_000));
    case 19:
      return protoDict(
        rng.chance(0.5)
          ? { acknowledge: true, progress: true, receive_progress: true, match: 'prefix' }
          : randomValue(rng, depth + 1),
      );
    default: {
      const d: Record<string, unknown> = {};
      d[rng.pick(OPTION_KEYS)] = randomValue(rng, depth + 1);
      return d;
    }
  }
}

// ---- seed frames: the WAMP test vectors ---------------------------------------------------------

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const VECTORS_DIR = resolve(repoRoot, 'test', 'vectors', 'wamp');

interface Representation {
  bytes?: string;
  bytes_hex?: string;
  bytes_base64?: string;
}

/**
 * Every single-message sample of the vectors in this serialization (their exact bytes), plus
 * the validation samples' raw messages encoded here. A missing vectors folder is an error,
 * never a silent skip (test/vectors does the same).
 */
export function vectorFrames(serializer: Serializer): Uint8Array[] {
  const dir = join(VECTORS_DIR, 'singlemessage');
  if (!existsSync(dir)) throw new Error(`WAMP test vectors not found at ${dir}`);
  const frames: Uint8Array[] = [];
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort();
  for (const file of files.map((name) => join(dir, name))) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { samples?: unknown[] };
    for (const sample of doc.samples ?? []) {
      const s = sample as { serializers?: Record<string, Representation[]>; wmsg?: unknown[] };
      for (const rep of s.serializers?.[serializer.name] ?? []) {
        if (rep.bytes_hex !== undefined) frames.push(Buffer.from(rep.bytes_hex, 'hex'));
        else if (rep.bytes_base64 !== undefined) frames.push(Buffer.from(rep.bytes_base64, 'base64'));
        else if (rep.bytes !== undefined) frames.push(Buffer.from(rep.bytes, 'utf8'));
      }
      if (Array.isArray(s.wmsg)) {
        try {
          frames.push(serializer.encode(s.wmsg));
        } catch {
          /* not representable here */
        }
      }
    }
  }
  if (frames.length === 0) throw new Error(`no ${serializer.name} frames in ${dir}`);
  return frames;
}

// ---- mutations --------------------------------------------------------------------------------

// Octets that mean something to each format: type prefixes with lengths, reserved and extension
// types, 64-bit integers, indefinite lengths, tags.
const SPECIAL_BYTES: Record<SerializerName, readonly number[]> = {
  json: [
    0x5b, 0x5d, 0x7b, 0x7d, 0x22, 0x2c, 0x3a, 0x5c, 0x30, 0x39, 0x2d, 0x2e, 0x65, 0x20, 0x00, 0xff, 0xc3, 0xed, 0x80,
  ],
  msgpack: [
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x90,
    0x80, 0xa0, 0xff, 0x7f, 0x00,
  ],
  cbor: [
    0x1b, 0x3b, 0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0xc0, 0xc1, 0xc2, 0xc3, 0xd8, 0xd9, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa,
    0xfb, 0x1c, 0x80, 0xa0, 0x00,
  ],
};

// Tokens spliced into JSON text: numbers beyond 2^53 and beyond double range, escapes, bytes.
const JSON_TOKENS: readonly string[] = [
  '9007199254740993',
  '-9007199254740993',
  '18446744073709551616',
  '1e400',
  '-0',
  '1.0',
  '0.5',
  '1E2',
  '"\\ud800"',
  '"\\u0000AA=="',
  '"\\u0000"',
  'null',
  'true',
  '[]',
  '{}',
  '{"__proto__":{"acknowledge":true}}',
  '[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]',
  ' ',
  '\t',
  'NaN',
  'Infinity',
];

/** One to three byte-level mutations of `frame`; `other` is a second seed for splices. */
export function mutateBytes(rng: Rng, serializer: SerializerName, frame: Uint8Array, other: Uint8Array): Uint8Array {
  let b = Buffer.from(frame);
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const at = rng.int(b.length + 1);
    switch (rng.int(serializer === 'json' ? 11 : 10)) {
      case 0:
      case 1: {
        // flip a few bits
        if (b.length === 0) break;
        for (let k = 1 + rng.int(3); k > 0; k--) {
          const i = rng.int(b.length);
          b[i] = b[i]! ^ (1 << rng.int(8));
        }
        break;
      }
      case 2: // an octet that means something to the format
        if (b.length > 0) b[rng.int(b.length)] = rng.pick(SPECIAL_BYTES[serializer]);
        break;
      case 3: // insert
        b = Buffer.concat([
          b.subarray(0, at),
          rng.chance(0.5) ? Buffer.of(rng.pick(SPECIAL_BYTES[serializer])) : Buffer.from(rng.bytes(1 + rng.int(8))),
          b.subarray(at),
        ]);
        break;
      case 4: {
        // delete a range
        const end = Math.min(b.length, at + 1 + rng.int(8));
        b = Buffer.concat([b.subarray(0, at), b.subarray(end)]);
        break;
      }
      case 5: // truncate
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 6: {
        // duplicate a range
        const end = Math.min(b.length, at + 1 + rng.int(16));
        b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        break;
      }
      case 7: // trailing garbage
        b = Buffer.concat([b, Buffer.from(rng.bytes(1 + rng.int(6)))]);
        break;
      case 8: // splice: the head of one frame, the tail of another
        b = Buffer.concat([b.subarray(0, at), Buffer.from(other).subarray(rng.int(other.length + 1))]);
        break;
      case 9: // a whole random frame, now and then empty
        b = Buffer.from(rng.bytes(rng.int(12)));
        break;
      default: {
        // JSON: a token at a token boundary
        const text = b.toString('latin1');
        const bounds = [...text.matchAll(/[[\]{},:]/g)].map((m) => m.index);
        const i = bounds.length > 0 ? rng.pick(bounds) + 1 : at;
        const tail = rng.chance(0.5) ? text.slice(i).replace(/^[^,\]}]*/, '') : text.slice(i);
        b = Buffer.concat([b.subarray(0, i), Buffer.from(rng.pick(JSON_TOKENS), 'utf8'), Buffer.from(tail, 'latin1')]);
      }
    }
  }
  return b;
}

const CODES: readonly number[] = [
  1, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36, 48, 49, 50, 64, 65, 66, 67, 68, 69, 70,
];

function mutateDict(rng: Rng, d: unknown, ids: readonly number[]): unknown {
  const copy: Record<string, unknown> =
    typeof d === 'object' && d !== null && !Array.isArray(d) ? { ...(d as Record<string, unknown>) } : {};
  const key = rng.pick(OPTION_KEYS);
  switch (rng.int(4)) {
    case 0:
      copy[key] = randomValue(rng);
      break;
    case 1:
      copy[key] = rng.pick([true, false, null, 0, 1, 'yes', [], {}]);
      break;
    case 2:
      copy[key] = ids.length > 0 && rng.chance(0.7) ? [rng.pick(ids), randomValue(rng)] : [randomValue(rng)];
      break;
    default:
      return protoDict(copy);
  }
  return copy;
}

/**
 * One to three structural mutations of a decoded message (an array, whatever it holds): an
 * element swapped for a value of another type, a wrong code, elements dropped, added, swapped,
 * a poisoned Options/Details dict, the message replaced by a non-list. `ids` are IDs the peer
 * has seen (sessions, requests, registrations), so mutations also hit live state.
 */
export function mutateValue(rng: Rng, message: unknown[], ids: readonly number[]): unknown {
  let m: unknown = message.slice();
  for (let n = 1 + rng.int(3); n > 0; n--) {
    if (!Array.isArray(m)) return m;
    const a = m as unknown[];
    const i = rng.int(Math.max(a.length, 1));
    switch (rng.int(11)) {
      case 0:
      case 1:
        a[i] = randomValue(rng);
        break;
      case 2:
        a[0] = rng.chance(0.7) ? rng.pick(CODES) : randomValue(rng);
        break;
      case 3:
        a.splice(i, 1);
        break;
      case 4:
        a.splice(i, 0, randomValue(rng));
        break;
      case 5:
        a.length = rng.int(a.length + 1);
        break;
      case 6:
        a.push(randomValue(rng));
        break;
      case 7: {
        const j = rng.int(Math.max(a.length, 1));
        [a[i], a[j]] = [a[j], a[i]];
        break;
      }
      case 8: {
        // poison an Options/Details dict (or make one where none was)
        const dicts = a
          .map((v, k) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) ? k : -1))
          .filter((k) => k > 0);
        const k = dicts.length > 0 ? rng.pick(dicts) : Math.min(2, a.length);
        a[k] = mutateDict(rng, a[k], ids);
        break;
      }
      case 9: // an ID the peer has seen, or one just out of range
        a[Math.min(1 + rng.int(2), Math.max(a.length - 1, 0))] =
          ids.length > 0 && rng.chance(0.7) ? rng.pick(ids) : rng.pick([0, -1, 2 ** 53 + 2, 1.5, 2 ** 53]);
        break;
      default: // not a list at all
        m = rng.pick([{ 0: a[0], 1: a[1] }, a[0], null, 'x', [], [[...a]]]);
    }
  }
  return m;
}

// ---- deep nesting, spliced in as bytes ------------------------------------------------------------

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
