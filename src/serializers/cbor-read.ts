// A CBOR decoder for the frames a router mostly gets: plain values only (integers up to 32 bits,
// floats, well-formed text strings, booleans, null, lists, dicts with text keys). Anything else
// gives OTHER and the frame goes to cbor-x as before, so the values and errors of every frame
// are what cbor-x makes of it: integers beyond ±2^53 (BigInt), byte strings, tags, undefined,
// half floats, indefinite lengths, invalid UTF-8 (which cbor-x turns into U+FFFD), the key
// "__proto__" (which cbor-x renames), large counts (cbor-x's allocation limits), deep nesting,
// anything cut short and trailing bytes. 64-bit integers within ±2^53 are read here, as the
// numbers cbor.ts makes of them.
//
// Why not cbor-x for these too: its per-frame set-up (a DataView stored on every frame, decoder
// state for records and bundled strings) and its JavaScript string decoding were a third of the
// router's CPU time per small call (BENCHMARKS.md, issue 23).

import type { ArgsIndex, PayloadSplit } from './frame-head.ts';
import { checkCborPayload } from './payload-check.ts';
import { isValidUtf8 } from './utf8.ts';

/** What read() returns for a frame it leaves to cbor-x. */
export const OTHER: unknown = Symbol('other');

// Lists and dicts nested deeper than this, and counts larger, are left to cbor-x.
const MAX_DEPTH = 32;
const MAX_COUNT = 256;
// Strings up to this length are built in JavaScript, one character at a time; longer ones by
// Buffer's native slicers. V8 joins a string shorter than 13 into a flat one; longer, it would
// be a chain of pieces that costs more to read (when re-encoded) than the native call.
const SHORT_STRING = 12;
const TWO_32 = 0x1_0000_0000;

// Buffer's own slicers, which toString() calls after checking its arguments; @types/node
// does not declare them.
type Slicing = Buffer & {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
};

// The frame being read and the position in it: module state (a decode never re-enters).
const NO_FRAME = Buffer.alloc(0) as Slicing;
let src = NO_FRAME;
let pos = 0;
let end = 0;

/** The frame's value, or OTHER. */
export function readCbor(frame: Uint8Array): unknown {
  src = (Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)) as Slicing;
  pos = 0;
  end = frame.length;
  const value = item(0);
  const read = pos === end ? value : OTHER;
  src = NO_FRAME; // not kept alive until the next frame
  return read;
}

const NO_BYTES = new Uint8Array(0);

/**
 * Passthrough in one pass: the elements before the payload read as values (`decoded`), the
 * payload checked on its bytes (payload-check.ts) and not read. Null when the frame is not a
 * short list (at most 23 elements) of a type in `argsIndex`, when the elements before the
 * payload are not all plain values, or when the payload is not plain (frame-head.ts's split
 * then has its turn). Throws InvalidPayload on a string in the payload that is not UTF-8.
 */
export function readCborHead(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null {
  const length = frame[0]! - 0x80;
  if (!(length >= 1 && length <= 23)) return null;
  const type = frame[1]! < 24 ? frame[1]! : frame[1] === 0x18 ? frame[2]! : -1;
  const index = argsIndex[type];
  if (index === undefined || length <= index) return null;
  src = (Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)) as Slicing;
  pos = 1;
  end = frame.length;
  const decoded = new Array<unknown>(index);
  for (let i = 0; i < index; i++) {
    const v = item(1);
    if (v === OTHER) return null;
    decoded[i] = v;
  }
  src = NO_FRAME;
  const start = pos;
  const count = length - index;
  if (!checkCborPayload(frame, start, end, count)) return null;
  return { type, index, head: NO_BYTES, decoded, start, end, count };
}

function item(depth: number): unknown {
  if (pos >= end) return OTHER;
  const ib = src[pos++]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  let arg: number;
  if (info < 24) arg = info;
  else if (info === 24) {
    if (pos >= end) return OTHER;
    arg = src[pos++]!;
  } else if (info === 25) {
    if (major === 7 || pos + 2 > end) return OTHER; // half floats: cbor-x
    arg = (src[pos]! << 8) | src[pos + 1]!;
    pos += 2;
  } else if (info === 26) {
    if (pos + 4 > end) return OTHER;
    if (major === 7) {
      const f = src.readFloatBE(pos);
      pos += 4;
      return f;
    }
    arg = src.readUInt32BE(pos);
    pos += 4;
  } else if (info === 27) {
    if (pos + 8 > end) return OTHER;
    if (major === 7) {
      const f = src.readDoubleBE(pos);
      pos += 8;
      return f;
    }
    if (major > 1) return OTHER; // 64-bit lengths
    // A 64-bit integer is a number within ±2^53, as cbor.ts makes of it; beyond, cbor-x
    // decodes it exactly (BigInt).
    const high = src.readUInt32BE(pos);
    const low = src.readUInt32BE(pos + 4);
    pos += 8;
    if (major === 0 ? high < 0x20_0000 || (high === 0x20_0000 && low === 0) : high < 0x20_0000)
      return major === 0 ? high * TWO_32 + low : -1 - (high * TWO_32 + low);
    return OTHER;
  } else return OTHER; // reserved values, indefinite lengths
  switch (major) {
    case 0:
      return arg;
    case 1:
      return -1 - arg;
    case 3:
      return text(arg);
    case 4: {
      if (depth >= MAX_DEPTH || arg > MAX_COUNT || arg > end - pos) return OTHER;
      const list = new Array<unknown>(arg);
      for (let i = 0; i < arg; i++) {
        const v = item(depth + 1);
        if (v === OTHER) return OTHER;
        list[i] = v;
      }
      return list;
    }
    case 5: {
      if (depth >= MAX_DEPTH || arg > MAX_COUNT || 2 * arg > end - pos) return OTHER;
      const dict: Record<string, unknown> = {};
      for (let i = 0; i < arg; i++) {
        const kb = src[pos]!;
        if (kb >> 5 !== 3 || (kb & 0x1f) > 24) return OTHER;
        pos++;
        let length = kb & 0x1f;
        if (length === 24) {
          if (pos >= end) return OTHER;
          length = src[pos++]!;
        }
        const key = mapKey(length);
        if (key === OTHER || key === '__proto__') return OTHER;
        const v = item(depth + 1);
        if (v === OTHER) return OTHER;
        dict[key as string] = v;
      }
      return dict;
    }
    case 7:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      return OTHER;
    default:
      return OTHER; // byte strings, tags
  }
}

// Dict keys recur: the same few names in every message of a kind. The last ASCII key read is
// kept in a slot chosen by its length and first and last octets, and given again when the next
// key's octets are its characters: no new string, and V8 already has that string among its
// property names once it named one (a new string as a key is looked up in V8's table of names
// each time a dict gets it).
const KEY_SLOTS = 256;
const keys: string[] = new Array<string>(KEY_SLOTS).fill('');

/** text() of a dict key. */
function mapKey(length: number): unknown {
  const from = pos;
  if (length === 0 || length > SHORT_STRING || from + length > end) return text(length);
  const slot = (length * 61 + src[from]! * 7 + src[from + length - 1]!) & (KEY_SLOTS - 1);
  const known = keys[slot]!;
  if (known.length === length) {
    let i = 0;
    while (i < length && known.charCodeAt(i) === src[from + i]) i++;
    if (i === length) {
      pos = from + length;
      return known;
    }
  }
  const key = text(length);
  // Only an ASCII key has as many characters as octets; any other is not kept.
  if (typeof key === 'string' && key.length === length) keys[slot] = key;
  return key;
}

/** The text string of `length` octets at pos, or OTHER when it is cut short or not UTF-8. */
function text(length: number): unknown {
  const from = pos;
  const to = from + length;
  if (to > end) return OTHER;
  pos = to;
  if (length <= SHORT_STRING) {
    for (let i = from; i < to; i++)
      if (src[i]! >= 0x80) return isValidUtf8(src, from, to) ? src.utf8Slice(from, to) : OTHER;
    return shortAscii(src, from, length);
  }
  for (let i = from; i < to; i++) {
    if (src[i]! >= 0x80) return isValidUtf8(src, i, to) ? src.utf8Slice(from, to) : OTHER;
  }
  return src.latin1Slice(from, to);
}

/**
 * `length` (at most SHORT_STRING) ASCII octets at `at` as a string: one fromCharCode call with
 * them all makes one string, where adding them one at a time made a string per character (half
 * the time, and the garbage, of a dict's keys and short values).
 */
function shortAscii(b: Buffer, at: number, length: number): string {
  const c = String.fromCharCode;
  switch (length) {
    case 0:
      return '';
    case 1:
      return c(b[at]!);
    case 2:
      return c(b[at]!, b[at + 1]!);
    case 3:
      return c(b[at]!, b[at + 1]!, b[at + 2]!);
    case 4:
      return c(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
    case 5:
      return c(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!);
    case 6:
      return c(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!);
    case 7:
      return c(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!);
    case 8:
      return c(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
    default: {
      // 9 to 12: the first eight and the rest, two strings joined (flat below 13 characters).
      const head = c(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
      if (length === 9) return head + c(b[at + 8]!);
      if (length === 10) return head + c(b[at + 8]!, b[at + 9]!);
      if (length === 11) return head + c(b[at + 8]!, b[at + 9]!, b[at + 10]!);
      return head + c(b[at + 8]!, b[at + 9]!, b[at + 10]!, b[at + 11]!);
    }
  }
}
