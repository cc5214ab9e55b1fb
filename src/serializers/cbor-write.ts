// A CBOR encoder for what the router mostly writes: numbers, strings, booleans, null, lists and
// plain dicts. It writes the same octets as cbor-x configured as in cbor.ts after widenInts()
// (test/core/cbor-codec.test.ts compares them), without cbor-x's per-message set-up
// and without widenInts' walk. Anything else (byte strings, BigInt beyond 64 bits, Maps, class
// instances, undefined, deep nesting) gives null, and cbor.ts hands the message to cbor-x.

// Integers of these magnitudes are written as 64-bit integers (major type 0 or 1, info 27):
// cbor-x writes a number outside the 32-bit range as a float64, which peers reject as an ID,
// so widenInts() makes them BigInt (wide-ints.ts); the same ranges here.
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
const LIMIT = 2 ** 53;
const TWO_32 = 0x1_0000_0000;

// Deeper than this, cbor-x gets the value (and its own error for a cycle).
const MAX_DEPTH = 64;
// Strings of this many UTF-16 units or more are written by Buffer's native UTF-8 writer, as
// cbor-x does from this length (shorter ones in JavaScript, lone surrogates included, as cbor-x).
const NATIVE_STRING = 0x40;
// A new slab when less than this is left, so most messages need no growing.
const SLAB = 8192;
const HEADROOM = 2048;

// Buffer's own UTF-8 writer, which write() calls after checking its arguments; @types/node
// does not declare it.
type Writing = Buffer & { utf8Write(s: string, offset: number, max: number): number };

let target = Buffer.allocUnsafeSlow(SLAB) as Writing;
let pos = 0;
let start = 0;

/**
 * `value` as a CBOR frame, or null. The frame is a region of a slab no later encoding writes
 * over, like cbor-x's output, so it may be kept (queued for a slow reader).
 */
export function writeCbor(value: unknown): Buffer | null {
  if (target.length - pos < HEADROOM) {
    target = Buffer.allocUnsafeSlow(SLAB) as Writing;
    pos = 0;
  }
  start = pos;
  if (!write(value, 0)) {
    pos = start;
    return null;
  }
  return target.subarray(start, pos);
}

/**
 * Passthrough: `head` written as the start of a list that goes on with `count` elements, and
 * those elements copied after it from `payload`'s octets [from, to): one frame. Null as writeCbor.
 */
export function writeCborSpliced(
  head: unknown[],
  count: number,
  payload: Uint8Array,
  from: number,
  to: number,
): Buffer | null {
  const length = head.length + count;
  if (length >= 24 || writeCbor(head) === null) return null;
  target[start] = 0x80 | length;
  room(to - from);
  for (let i = from; i < to; i++) target[pos++] = payload[i]!;
  return target.subarray(start, pos);
}

/** Room for `n` more octets, moving this frame's octets so far to a larger slab if needed. */
function room(n: number): void {
  if (pos + n <= target.length) return;
  const written = pos - start;
  const next = Buffer.allocUnsafeSlow(Math.max(SLAB, 2 * (written + n))) as Writing;
  target.copy(next, 0, start, pos);
  target = next;
  start = 0;
  pos = written;
}

/** A head: major type (shifted) and argument up to 2^32 - 1. */
function head(major: number, arg: number): void {
  if (arg < 24) target[pos++] = major | arg;
  else if (arg < 0x100) {
    target[pos++] = major | 24;
    target[pos++] = arg;
  } else if (arg < 0x10000) {
    target[pos++] = major | 25;
    target[pos++] = arg >> 8;
    target[pos++] = arg & 0xff;
  } else {
    target[pos++] = major | 26;
    target[pos++] = arg >>> 24;
    target[pos++] = (arg >>> 16) & 0xff;
    target[pos++] = (arg >>> 8) & 0xff;
    target[pos++] = arg & 0xff;
  }
}

function write(v: unknown, depth: number): boolean {
  room(9);
  switch (typeof v) {
    case 'string':
      string(v);
      return true;
    case 'number':
      number(v);
      return true;
    case 'boolean':
      target[pos++] = v ? 0xf5 : 0xf4;
      return true;
    case 'object': {
      if (v === null) {
        target[pos++] = 0xf6;
        return true;
      }
      if (depth >= MAX_DEPTH) return false;
      const kind = (v as object).constructor;
      if (kind === Array) {
        const list = v as unknown[];
        head(0x80, list.length);
        for (let i = 0; i < list.length; i++) if (!write(list[i], depth + 1)) return false;
        return true;
      }
      if (kind === Object) {
        // An empty dict (most messages' details and options) needs no list of its keys.
        if (isEmpty(v)) {
          target[pos++] = 0xa0;
          return true;
        }
        const keys = Object.keys(v);
        head(0xa0, keys.length);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!;
          room(9);
          string(key);
          if (!write((v as Record<string, unknown>)[key], depth + 1)) return false;
        }
        return true;
      }
      return false;
    }
    case 'bigint':
      if (v >= 0n && v < 1n << 64n) {
        target[pos++] = 0x1b;
        target.writeBigUInt64BE(v, pos);
      } else if (v < 0n && v > -(1n << 64n)) {
        target[pos++] = 0x3b;
        target.writeBigUInt64BE(-v - 1n, pos);
      } else return false;
      pos += 8;
      return true;
    default:
      return false;
  }
}

/** No enumerable key at all, own or inherited (so Object.keys would give none). */
function isEmpty(v: object): boolean {
  for (const _ in v) return false;
  return true;
}

function number(v: number): void {
  // The most common first; the ranges do not overlap, so the order changes no octet.
  if (v >>> 0 === v) head(0x00, v);
  else if (v >> 0 === v) head(0x20, -1 - v);
  else if ((v > UINT32_MAX || v < INT32_MIN) && v <= LIMIT && v >= -LIMIT && Number.isInteger(v)) {
    // What cbor-x writes for BigInt(v): a 64-bit integer.
    const n = v < 0 ? -1 - v : v;
    const high = Math.floor(n / TWO_32);
    const low = n - high * TWO_32;
    target[pos] = v < 0 ? 0x3b : 0x1b;
    target[pos + 1] = 0;
    target[pos + 2] = high >>> 16;
    target[pos + 3] = (high >>> 8) & 0xff;
    target[pos + 4] = high & 0xff;
    target[pos + 5] = low >>> 24;
    target[pos + 6] = (low >>> 16) & 0xff;
    target[pos + 7] = (low >>> 8) & 0xff;
    target[pos + 8] = low & 0xff;
    pos += 9;
  } else {
    // The 32-bit negative integers below INT32_MIN are wide (above); everything left is a float.
    target[pos++] = 0xfb;
    target.writeDoubleBE(v, pos);
    pos += 8;
  }
}

function string(s: string): void {
  const units = s.length;
  if (units >= NATIVE_STRING) {
    // As cbor-x: the head sized for the most octets the string can take, shrunk after.
    const max = 3 * units;
    room(5 + max);
    const headSize = units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
    const length = target.utf8Write(s, pos + headSize, max);
    const needed = length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
    if (needed !== headSize) target.copyWithin(pos + needed, pos + headSize, pos + headSize + length);
    head(0x60, length);
    pos += length;
    return;
  }
  room(2 + 3 * units);
  // At most 63 units, at most 189 octets: a head of one or two octets.
  let at = pos + (units < 0x18 ? 1 : 2);
  const from = at;
  for (let i = 0; i < units; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) target[at++] = c;
    else if (c < 0x800) {
      target[at++] = (c >> 6) | 0xc0;
      target[at++] = (c & 0x3f) | 0x80;
    } else {
      const next = s.charCodeAt(i + 1);
      if ((c & 0xfc00) === 0xd800 && (next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (next & 0x03ff);
        i++;
        target[at++] = (c >> 18) | 0xf0;
        target[at++] = ((c >> 12) & 0x3f) | 0x80;
        target[at++] = ((c >> 6) & 0x3f) | 0x80;
        target[at++] = (c & 0x3f) | 0x80;
      } else {
        target[at++] = (c >> 12) | 0xe0;
        target[at++] = ((c >> 6) & 0x3f) | 0x80;
        target[at++] = (c & 0x3f) | 0x80;
      }
    }
  }
  const length = at - from;
  const headSize = from - pos;
  const needed = length < 0x18 ? 1 : 2;
  if (needed !== headSize) target.copyWithin(pos + needed, from, at);
  head(0x60, length);
  pos += length;
}
