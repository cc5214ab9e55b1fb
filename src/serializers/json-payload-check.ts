// The JSON payload check (see payload-check.ts for what it accepts and why): RFC 8259 text,
// strings valid UTF-8, walked on the frame's bytes without building values.

import { badUtf8, MAX_DEPTH, OTHER } from './payload-check.ts';
import { isValidUtf8 } from './utf8.ts';

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
