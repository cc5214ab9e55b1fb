// Passthrough of a small JSON CALL or YIELD in one pass: the elements before the payload read on
// the frame's bytes, the payload checked (json-payload-check.ts) and never parsed. Only compact
// JSON as client libraries write it is read here: integers of at most 16 digits below 2^53,
// ASCII strings without escapes, dicts of ASCII text (parsed by JSON.parse on their own), no
// whitespace between the elements. Anything else gives null and the frame is decoded whole, as
// before, so what is refused and how stays JSON.parse's.
//
// The router then neither parses the payload nor writes it again: for a 32-octet argument that is
// most of the JSON codec's work per message (BENCHMARKS.md, issue 23).

import type { ArgsIndex, PayloadSplit } from './frame-head.ts';
import { checkJsonPayload } from './json-payload-check.ts';

const COMMA = 0x2c;
const QUOTE = 0x22;
const OPEN_DICT = 0x7b;
const CLOSE_DICT = 0x7d;
const CLOSE_LIST = 0x5d;
const BACKSLASH = 0x5c;
const NO_BYTES = new Uint8Array(0);
const LIMIT = 2 ** 53;
// Wider than 16 digits or from 2^53: JSON.parse and the exact path decide (json.ts).
const MAX_DIGITS = 16;
// Deeper dicts are left to the whole decode (the scan below counts braces, not grammar).
const MAX_DICT_DEPTH = 8;

// Strings up to this length are built in JavaScript (as cbor-read.ts does); longer ones natively.
const SHORT_STRING = 12;
// Buffer's own slicer; @types/node does not declare it.
type Slicing = Uint8Array & { latin1Slice(start: number, end: number): string };

let pos = 0;

/** The split of a small CALL or YIELD, or null (decode the frame whole). Throws InvalidPayload on bad UTF-8 in the payload. */
export function readJsonHead(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null {
  const last = frame.length - 1;
  if (frame[0] !== 0x5b || frame[last] !== CLOSE_LIST || !Buffer.isBuffer(frame)) return null;
  pos = 1;
  const type = integer(frame);
  const index = type < 0 ? undefined : argsIndex[type];
  if (index === undefined) return null;
  const decoded = new Array<unknown>(index);
  decoded[0] = type;
  for (let i = 1; i < index; i++) {
    if (frame[pos++] !== COMMA) return null;
    const c = frame[pos];
    let v: unknown;
    if (c === QUOTE) v = string(frame as unknown as Slicing);
    else if (c === OPEN_DICT) v = dict(frame as unknown as Slicing);
    else {
      const n = integer(frame);
      v = n < 0 ? undefined : n;
    }
    if (v === undefined) return null;
    decoded[i] = v;
  }
  if (frame[pos] !== COMMA) return null;
  const start = pos + 1;
  const count = checkJsonPayload(frame, start, last);
  if (count === 0) return null;
  return { type, index, head: NO_BYTES, decoded, start, end: last, count };
}

/**
 * A non-negative integer of at most MAX_DIGITS digits below 2^53 at pos; -1 if not one. Below
 * 2^53 every step of the sum is exact; a text of 2^53 or more sums to 2^53 or more (2^53 + 1
 * rounds to 2^53), so those, 2^53 itself included, are left to json.ts's exact path.
 */
function integer(b: Uint8Array): number {
  const from = pos;
  let n = 0;
  for (let c = b[pos]!; c >= 0x30 && c <= 0x39; c = b[++pos]!) n = n * 10 + (c - 0x30);
  const digits = pos - from;
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && b[from] === 0x30) || n >= LIMIT) return -1;
  return n;
}

/** A string of printable ASCII without escapes at pos; undefined if not one. */
function string(b: Slicing): string | undefined {
  const from = pos + 1;
  for (let i = from; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) {
      pos = i + 1;
      if (i - from > SHORT_STRING) return b.latin1Slice(from, i);
      let s = '';
      for (let k = from; k < i; k++) s += String.fromCharCode(b[k]!);
      return s;
    }
    if (c < 0x20 || c >= 0x7f || c === BACKSLASH) return undefined;
  }
  return undefined;
}

/** A dict of ASCII text at pos, parsed on its own; undefined if it is something else. */
function dict(b: Slicing): unknown {
  const from = pos;
  if (b[from + 1] === CLOSE_DICT) {
    pos = from + 2;
    return {};
  }
  let depth = 0;
  let inString = false;
  for (let i = from; i < b.length; i++) {
    const c = b[i]!;
    if (c >= 0x80 || c < 0x20) return undefined;
    if (inString) {
      // Escapes (\", \u0000 for binary values, ...) are left to the whole decode.
      if (c === BACKSLASH) return undefined;
      if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_DICT) {
      if (++depth > MAX_DICT_DEPTH) return undefined;
    } else if (c === CLOSE_DICT && --depth === 0) {
      pos = i + 1;
      try {
        const value: unknown = JSON.parse(b.latin1Slice(from, pos));
        return holdsLargeNumber(value) ? undefined : value;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Whether a parsed dict holds a number of magnitude 2^53 or more (json.ts's exact path then). */
function holdsLargeNumber(v: unknown): boolean {
  if (typeof v === 'number') return v >= LIMIT || v <= -LIMIT;
  if (typeof v !== 'object' || v === null) return false;
  for (const key in v) if (holdsLargeNumber((v as Record<string, unknown>)[key])) return true;
  return false;
}
