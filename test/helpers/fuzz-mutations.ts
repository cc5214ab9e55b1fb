// Mutators of the fuzz suites: on a frame's bytes (flips, truncation, insertion, splices of
// format-specific octets) and on the decoded message (wrong types, codes, elements, options).

import type { SerializerName } from '../../src/serializers/index.ts';
import type { Rng } from './fuzz-rng.ts';
import { OPTION_KEYS, protoDict, randomValue } from './fuzz-values.ts';

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
