// The routing header of a call's frame (call, chunk, cancel, result, error), read from its CBOR
// without decoding the rest: a node in the middle of a call's path needs only where the frame
// goes (routing/calls.ts), and sends its bytes on as they came (envelope.ts). Details, args and
// kwargs are skipped over by their lengths, so reading the header costs the same whatever the
// payload holds.
//
// Only the plain form is read here: a definite-length map with text keys, text values and
// integers in their shortest heads up to 2^53, as the routers' CBOR encoder writes them. For
// anything else (and for every other kind of frame) readRoutedHeader answers undefined and the
// frame is decoded and validated whole as before, so an odd but valid frame is still taken and
// a bad one still refused with the same reason.

import { cborItemEnd } from '../../serializers/payload-span.ts';
import { PassedFrame, type RoutedFrame } from '../routing/frames.ts';

const ARRAY = 4;
const MAP = 5;
const TEXT = 3;
const UINT = 0;
const NINT = 1;
const FALSE = 0xf4;
const TRUE = 0xf5;
/** Header texts up to this length are kept for reuse (readText). */
const SHORT_TEXT = 32;

let at = 0; // the reader's position, shared by the helpers below (one frame at a time)

const octets = (names: readonly string[]) => names.map((name) => Buffer.from(name, 'latin1'));
// The header's keys (and the payload's, checked for their kind), by their index in KEYS.
const Key = {
  t: 0,
  origin: 1,
  dst: 2,
  id: 3,
  realm: 4,
  progress: 5,
  mode: 6,
  error: 7,
  details: 8,
  kwargs: 9,
  args: 10,
} as const;
const KEYS = octets(Object.keys(Key));
const TYPE_NAMES = ['call', 'chunk', 'cancel', 'result', 'error'] as const;
const TYPES = octets(TYPE_NAMES);

/**
 * The CBOR item at `start` of `b` as a PassedFrame (its `encoded` the item's bytes) if it is a
 * call's frame in the plain form; undefined otherwise.
 */
export function readRoutedHeader(b: Uint8Array, start = 0): PassedFrame | undefined {
  if (start >= b.length || b[start]! >> 5 !== MAP) return undefined;
  at = start;
  const pairs = readLength(b);
  if (pairs < 0) return undefined;
  let t: RoutedFrame['t'] | undefined;
  let origin: string | undefined;
  let dst: string | undefined;
  let id: number | undefined;
  let realm: string | undefined;
  let progress: boolean | undefined;
  let mode: string | undefined;
  let error: string | undefined;
  for (let n = 0; n < pairs; n++) {
    // Keys and the type are matched as octets: no string is made for them.
    const key = readName(b, KEYS);
    if (key === -1) return undefined;
    switch (key) {
      case Key.t: {
        const type = readName(b, TYPES);
        if (type < 0) return undefined;
        t = TYPE_NAMES[type];
        continue;
      }
      case Key.origin:
        origin = readText(b);
        break;
      case Key.dst:
        dst = readText(b);
        break;
      case Key.realm:
        realm = readText(b);
        break;
      case Key.mode:
        mode = readText(b);
        break;
      case Key.error:
        error = readText(b);
        break;
      case Key.id:
        id = readInt(b);
        break;
      case Key.progress: {
        const v = b[at];
        if (v !== TRUE && v !== FALSE) return undefined;
        progress = v === TRUE;
        at++;
        continue;
      }
      // What the node the frame is for will take as a dict or a list; their content is its to check.
      case Key.details:
      case Key.kwargs:
      case Key.args: {
        if (at >= b.length || b[at]! >> 5 !== (key === Key.args ? ARRAY : MAP)) return undefined;
        const end = cborItemEnd(b, at);
        if (end < 0) return undefined;
        at = end;
        continue;
      }
      default: {
        const end = cborItemEnd(b, at);
        if (end < 0) return undefined;
        at = end;
        continue;
      }
    }
    if (at < 0) return undefined;
  }
  if (at < 0 || t === undefined) return undefined;
  if (origin === undefined || dst === undefined || id === undefined || realm === undefined) return undefined;
  if ((t === 'chunk' || t === 'result') && progress === undefined) return undefined;
  if (t === 'cancel' && mode === undefined) return undefined;
  if (t === 'error' && error === undefined) return undefined;
  return new PassedFrame(
    {
      t,
      origin,
      dst,
      id,
      realm,
      progress: progress ?? false,
      mode: mode ?? '',
      error: error ?? '',
    },
    b.subarray(start, at),
  );
}

/** The length in the head at `at` (a map's pairs, a text's octets), moving past the head; -1 if not plain. */
function readLength(b: Uint8Array): number {
  const info = b[at]! & 0x1f;
  if (info < 24) {
    at += 1;
    return info;
  }
  if (info === 24 && at + 1 < b.length) {
    const n = b[at + 1]!;
    at += 2;
    return n;
  }
  if (info === 25 && at + 2 < b.length) {
    const n = (b[at + 1]! << 8) | b[at + 2]!;
    at += 3;
    return n;
  }
  if (info === 26 && at + 4 < b.length) {
    const n = b[at + 1]! * 2 ** 24 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    at += 5;
    return n;
  }
  at = -1;
  return -1;
}

/**
 * Which of `names` the text string at `at` is (moving past it): its index, -2 for another
 * text, -1 (and `at` -1) if there is no text string there.
 */
function readName(b: Uint8Array, names: readonly Uint8Array[]): number {
  if (at >= b.length || b[at]! >> 5 !== TEXT) {
    at = -1;
    return -1;
  }
  const len = readLength(b);
  if (len < 0 || at + len > b.length) {
    at = -1;
    return -1;
  }
  const start = at;
  at += len;
  next: for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    if (name.length !== len) continue;
    for (let i = 0; i < len; i++) if (b[start + i] !== name[i]) continue next;
    return k;
  }
  return -2;
}

// The header's texts (node IDs, realms) are few and recur in every frame: the last RECENT of
// them are kept with their octets and handed out again, which spares making the string and,
// for the lookups that follow (routes, the hop table), hashing it anew.
const RECENT = 16;
const recentOctets: Uint8Array[] = [];
const recentTexts: string[] = [];
let recentNext = 0;

/** A text string at `at`, moving past it; undefined (and `at` -1) if there is none. */
function readText(b: Uint8Array): string | undefined {
  if (at >= b.length || b[at]! >> 5 !== TEXT) {
    at = -1;
    return undefined;
  }
  const len = readLength(b);
  if (len < 0 || at + len > b.length) {
    at = -1;
    return undefined;
  }
  const start = at;
  at += len;
  if (len > SHORT_TEXT) return Buffer.from(b.buffer, b.byteOffset + start, len).toString('utf8');
  next: for (let k = 0; k < recentOctets.length; k++) {
    const known = recentOctets[k]!;
    if (known.length !== len) continue;
    for (let i = 0; i < len; i++) if (b[start + i] !== known[i]) continue next;
    return recentTexts[k]!;
  }
  const text = Buffer.from(b.buffer, b.byteOffset + start, len).toString('utf8');
  recentOctets[recentNext] = b.slice(start, start + len);
  recentTexts[recentNext] = text;
  recentNext = (recentNext + 1) % RECENT;
  return text;
}

/** An integer within ±2^53 at `at`, moving past it; undefined (and `at` -1) otherwise. */
function readInt(b: Uint8Array): number | undefined {
  if (at >= b.length) {
    at = -1;
    return undefined;
  }
  const major = b[at]! >> 5;
  const info = b[at]! & 0x1f;
  if (major !== UINT && major !== NINT) {
    at = -1;
    return undefined;
  }
  let n: number;
  if (info === 27) {
    if (at + 8 >= b.length) {
      at = -1;
      return undefined;
    }
    n = 0;
    for (let k = 1; k <= 8; k++) n = n * 256 + b[at + k]!;
    at += 9;
  } else {
    n = readLength(b);
    if (n < 0) return undefined;
  }
  const value = major === UINT ? n : -1 - n;
  if (!Number.isSafeInteger(value)) {
    at = -1;
    return undefined;
  }
  return value;
}
