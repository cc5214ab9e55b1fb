// An event copy (routing/frames.ts, EventFrame) read from its CBOR here rather than by the
// general decoder: every node on an event's path reads one (its content, `b`, stays encoded), and
// in the plain form the routers write (routed-writer.ts) that is a walk over a dozen small items.
// For anything else (another key, a number outside ±2^53, indefinite lengths) readEventFrame
// answers undefined and the frame is decoded whole as before, so an odd but valid frame is still
// taken and a bad one refused with the same reason. What the fields say is checked afterwards,
// as for every frame (validateFrame).

import { cursor, MAJOR, Names, readBool, readInt, readLength, readName, readText } from './cbor-reader.ts';

const KEY_NAMES = ['t', 'src', 'ep', 'dsts', 'seqs', 'lives', 'ttl', 'ls', 'b', 'skip', 'seals'] as const;
const KEYS = new Names(KEY_NAMES);
const EVENT = new Names(['event']);
const NULL = 0xf6;

/** The event copy at `start` of `b` and where it ends; undefined if it is not one in the plain form. */
export function readEventFrame(
  b: Uint8Array,
  start: number,
): { frame: Record<string, unknown>; end: number } | undefined {
  if (start >= b.length || b[start]! >> 5 !== MAJOR.MAP) return undefined;
  cursor.at = start;
  const pairs = readLength(b);
  if (pairs < 0) return undefined;
  const frame: Record<string, unknown> = {};
  for (let n = 0; n < pairs; n++) {
    const key = readName(b, KEYS);
    if (key < 0) return undefined;
    const name = KEY_NAMES[key]!;
    let v: unknown;
    switch (name) {
      case 't':
        if (readName(b, EVENT) !== 0) return undefined;
        v = 'event';
        break;
      case 'src':
        v = readText(b);
        break;
      case 'ep':
      case 'ttl':
      case 'ls':
        v = readInt(b);
        break;
      case 'dsts':
        v = readList(b, readText);
        break;
      case 'seqs':
      case 'lives':
        v = readList(b, readInt);
        break;
      case 'b':
        v = readBytes(b);
        break;
      case 'skip':
        v = readBool(b);
        break;
      case 'seals':
        v = readList(b, readSeal);
        break;
    }
    if (v === undefined || cursor.at < 0) return undefined;
    frame[name] = v;
  }
  return frame.t === 'event' ? { frame, end: cursor.at } : undefined;
}

/** A definite array at the cursor, each item read by `item`; undefined (and the cursor -1) otherwise. */
function readList<T>(b: Uint8Array, item: (b: Uint8Array) => T | undefined): T[] | undefined {
  if (cursor.at >= b.length || b[cursor.at]! >> 5 !== MAJOR.ARRAY) return undefined;
  const n = readLength(b);
  if (n < 0 || n > b.length) return undefined;
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const v = item(b);
    if (v === undefined || cursor.at < 0) return undefined;
    out.push(v);
  }
  return out;
}

/** A byte string at the cursor, copied (a view would keep the link's whole chunk alive while the copy is kept). */
function readBytes(b: Uint8Array): Buffer | undefined {
  const at = cursor.at;
  if (at >= b.length || b[at]! >> 5 !== MAJOR.BYTES) return undefined;
  const n = readLength(b);
  if (n < 0 || cursor.at + n > b.length) return undefined;
  const start = cursor.at;
  cursor.at = start + n;
  return Buffer.from(b.subarray(start, start + n));
}

/** A seal's place: null, or [tag, digests]. */
function readSeal(b: Uint8Array): Buffer[] | null | undefined {
  if (b[cursor.at] === NULL) {
    cursor.at++;
    return null;
  }
  return readList(b, readBytes);
}
