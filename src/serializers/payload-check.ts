// Checks a frame's payload (Arguments|list, ArgumentsKw|dict) on its bytes, so the router can
// forward it to peers of the same serialization without ever decoding it. Nothing is built:
// the walk reads item heads and lengths and checks the UTF-8 of every string and key.
//
// Three outcomes. Plain and well-formed: only what all three serializations write alike
// (integers, floats, strings, byte strings, booleans, null, lists, dicts with string keys),
// which the decoder is sure to accept. Invalid UTF-8 in a string: throws InvalidPayload (the
// CBOR and MsgPack decoders would silently turn it into U+FFFD, so only the bytes tell). Anything
// else (tags, extension types, non-string keys, indefinite lengths, `undefined`, nesting deeper
// than MAX_DEPTH lists and dicts, an item cut short, an empty payload): false, and the caller decodes the frame
// the ordinary way, which gives the decoder's own error for what is malformed.

import { isValidUtf8 } from './utf8.ts';

export class InvalidPayload extends Error {
  readonly code = 'invalid_payload';
}

const MAX_DEPTH = 100;
const OTHER = -1;

function badUtf8(): never {
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

// ---- JSON (RFC 8259, UTF-8) ----

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function jsonWs(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

// What each octet means inside a JSON string: one table lookup per octet on the common path.
const PLAIN = 0;
const ENDS = 1; // the closing quote
const ESCAPES = 2; // a backslash
const CONTROL = 3; // must be escaped
const HIGH = 4; // part of a multi-byte UTF-8 sequence
const IN_STRING = new Uint8Array(256);
IN_STRING.fill(CONTROL, 0, 0x20);
IN_STRING.fill(HIGH, 0x80);
IN_STRING[QUOTE] = ENDS;
IN_STRING[BACKSLASH] = ESCAPES;

// From this length a string is checked by the native UTF-8 decoder and JSON.parse, several
// times faster per octet than the loop below (10 KB: ~4 against ~14 µs on the project's machine).
const NATIVE_STRING = 256;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Past the string whose quote is at i, or OTHER. */
function jsonString(b: Uint8Array, i: number, end: number): number {
  const open = i;
  const from = i + 1;
  const native = from + NATIVE_STRING;
  let ascii = true;
  for (i = from; i < end; i++) {
    if (i === native) return jsonStringNative(b, open, closingQuote(b, from, end));
    const k = IN_STRING[b[i]!]!;
    if (k === PLAIN) continue;
    if (k === ENDS) {
      if (!ascii && !isValidUtf8(b, from, i)) badUtf8();
      return i + 1;
    }
    if (k === HIGH) ascii = false;
    else if (k === CONTROL) return OTHER;
    else {
      const e = b[++i];
      if (e === 0x75) {
        // \uXXXX
        if (i + 4 >= end) return OTHER;
        if (!isHex(b[i + 1]!) || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!)) return OTHER;
        i += 4;
      } else if (
        e !== QUOTE &&
        e !== BACKSLASH &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      )
        return OTHER;
    }
  }
  return OTHER;
}

/** The first quote from `from` on not escaped by a backslash, or `end` if there is none before it. */
function closingQuote(b: Uint8Array, from: number, end: number): number {
  for (let at = from; ; ) {
    const q = b.indexOf(QUOTE, at);
    if (q < 0 || q >= end) return end;
    let k = q - 1;
    while (k >= from && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    at = q + 1;
  }
}

/** The string from the quote at `open` to the one at `close` (`end`: none), checked natively. */
function jsonStringNative(b: Uint8Array, open: number, close: number): number {
  if (close >= b.length || b[close] !== QUOTE) return OTHER;
  let text: string;
  try {
    text = utf8.decode(b.subarray(open, close + 1));
  } catch {
    return badUtf8();
  }
  try {
    JSON.parse(text);
  } catch {
    return OTHER; // a control character or a bad escape: the decoder says which
  }
  return close + 1;
}

function digits(b: Uint8Array, i: number, end: number): number {
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  return i;
}

/** Past the number at i, or OTHER: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
function jsonNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return OTHER;
  const c = b[i];
  if (c === 0x30) i++;
  else if (c !== undefined && c >= 0x31 && c <= 0x39) i = digits(b, i + 1, end);
  else return OTHER;
  if (i < end && b[i] === 0x2e) {
    const from = i + 1;
    i = digits(b, from, end);
    if (i === from) return OTHER;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const from = i;
    i = digits(b, from, end);
    if (i === from) return OTHER;
  }
  return i;
}

function jsonLiteral(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (i + word.length > end) return OTHER;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return OTHER;
  return i + word.length;
}
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Past the JSON value at i (no whitespace before it), or OTHER. */
function jsonValue(b: Uint8Array, i: number, end: number, depth: number): number {
  if (i >= end) return OTHER;
  const c = b[i]!;
  if (c === QUOTE) return jsonString(b, i, end);
  if (c === 0x5b || c === 0x7b) {
    if (depth > MAX_DEPTH) return OTHER;
    const isObject = c === 0x7b;
    const close = isObject ? 0x7d : 0x5d;
    i = jsonWs(b, i + 1, end);
    if (b[i] === close && i < end) return i + 1;
    for (;;) {
      if (isObject) {
        if (b[i] !== QUOTE || i >= end) return OTHER;
        i = jsonString(b, i, end);
        if (i < 0) return OTHER;
        i = jsonWs(b, i, end);
        if (i >= end || b[i] !== 0x3a) return OTHER;
        i = jsonWs(b, i + 1, end);
      }
      i = jsonValue(b, i, end, depth + 1);
      if (i < 0) return OTHER;
      i = jsonWs(b, i, end);
      if (i >= end) return OTHER;
      if (b[i] === close) return i + 1;
      if (b[i] !== 0x2c) return OTHER;
      i = jsonWs(b, i + 1, end);
    }
  }
  if (c === 0x74) return jsonLiteral(b, i, end, TRUE);
  if (c === 0x66) return jsonLiteral(b, i, end, FALSE);
  if (c === 0x6e) return jsonLiteral(b, i, end, NULL);
  return jsonNumber(b, i, end);
}

/**
 * How many plain JSON values b[start, end) holds, separated by commas (whitespace allowed
 * around them): 1 for a non-empty list, 2 for a list and a non-empty dict; 0 otherwise.
 */
export function checkJsonPayload(b: Uint8Array, start: number, end: number): number {
  if (b[start] !== 0x5b) return 0;
  const argsEnd = jsonValue(b, start, end, 1);
  if (argsEnd < 0) return 0;
  let i = jsonWs(b, argsEnd, end);
  if (i === end) return isEmptyJson(b, start, argsEnd) ? 0 : 1;
  if (b[i] !== 0x2c) return 0;
  i = jsonWs(b, i + 1, end);
  if (b[i] !== 0x7b || i >= end) return 0;
  const kwEnd = jsonValue(b, i, end, 1);
  if (kwEnd < 0 || jsonWs(b, kwEnd, end) !== end || isEmptyJson(b, i, kwEnd)) return 0;
  return 2;
}

/** Whether the list or dict at b[from, to) is empty: its brackets with only whitespace between. */
function isEmptyJson(b: Uint8Array, from: number, to: number): boolean {
  return jsonWs(b, from + 1, to) === to - 1;
}
