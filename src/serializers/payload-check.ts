// Checks a frame's payload (Arguments|list, ArgumentsKw|dict) on its bytes, so the router can
// forward it to peers of the same serialization without ever decoding it. Nothing is built:
// the walk reads item heads and lengths and checks the UTF-8 of every string and key.
//
// Three outcomes. Plain and well-formed: only what all three serializations write alike
// (integers, floats, strings, byte strings, booleans, null, lists, dicts with string keys),
// which the decoder is sure to accept. Invalid UTF-8 in a string: throws InvalidPayload (the
// CBOR and MsgPack decoders would silently turn it into U+FFFD, so only the bytes tell). Anything
// else (tags, extension types, non-string keys, indefinite lengths, `undefined`, lists and dicts
// nested deeper than MAX_DEPTH, an item cut short, an empty payload): false, and the caller
// decodes the frame the ordinary way, which gives the decoder's own error for what is malformed.
// CBOR and MessagePack here; JSON in json-payload-check.ts.

import { isValidUtf8 } from './utf8.ts';

export class InvalidPayload extends Error {
  readonly code = 'invalid_payload';
}

/** Lists and dicts nested deeper than this are left to the decoder. */
export const MAX_DEPTH = 100;
/** What the walks return for anything only the decoder should judge. */
export const OTHER = -1;

export function badUtf8(): never {
  throw new InvalidPayload('a string in the payload is not valid UTF-8');
}

// ---- CBOR (RFC 8949) ----

/** Past the CBOR item at i, or OTHER. */
function cborItem(b: Uint8Array, i: number, end: number, depth: number): number {
  if (i >= end) return OTHER;
  const ib = b[i]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  let arg: number;
  let at: number;
  if (info < 24) {
    arg = info;
    at = i + 1;
  } else if (info <= 27) {
    const size = 1 << (info - 24);
    at = i + 1 + size;
    if (at > end) return OTHER;
    arg = 0;
    for (let k = i + 1; k < at; k++) arg = arg * 256 + b[k]!;
  } else return OTHER; // reserved (28-30) or indefinite length (31)
  switch (major) {
    case 0:
    case 1:
      return at;
    case 2:
      return at + arg <= end ? at + arg : OTHER;
    case 3:
      if (at + arg > end) return OTHER;
      if (!isValidUtf8(b, at, at + arg)) badUtf8();
      return at + arg;
    case 4:
      if (depth > MAX_DEPTH) return OTHER;
      for (; arg > 0; arg--) {
        at = cborItem(b, at, end, depth + 1);
        if (at < 0) return OTHER;
      }
      return at;
    case 5:
      if (depth > MAX_DEPTH) return OTHER;
      for (; arg > 0; arg--) {
        // Keys are text strings: WAMP dicts have string keys.
        if (at >= end || b[at]! >> 5 !== 3) return OTHER;
        at = cborItem(b, at, end, depth + 1);
        if (at < 0) return OTHER;
        at = cborItem(b, at, end, depth + 1);
        if (at < 0) return OTHER;
      }
      return at;
    case 7:
      // false, true, null; half, single and double floats.
      return info === 20 || info === 21 || info === 22 || info >= 25 ? at : OTHER;
    default:
      return OTHER; // tags
  }
}

/** Whether b[start, end) is exactly `count` plain CBOR items: a non-empty list, or a list and a non-empty dict. */
export function checkCborPayload(b: Uint8Array, start: number, end: number, count: number): boolean {
  // An empty payload is left out of forwarded messages (see marshal.ts): not passed through.
  if (count === 1 ? cborLength(b, start, 4) < 1 : count !== 2 || cborLength(b, start, 4) < 0) return false;
  let i = cborItem(b, start, end, 1);
  if (i < 0) return false;
  if (count === 2) {
    if (cborLength(b, i, 5) < 1) return false;
    i = cborItem(b, i, end, 1);
  }
  return i === end;
}

/**
 * Past the CBOR item at i if it is plain as checkCborPayload takes a payload's items, OTHER if it
 * is not (or does not end by `end`); throws InvalidPayload for invalid UTF-8. For a reader that
 * finds where a payload's items end and checks them in one walk (mesh/links/routed-reader.ts).
 */
export function plainCborItemEnd(b: Uint8Array, i: number, end: number): number {
  return cborItem(b, i, end, 1);
}

/**
 * What checkCborPayload asks of a payload's heads, for items already walked by plainCborItemEnd:
 * a non-empty list at `args` (count 1), or a list there and a non-empty dict at `kwargs` (count 2).
 */
export function cborPayloadHeads(b: Uint8Array, args: number, kwargs: number, count: number): boolean {
  if (count === 1) return cborLength(b, args, 4) >= 1;
  return count === 2 && cborLength(b, args, 4) >= 0 && cborLength(b, kwargs, 5) >= 1;
}

/** The declared length of the definite-length item of major type `major` at i; -1 if it is not one. */
function cborLength(b: Uint8Array, i: number, major: number): number {
  const ib = b[i];
  if (ib === undefined || ib >> 5 !== major) return -1;
  const info = ib & 0x1f;
  if (info < 24) return info;
  if (info > 27 || i + 1 + (1 << (info - 24)) > b.length) return -1;
  return be(b, i + 1, 1 << (info - 24));
}

// ---- MessagePack ----

function be(b: Uint8Array, i: number, size: number): number {
  let n = 0;
  for (let k = 0; k < size; k++) n = n * 256 + b[i + k]!;
  return n;
}

/** Past the MessagePack item at i, or OTHER. */
function msgpackItem(b: Uint8Array, i: number, end: number, depth: number): number {
  if (i >= end) return OTHER;
  const t = b[i]!;
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return i + 1; // fixint, nil, bool
  let strFrom: number;
  let strLen: number;
  let children: number;
  let at: number;
  if (t >= 0xa0 && t <= 0xbf) {
    strFrom = i + 1;
    strLen = t & 0x1f;
  } else if (t === 0xd9 || t === 0xda || t === 0xdb) {
    const size = t === 0xd9 ? 1 : t === 0xda ? 2 : 4;
    strFrom = i + 1 + size;
    if (strFrom > end) return OTHER;
    strLen = be(b, i + 1, size);
  } else {
    switch (t) {
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        // bin 8/16/32
        const size = t === 0xc4 ? 1 : t === 0xc5 ? 2 : 4;
        if (i + 1 + size > end) return OTHER;
        const next = i + 1 + size + be(b, i + 1, size);
        return next <= end ? next : OTHER;
      }
      case 0xca:
        return i + 5 <= end ? i + 5 : OTHER;
      case 0xcb:
        return i + 9 <= end ? i + 9 : OTHER;
      case 0xcc:
      case 0xd0:
        return i + 2 <= end ? i + 2 : OTHER;
      case 0xcd:
      case 0xd1:
        return i + 3 <= end ? i + 3 : OTHER;
      case 0xce:
      case 0xd2:
        return i + 5 <= end ? i + 5 : OTHER;
      case 0xcf:
      case 0xd3:
        return i + 9 <= end ? i + 9 : OTHER;
      case 0xdc:
      case 0xde:
        if (i + 3 > end) return OTHER;
        children = be(b, i + 1, 2);
        at = i + 3;
        break;
      case 0xdd:
      case 0xdf:
        if (i + 5 > end) return OTHER;
        children = be(b, i + 1, 4);
        at = i + 5;
        break;
      default:
        if (t >= 0x80 && t <= 0x9f) {
          children = t & 0x0f;
          at = i + 1;
          break;
        }
        return OTHER; // extension types, 0xc1
    }
    if (depth > MAX_DEPTH) return OTHER;
    const isMap = (t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf;
    for (; children > 0; children--) {
      if (isMap) {
        const k = b[at];
        // Keys are strings: WAMP dicts have string keys.
        if (k === undefined || !((k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb)) return OTHER;
        at = msgpackItem(b, at, end, depth + 1);
        if (at < 0) return OTHER;
      }
      at = msgpackItem(b, at, end, depth + 1);
      if (at < 0) return OTHER;
    }
    return at;
  }
  const next = strFrom + strLen;
  if (next > end) return OTHER;
  if (!isValidUtf8(b, strFrom, next)) badUtf8();
  return next;
}

/** Whether b[start, end) is exactly `count` plain MessagePack items: a non-empty list, or a list and a non-empty dict. */
export function checkMsgpackPayload(b: Uint8Array, start: number, end: number, count: number): boolean {
  // An empty payload is left out of forwarded messages (see marshal.ts): not passed through.
  if (count === 1 ? msgpackLength(b, start, 0x90) < 1 : count !== 2 || msgpackLength(b, start, 0x90) < 0) return false;
  let i = msgpackItem(b, start, end, 1);
  if (i < 0) return false;
  if (count === 2) {
    if (msgpackLength(b, i, 0x80) < 1) return false;
    i = msgpackItem(b, i, end, 1);
  }
  return i === end;
}

/** The declared length of the list (`fix` 0x90) or dict (0x80) at i; -1 if it is not one. */
function msgpackLength(b: Uint8Array, i: number, fix: 0x80 | 0x90): number {
  const t = b[i];
  if (t === undefined) return -1;
  if (t >= fix && t <= fix + 0x0f) return t & 0x0f;
  // list16/32 are 0xdc/0xdd, dict16/32 0xde/0xdf.
  const wide = fix === 0x90 ? 0xdc : 0xde;
  if (t === wide) return i + 3 <= b.length ? be(b, i + 1, 2) : -1;
  if (t === wide + 1) return i + 5 <= b.length ? be(b, i + 1, 4) : -1;
  return -1;
}
