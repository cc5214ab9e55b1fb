// Where a message's trailing elements (Arguments, ArgumentsKw) lie in its encoded frame, so a
// router can forward them without re-encoding when both peers speak the same serialization.
//
// These scanners run on frames nothing has decoded yet (frame-head.ts), so they need not be
// right about malformed input, only never throw or run on: what they report is proved by the
// decoder, which decodes the elements before the span as a list of their own, and by
// payload-check.ts, which checks that the span is exactly the payload. Anything they do not
// expect (a BOM, a top-level value that is not a plain array, nesting deeper than MAX_DEPTH, a
// truncated item) gives null, and the frame is decoded whole.
//
// Only the elements before the payload are walked. The payload runs from there to the end of
// the top-level array, which is the end of the frame: the decoders refuse trailing bytes
// (test/core/passthrough-splice.test.ts checks that they still do), and JSON allows only whitespace
// after the closing bracket.

/** [start, end) of the elements from some index to the last one, in the frame's bytes. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

const MAX_DEPTH = 256;

// ---- JSON (UTF-8 text: every structural character is ASCII, and no byte of a multi-byte
// sequence is, so scanning bytes is scanning characters) ----

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Past the string whose opening quote is at i; -1 if it does not end. */
function skipJsonString(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i]!;
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** Past the JSON value at i; -1 if it does not end within the frame. */
function skipJsonValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipJsonString(b, i);
  if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i]!;
      if (d === QUOTE) {
        i = skipJsonString(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === OPEN_ARRAY || d === OPEN_OBJECT) depth++;
      else if ((d === CLOSE_ARRAY || d === CLOSE_OBJECT) && --depth === 0) return i + 1;
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  const from = i;
  while (i < b.length) {
    const d = b[i]!;
    if (d === COMMA || d === CLOSE_ARRAY || d === CLOSE_OBJECT || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09)
      break;
    i++;
  }
  return i > from ? i : -1;
}

export function jsonSpan(b: Uint8Array, index: number): Span | null {
  let i = skipWs(b, 0);
  if (b[i] !== OPEN_ARRAY) return null;
  i = skipWs(b, i + 1);
  for (let k = 0; k < index; k++) {
    i = skipJsonValue(b, i);
    if (i < 0) return null;
    i = skipWs(b, i);
    if (b[i] !== COMMA) return null;
    i = skipWs(b, i + 1);
  }
  const start = i;
  let end = b.length - 1;
  while (end > start && isWs(b[end]!)) end--;
  if (b[end] !== CLOSE_ARRAY) return null;
  while (end > start && isWs(b[end - 1]!)) end--;
  return end > start ? { start, end } : null;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

// ---- CBOR (RFC 8949) ----

/** The item's head at i: its major type, argument and where its content starts; null if cut short. */
function cborHead(b: Uint8Array, i: number): { major: number; arg: number; at: number; indefinite: boolean } | null {
  if (i >= b.length) return null;
  const ib = b[i]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  if (info < 24) return { major, arg: info, at: i + 1, indefinite: false };
  if (info === 31) return { major, arg: 0, at: i + 1, indefinite: true };
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (size === 0 || i + 1 + size > b.length) return null;
  let arg = 0;
  for (let k = 1; k <= size; k++) arg = arg * 256 + b[i + k]!;
  return { major, arg, at: i + 1 + size, indefinite: false };
}

/** Past the CBOR item at i; -1 if cut short, too deep, or not expected. */
function skipCbor(b: Uint8Array, i: number, depth: number): number {
  // The head read in place (as cborHead, without an object per item: this walks every item of
  // a payload, on every mesh node a call's frames pass).
  if (depth > MAX_DEPTH || i >= b.length) return -1;
  const ib = b[i]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  let arg: number;
  let at: number;
  if (info < 24) {
    arg = info;
    at = i + 1;
  } else if (info === 31) {
    // Byte and text strings in chunks, arrays and maps: items up to the break (0xff).
    if (major < 2 || major > 5) return -1;
    let j = i + 1;
    while (j < b.length && b[j] !== 0xff) {
      j = skipCbor(b, j, depth + 1);
      if (j < 0) return -1;
    }
    return j < b.length ? j + 1 : -1;
  } else {
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0 || i + 1 + size > b.length) return -1;
    arg = 0;
    for (let k = 1; k <= size; k++) arg = arg * 256 + b[i + k]!;
    at = i + 1 + size;
  }
  switch (major) {
    case 0:
    case 1:
    case 7:
      return at; // integers, simple values and floats: the head is all
    case 2:
    case 3:
      return at + arg <= b.length ? at + arg : -1;
    case 6:
      return skipCbor(b, at, depth + 1);
    default: {
      // 4 array, 5 map
      let j = at;
      for (let n = major === 4 ? arg : 2 * arg; n > 0; n--) {
        j = skipCbor(b, j, depth + 1);
        if (j < 0) return -1;
      }
      return j;
    }
  }
}

/**
 * Past the CBOR item at i, or -1 if it is cut short, nested deeper than MAX_DEPTH or has a
 * reserved head. Checks the item's extent only, not what it holds (UTF-8, tags): whoever acts
 * on the item still decodes it.
 */
export function cborItemEnd(b: Uint8Array, i: number): number {
  return skipCbor(b, i, 1);
}

/**
 * The content of the embedded CBOR data item at i (RFC 8949 3.4.5.1: tag 24 on a byte string,
 * as the mesh carries a call's frames), or undefined if there is none there or it is cut short.
 */
export function embeddedCbor(b: Uint8Array, i: number): Uint8Array | undefined {
  if (b[i] !== 0xd8 || b[i + 1] !== 0x18 || b[i + 2]! >> 5 !== 2) return undefined;
  const h = cborHead(b, i + 2);
  if (h === null || h.indefinite || h.at + h.arg > b.length) return undefined;
  return b.subarray(h.at, h.at + h.arg);
}

export function cborSpan(b: Uint8Array, index: number): Span | null {
  const h = cborHead(b, 0);
  if (h === null || h.major !== 4) return null;
  if (!h.indefinite && index >= h.arg) return null;
  let i = h.at;
  for (let k = 0; k < index; k++) {
    i = skipCbor(b, i, 1);
    if (i < 0) return null;
  }
  // An indefinite-length array ends with the break octet.
  const end = h.indefinite ? b.length - 1 : b.length;
  if (h.indefinite && b[end] !== 0xff) return null;
  return i < end ? { start: i, end } : null;
}

// ---- MessagePack ----

/** The big-endian length of `size` octets after the type octet at i; NaN if cut short. */
function beLength(b: Uint8Array, i: number, size: number): number {
  let n = 0;
  for (let k = 1; k <= size; k++) n = n * 256 + (b[i + k] ?? Number.NaN);
  return n;
}

/** Past the MessagePack item at i; -1 if cut short, too deep, or a never-used byte (0xc1). */
function skipMsgpack(b: Uint8Array, i: number, depth: number): number {
  if (depth > MAX_DEPTH || i >= b.length) return -1;
  const t = b[i]!;
  let children = 0;
  let next: number;
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3)
    next = i + 1; // fixint, nil, bool
  else if (t <= 0x8f) {
    children = 2 * (t & 0x0f);
    next = i + 1;
  } // fixmap
  else if (t <= 0x9f) {
    children = t & 0x0f;
    next = i + 1;
  } // fixarray
  else if (t <= 0xbf)
    next = i + 1 + (t & 0x1f); // fixstr
  else {
    switch (t) {
      case 0xc4:
      case 0xd9:
        next = i + 2 + beLength(b, i, 1);
        break; // bin8, str8
      case 0xc5:
      case 0xda:
        next = i + 3 + beLength(b, i, 2);
        break; // bin16, str16
      case 0xc6:
      case 0xdb:
        next = i + 5 + beLength(b, i, 4);
        break; // bin32, str32
      case 0xc7:
        next = i + 3 + beLength(b, i, 1);
        break; // ext8: length, type, data
      case 0xc8:
        next = i + 4 + beLength(b, i, 2);
        break; // ext16
      case 0xc9:
        next = i + 6 + beLength(b, i, 4);
        break; // ext32
      case 0xca:
        next = i + 5;
        break; // float32
      case 0xcb:
        next = i + 9;
        break; // float64
      case 0xcc:
      case 0xd0:
        next = i + 2;
        break; // uint8, int8
      case 0xcd:
      case 0xd1:
        next = i + 3;
        break;
      case 0xce:
      case 0xd2:
        next = i + 5;
        break;
      case 0xcf:
      case 0xd3:
        next = i + 9;
        break;
      case 0xd4:
        next = i + 3;
        break; // fixext1: type + 1
      case 0xd5:
        next = i + 4;
        break;
      case 0xd6:
        next = i + 6;
        break;
      case 0xd7:
        next = i + 10;
        break;
      case 0xd8:
        next = i + 18;
        break;
      case 0xdc:
        children = beLength(b, i, 2);
        next = i + 3;
        break; // array16
      case 0xdd:
        children = beLength(b, i, 4);
        next = i + 5;
        break; // array32
      case 0xde:
        children = 2 * beLength(b, i, 2);
        next = i + 3;
        break; // map16
      case 0xdf:
        children = 2 * beLength(b, i, 4);
        next = i + 5;
        break; // map32
      default:
        return -1; // 0xc1
    }
  }
  if (!(next <= b.length) || !Number.isFinite(children)) return -1;
  for (; children > 0; children--) {
    next = skipMsgpack(b, next, depth + 1);
    if (next < 0) return -1;
  }
  return next;
}

export function msgpackSpan(b: Uint8Array, index: number): Span | null {
  const t = b[0];
  let count: number;
  let i: number;
  if (t === undefined) return null;
  if (t >= 0x90 && t <= 0x9f) {
    count = t & 0x0f;
    i = 1;
  } else if (t === 0xdc && b.length >= 3) {
    count = beLength(b, 0, 2);
    i = 3;
  } else if (t === 0xdd && b.length >= 5) {
    count = beLength(b, 0, 4);
    i = 5;
  } else return null;
  if (index >= count) return null;
  for (let k = 0; k < index; k++) {
    i = skipMsgpack(b, i, 1);
    if (i < 0) return null;
  }
  return i < b.length ? { start: i, end: b.length } : null;
}

/**
 * CBOR and MsgPack: `bytes`, a short array of `length` elements as the encoder wrote it, whose
 * head is one octet (`shortArray` | length), made (in place) to announce `count` more elements,
 * which follow it on the wire; null when the head is not such an octet.
 */
export function extendShortArray(
  bytes: Uint8Array,
  length: number,
  shortArray: number,
  count: number,
): Uint8Array | null {
  if (length + count > 15 || bytes[0] !== (shortArray | length)) return null;
  bytes[0] = shortArray | (length + count);
  return bytes;
}
