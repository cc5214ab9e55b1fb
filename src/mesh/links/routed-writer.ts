// A call's frames (call, chunk, cancel, result, error) and event copies (event, its content
// already encoded by its origin), written as CBOR here rather than by the general encoder: the
// octets are those cbor.encode() writes (the tests compare them; a call's frame embedded with its
// keys numbered, routing/field-numbers.ts), at a fraction of its cost. Keys and header texts
// (node IDs, realms, procedures, match policies) are kept encoded and copied; integers and
// booleans are written in place; a dict with no keys is one octet; only what the clients gave
// (args, kwargs, non-empty details) goes through the general encoder. A frame holding anything
// else (a key this file does not know, a number that is not a safe integer) is left to the
// general encoder whole.

import { cbor } from '../../serializers/cbor.ts';
import { FIELD_NUMBERS, FRAME_TYPES, type FrameType } from '../routing/field-numbers.ts';
import type { OutgoingFrame } from '../routing/frames.ts';
import type { CborItems } from '../../wamp/raw-payload.ts';
import { EMBEDDING, embedHead } from './embedded.ts';

/**
 * The frame's CBOR item (a map), or undefined when the general encoder must write it. The item
 * is a region of a slab that no later frame writes over (as writeCbor's output): it is queued
 * until the tick's envelope is joined, not copied out first. `embedded`: the map, its keys
 * numbered, as an embedded CBOR data item instead, as a call's frames cross the mesh (embedded.ts).
 */
export function writeRouted(frame: OutgoingFrame, embedded = false): Uint8Array | undefined {
  const t = frame.t;
  if (t !== 'call' && t !== 'result' && t !== 'error' && t !== 'chunk' && t !== 'cancel' && t !== 'event')
    return undefined;
  // A slab grown for a large frame serves that frame only: later small ones would keep it alive.
  if (scratch.length - at < HEADROOM || scratch.length > SLAB) {
    scratch = Buffer.allocUnsafeSlow(SLAB);
    at = 0;
  }
  base = at;
  // Room for the tag and the byte string's head, written once the map's length is known.
  const map = embedded ? EMBEDDING : 0;
  numbered = embedded;
  at = base + map + 1; // the map's head, written once its keys are counted
  const count = writeMap(frame as unknown as Record<string, unknown>);
  // No frame has 24 keys (the map's head would take two octets): the general encoder writes it.
  if (count < 0 || count >= 24) {
    at = base;
    return undefined;
  }
  scratch[base + map] = 0xa0 | count;
  if (!embedded) return scratch.subarray(base, at);
  // The heads just before the map (what is left of the room unused).
  return scratch.subarray(embedHead(scratch, base + map, at - base - map), at);
}

/** The frame's keys and values; their count, or -1 when the general encoder must write the frame. */
function writeMap(f: Record<string, unknown>): number {
  // for-in walks V8's cached keys of the frame's shape and loads each value by its slot
  // (Object.keys would make an array per frame, and f[key] over it a lookup by name).
  let count = 0;
  let n = 0;
  for (const key in f) {
    count++;
    // A node writes frames of few shapes (a caller's node calls, a callee's results): the key
    // at each place is mostly the last frame's, matched by identity before any lookup.
    let k: number;
    if (key === shapeKeys[n]) k = shapeIndex[n]!;
    else {
      k = keyIndex(key);
      shapeKeys[n] = key;
      shapeIndex[n] = k;
    }
    n++;
    if (k < 0) return -1;
    const v = f[key];
    if (k === RAW) {
      // A client's payload as the octets it came in (RawPayload.cborItems): args, kwargs if any.
      // Only ever made here (frames from peers carry no `raw`, frames.ts wireFields).
      const items = v as CborItems | undefined;
      if (!(items?.[0] instanceof Uint8Array) || !(items[1] === undefined || items[1] instanceof Uint8Array)) return -1;
      putKey(ARGS);
      put(items[0]);
      if (items[1] !== undefined) {
        count++;
        putKey(KWARGS);
        put(items[1]);
      }
      continue;
    }
    if (numbered && k >= FIELD_NUMBERS.length) return -1;
    putKey(k);
    if (numbered && k === T) {
      // The type by its number too (field-numbers.ts).
      const type = FRAME_TYPES.indexOf(v as FrameType);
      if (type < 0) return -1;
      room(1);
      scratch[at++] = type;
    } else if (k < RECURRING && typeof v === 'string') {
      // The same text as the last frame's is mostly the same string (a proxy's, a route's).
      if (v !== lastText[k]) {
        lastText[k] = v;
        lastItem[k] = textItem(v);
      }
      put(lastItem[k]!);
    } else if (k === SEALS) {
      if (!seals(v)) return -1;
    } else if (k === WHO) {
      if (!who(v)) return -1;
    } else if (!value(v, false)) return -1;
  }
  return count;
}

// The keys a call's frames have, in the order of their numbers (so that a key's index here is its
// number); those before RECURRING have texts that recur from frame to frame.
const KNOWN_KEYS = [
  ...FIELD_NUMBERS,
  // An event copy's (routing/frames.ts, EventFrame).
  'src',
  'ep',
  'dsts',
  'seqs',
  'lives',
  'ttl',
  'ls',
  'b',
  'skip',
  'seals',
  // Not a key on the wire: args and kwargs as octets (CallFrame.raw), written under those keys.
  'raw',
];
const T = KNOWN_KEYS.indexOf('t');
const RECURRING = KNOWN_KEYS.indexOf('id');
const ARGS = KNOWN_KEYS.indexOf('args');
const KWARGS = KNOWN_KEYS.indexOf('kwargs');
const WHO = KNOWN_KEYS.indexOf('who');
const SEALS = KNOWN_KEYS.indexOf('seals');
const RAW = KNOWN_KEYS.indexOf('raw');

const KEY_INDEX = new Map(KNOWN_KEYS.map((key, index) => [key, index]));

function keyIndex(key: string): number {
  return KEY_INDEX.get(key) ?? -1;
}

// Whether the frame being written is embedded: its keys then go as their numbers.
let numbered = false;

/** The key of index `k`: its number (under 24, one octet) in an embedded frame, its text in a bare one. */
function putKey(k: number): void {
  if (numbered) {
    room(1);
    scratch[at++] = k;
  } else put(KEY_ITEMS[k]!);
}

const shapeKeys: string[] = [];
const shapeIndex: number[] = [];

// The caller's identity (authid, authrole, ...) recurs from call to call: the last one written
// is kept with its octets while it holds only texts, numbers, booleans and nulls.
let lastWho: unknown[] = [];
let lastWhoItem: Uint8Array | undefined;

/** A frame's `who` (its texts recur); false when the general encoder must write the frame. */
function who(v: unknown): boolean {
  if (lastWhoItem !== undefined && Array.isArray(v) && v.length === lastWho.length) {
    let same = true;
    for (let i = 0; i < v.length && same; i++) same = v[i] === lastWho[i];
    if (same) {
      put(lastWhoItem);
      return true;
    }
  }
  const saved = at - base; // value() may move the frame to a new slab (room)
  if (!value(v, true)) return false;
  if (Array.isArray(v) && v.length < 24 && plainList(v)) {
    lastWho = v.slice();
    lastWhoItem = Uint8Array.prototype.slice.call(scratch, base + saved, at); // a copy
  }
  return true;
}

const lastText: (string | undefined)[] = Array.from({ length: RECURRING }, () => undefined);
const lastItem: Uint8Array[] = Array.from({ length: RECURRING }, () => new Uint8Array(0));

// Frames are written one after the other into a slab, [base, at) the one being written; a new
// slab when less than HEADROOM is left, or when a frame outgrows it.
const SLAB = 16 * 1024;
const HEADROOM = 2048;
let scratch = Buffer.allocUnsafeSlow(SLAB);
let base = 0;
let at = 0;

function room(n: number): void {
  if (at + n <= scratch.length) return;
  // The frame so far moves to the start of a slab sized for it (offsets relative to base stay
  // valid: textItem keeps one across this). Sized from the frame, not from its offset in the
  // old slab, or each large frame would make the next slab larger by all written before it.
  const written = at - base;
  const bigger = Buffer.allocUnsafeSlow(Math.max(SLAB, written + n + HEADROOM));
  scratch.copy(bigger, 0, base, at);
  scratch = bigger;
  base = 0;
  at = written;
}

function put(bytes: Uint8Array): void {
  const n = bytes.length;
  room(n);
  if (n <= 64) for (let i = 0; i < n; i++) scratch[at + i] = bytes[i]!;
  else scratch.set(bytes, at);
  at += n;
}

/** A head of major type `major` with argument `n` (< 2^32), in its shortest form. */
function head(major: number, n: number): void {
  room(9);
  const m = major << 5;
  if (n < 24) scratch[at++] = m | n;
  else if (n < 0x100) {
    scratch[at++] = m | 24;
    scratch[at++] = n;
  } else if (n < 0x10000) {
    scratch[at++] = m | 25;
    scratch[at++] = n >> 8;
    scratch[at++] = n & 0xff;
  } else {
    scratch[at++] = m | 26;
    scratch[at++] = n >>> 24;
    scratch[at++] = (n >>> 16) & 0xff;
    scratch[at++] = (n >>> 8) & 0xff;
    scratch[at++] = n & 0xff;
  }
}

/** As cbor.encode() writes an integer: the shortest head within 32 bits, 64 bits beyond (wide-ints.ts). */
function integer(v: number): void {
  if (v >>> 0 === v) return head(0, v);
  if (v >> 0 === v) return head(1, -1 - v);
  room(9);
  const n = v < 0 ? -1 - v : v;
  scratch[at++] = v < 0 ? 0x3b : 0x1b;
  scratch.writeUInt32BE(Math.floor(n / 2 ** 32), at);
  scratch.writeUInt32BE(n >>> 0, at + 4);
  at += 8;
}

/**
 * Writes one value of the frame; false when the general encoder must write the frame. A list of
 * plain values (an identity, most calls' arguments) is written here; `recurring`: its texts
 * recur (an identity's authid and authrole).
 */
function value(v: unknown, recurring: boolean): boolean {
  switch (typeof v) {
    case 'string':
      if (recurring && v.length <= MAX_KEPT) put(textItem(v));
      else text(v);
      return true;
    case 'number':
      if (!Number.isSafeInteger(v)) return false;
      integer(v);
      return true;
    case 'boolean':
      room(1);
      scratch[at++] = v ? 0xf5 : 0xf4;
      return true;
    case 'undefined':
      room(1);
      scratch[at++] = 0xf7;
      return true;
    case 'object':
      if (v === null) {
        room(1);
        scratch[at++] = 0xf6;
        return true;
      }
      if (v instanceof Uint8Array) {
        head(2, v.length);
        put(v);
        return true;
      }
      if (Array.isArray(v)) {
        if (v.length < 24 && plainList(v)) {
          head(4, v.length);
          for (let i = 0; i < v.length; i++) value(v[i], recurring);
          return true;
        }
      } else if (Object.getPrototypeOf(v) === Object.prototype && !hasOwnKeys(v)) {
        room(1);
        scratch[at++] = 0xa0;
        return true;
      }
      put(cbor.encode(v as unknown[]));
      return true;
    default:
      return false;
  }
}

/** An event copy's seals: a list of nulls and [tag, digests] pairs of octets; false for anything else. */
function seals(v: unknown): boolean {
  if (!Array.isArray(v) || v.length >= 24) return false;
  for (const x of v)
    if (x !== null && !(Array.isArray(x) && x.length === 2 && x[0] instanceof Uint8Array && x[1] instanceof Uint8Array))
      return false;
  head(4, v.length);
  for (const x of v as (readonly [Uint8Array, Uint8Array] | null)[]) {
    if (x === null) {
      room(1);
      scratch[at++] = 0xf6;
      continue;
    }
    head(4, 2);
    head(2, x[0].length);
    put(x[0]);
    head(2, x[1].length);
    put(x[1]);
  }
  return true;
}

/** Texts, safe integers, booleans and nulls only (what value() writes as cbor.encode() would). */
function plainList(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const type = typeof x;
    if (type === 'string' || type === 'boolean' || x === null) continue;
    if (type !== 'number' || !Number.isSafeInteger(x)) return false;
  }
  return true;
}

function hasOwnKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

/** A text string as cbor-x writes it: UTF-8 (a lone surrogate as its three octets under 64 characters). */
function text(s: string): void {
  const n = s.length;
  if (n >= 0x40) {
    const bytes = Buffer.from(s, 'utf8');
    head(3, bytes.length);
    put(bytes);
    return;
  }
  // At most 3 octets a UTF-16 unit; the head is written once the length is known.
  room(2 + 3 * n);
  const start = at;
  let p = start + 2;
  for (let i = 0; i < n; i++) {
    let c1 = s.charCodeAt(i);
    let c2: number;
    if (c1 < 0x80) scratch[p++] = c1;
    else if (c1 < 0x800) {
      scratch[p++] = (c1 >> 6) | 0xc0;
      scratch[p++] = (c1 & 0x3f) | 0x80;
    } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
      c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
      i++;
      scratch[p++] = (c1 >> 18) | 0xf0;
      scratch[p++] = ((c1 >> 12) & 0x3f) | 0x80;
      scratch[p++] = ((c1 >> 6) & 0x3f) | 0x80;
      scratch[p++] = (c1 & 0x3f) | 0x80;
    } else {
      scratch[p++] = (c1 >> 12) | 0xe0;
      scratch[p++] = ((c1 >> 6) & 0x3f) | 0x80;
      scratch[p++] = (c1 & 0x3f) | 0x80;
    }
  }
  const length = p - start - 2;
  if (length < 24) {
    scratch[start] = 0x60 | length;
    scratch.copyWithin(start + 1, start + 2, p);
    at = p - 1;
  } else {
    scratch[start] = 0x78;
    scratch[start + 1] = length;
    at = p;
  }
}

// Encoded header texts, by text: bounded (a stranger's calls name procedures at will), and
// forgotten all at once when full (the ones in use come back at their next frame).
const MAX_KEPT = 64;
const KEPT = 512;
const kept = new Map<string, Uint8Array>();

function textItem(s: string): Uint8Array {
  let item = kept.get(s);
  if (item === undefined) {
    if (kept.size >= KEPT) kept.clear();
    const saved = at - base; // text() may move the frame to a new slab (room)
    text(s);
    item = Uint8Array.prototype.slice.call(scratch, base + saved, at); // a copy (Buffer's slice is a view)
    at = base + saved;
    kept.set(s, item);
  }
  return item;
}

const KEY_ITEMS = KNOWN_KEYS.map(textItem);
