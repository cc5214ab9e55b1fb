// Reading the plain CBOR the routers write for a call's frames (passed-frames.ts reads their
// routing header, routed-reader.ts the whole frame): definite lengths, keys that are texts (or
// numbers, in an embedded frame), text values and integers in their shortest heads up to 2^53.
// One reader position (`cursor.at`), shared by the helpers below, one frame at a time; -1 once
// something is not in that form, and every helper then leaves it so.

export const MAJOR = { UINT: 0, NINT: 1, BYTES: 2, TEXT: 3, ARRAY: 4, MAP: 5 } as const;
export const FALSE = 0xf4;
export const TRUE = 0xf5;
/** Header texts up to this length are kept for reuse (readText). */
const SHORT_TEXT = 32;

export const cursor = { at: 0 };

/** Names matched as octets (readName): by their length, so that most keys are compared with one or two. */
export class Names {
  readonly #byLength: { index: number; octets: Uint8Array }[][] = [];

  constructor(names: readonly string[]) {
    for (const [index, name] of names.entries()) {
      const octets = Buffer.from(name, 'latin1');
      (this.#byLength[octets.length] ??= []).push({ index, octets });
    }
  }

  /** The index of the name at b[start, start + len), or -2 for another text. */
  find(b: Uint8Array, start: number, len: number): number {
    const candidates = this.#byLength[len];
    if (candidates === undefined) return -2;
    next: for (let k = 0; k < candidates.length; k++) {
      const { index, octets } = candidates[k]!;
      for (let i = 0; i < len; i++) if (b[start + i] !== octets[i]) continue next;
      return index;
    }
    return -2;
  }
}

/** The length in the head at the cursor (a map's pairs, a text's octets), moving past the head; -1 if not plain. */
export function readLength(b: Uint8Array): number {
  const at = cursor.at;
  const info = b[at]! & 0x1f;
  if (info < 24) {
    cursor.at = at + 1;
    return info;
  }
  if (info === 24 && at + 1 < b.length) {
    cursor.at = at + 2;
    return b[at + 1]!;
  }
  if (info === 25 && at + 2 < b.length) {
    cursor.at = at + 3;
    return (b[at + 1]! << 8) | b[at + 2]!;
  }
  if (info === 26 && at + 4 < b.length) {
    cursor.at = at + 5;
    return b[at + 1]! * 2 ** 24 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
  }
  cursor.at = -1;
  return -1;
}

/**
 * Which of `names` the text string at the cursor is (moving past it): its index, -2 for another
 * text, -1 (and the cursor -1) if there is no text string there.
 */
export function readName(b: Uint8Array, names: Names): number {
  const len = textLength(b);
  if (len < 0) return -1;
  const start = cursor.at;
  cursor.at = start + len;
  return names.find(b, start, len);
}

// The header's texts (node IDs, realms, procedures) are few and recur in every frame: the last
// RECENT of them are kept with their octets and handed out again, which spares making the string
// and, for the lookups that follow (routes, the hop table), hashing it anew.
const RECENT = 16;
const recentOctets: Uint8Array[] = [];
const recentTexts: string[] = [];
let recentNext = 0;

/** A text string at the cursor, moving past it; undefined (and the cursor -1) if there is none. */
export function readText(b: Uint8Array): string | undefined {
  const len = textLength(b);
  if (len < 0) return undefined;
  const start = cursor.at;
  cursor.at = start + len;
  if (len > SHORT_TEXT) return Buffer.from(b.buffer, b.byteOffset + start, len).toString('utf8');
  next: for (let k = 0; k < recentOctets.length; k++) {
    const known = recentOctets[k]!;
    if (known.length !== len) continue;
    for (let i = 0; i < len; i++) if (b[start + i] !== known[i]) continue next;
    return recentTexts[k]!;
  }
  const text = Buffer.from(b.buffer, b.byteOffset + start, len).toString('utf8');
  // A copy: a Buffer's slice() is a view, which would keep the socket's chunk alive.
  recentOctets[recentNext] = Uint8Array.prototype.slice.call(b, start, start + len);
  recentTexts[recentNext] = text;
  recentNext = (recentNext + 1) % RECENT;
  return text;
}

/** The octet length of the text string at the cursor, moving past its head; -1 (and the cursor -1) if none. */
function textLength(b: Uint8Array): number {
  const at = cursor.at;
  if (at < 0 || at >= b.length || b[at]! >> 5 !== MAJOR.TEXT) {
    cursor.at = -1;
    return -1;
  }
  const len = readLength(b);
  if (len < 0 || cursor.at + len > b.length) {
    cursor.at = -1;
    return -1;
  }
  return len;
}

/** An integer within ±2^53 at the cursor, moving past it; undefined (and the cursor -1) otherwise. */
export function readInt(b: Uint8Array): number | undefined {
  const at = cursor.at;
  if (at < 0 || at >= b.length) {
    cursor.at = -1;
    return undefined;
  }
  const major = b[at]! >> 5;
  const info = b[at]! & 0x1f;
  if (major !== MAJOR.UINT && major !== MAJOR.NINT) {
    cursor.at = -1;
    return undefined;
  }
  let n: number;
  if (info === 27) {
    if (at + 8 >= b.length) {
      cursor.at = -1;
      return undefined;
    }
    n = 0;
    for (let k = 1; k <= 8; k++) n = n * 256 + b[at + k]!;
    cursor.at = at + 9;
  } else {
    n = readLength(b);
    if (n < 0) return undefined;
  }
  const value = major === MAJOR.UINT ? n : -1 - n;
  if (!Number.isSafeInteger(value)) {
    cursor.at = -1;
    return undefined;
  }
  return value;
}

/** A boolean at the cursor, moving past it; undefined (and the cursor -1) otherwise. */
export function readBool(b: Uint8Array): boolean | undefined {
  const v = b[cursor.at];
  if (v !== TRUE && v !== FALSE) {
    cursor.at = -1;
    return undefined;
  }
  cursor.at++;
  return v === TRUE;
}
