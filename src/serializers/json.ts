// JSON with the spec's binary convention: a byte string travels as a JSON string that starts
// with "\0" followed by the base64 of the bytes ("Binary conversion of JSON strings").

import { splitJson } from './frame-head.ts';
import { readJsonHead } from './json-head.ts';
import type { Serializer } from './serializer.ts';
import { halfEscaped, wellFormed } from './well-formed.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });
// Buffer's own UTF-8 writer, which write() calls after checking its arguments; @types/node
// does not declare it.
type Writing = Buffer & { utf8Write(s: string, offset: number, max: number): number };
const CLOSE = Uint8Array.of(0x5d);

function revive(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.charCodeAt(0) === 0 ? Buffer.from(value.slice(1), 'base64') : value;
}

// Integers beyond ±2^53 would be rounded by JSON.parse (2^53+1 becomes 2^53, a valid WAMP ID);
// the reviver's source text keeps them exact, as BigInt.
const LIMIT = 2 ** 53;
function reviveExact(key: string, value: unknown, context?: { source?: string }): unknown {
  // 2^53+1 parses as 2^53, so the test is on the magnitude of the source text, not the value.
  if (
    typeof value === 'number' &&
    (value >= LIMIT || value <= -LIMIT) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
  ) {
    const exact = BigInt(context.source);
    if (exact > BIG_LIMIT || exact < -BIG_LIMIT) return exact;
  }
  return revive(key, value);
}
const BIG_LIMIT = 2n ** 53n;

// Deeper than this, holdsWideNumber() stops and the text is scanned instead (parsing deep
// input again with a reviver could exhaust the stack, where the plain parse did not).
const WIDE_SCAN_DEPTH = 64;

/**
 * Whether a parsed value holds a number of magnitude 2^53 or more. An integer beyond 2^53 in
 * the text parses as such a number (2^53+1 rounds to 2^53), so only then does the text need the
 * slower, exact parse. Walking the parsed value is cheaper than scanning the text for long runs
 * of digits, and most messages hold no such number (random WAMP IDs are below 2^53).
 */
function holdsWideNumber(v: unknown, depth: number): boolean | undefined {
  if (typeof v === 'number') return v >= LIMIT || v <= -LIMIT;
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return false;
  if (depth > WIDE_SCAN_DEPTH) return undefined;
  let answer: boolean | undefined = false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const here = holdsWideNumber(v[i], depth + 1);
      if (here === true) return true;
      if (here === undefined) answer = undefined;
    }
    return answer;
  }
  for (const key in v) {
    const here = holdsWideNumber((v as Record<string, unknown>)[key], depth + 1);
    if (here === true) return true;
    if (here === undefined) answer = undefined;
  }
  return answer;
}

// Deep values: a run of 16 digits or more in the text, the only way to write such an integer
// (of those with 16 digits, only the ones from 9007199254740992 up).
const MAYBE_BEYOND_2_53 = /\d{17}|9\d{15}/;

function replace(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the value before Buffer#toJSON turned it into {type:'Buffer', data}.
  const raw = this[key];
  if (raw instanceof Uint8Array) {
    return '\0' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  }
  // A CBOR bignum or 64-bit integer from another peer: written as the exact JSON number.
  if (typeof value === 'bigint')
    return (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(value.toString());
  return value;
}

// Deeper than this, needsReplacer() stops looking and says yes: the replacer path is always right.
const SCAN_DEPTH = 32;

/**
 * Whether a value holds anything the replacer changes (a Uint8Array, a BigInt). A replacer
 * makes JSON.stringify several times slower (a call per key and value), and most messages
 * hold neither.
 */
function needsReplacer(v: unknown, depth: number): boolean {
  if (typeof v !== 'object') return typeof v === 'bigint';
  if (v === null) return false;
  if (depth > SCAN_DEPTH || ArrayBuffer.isView(v)) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (needsReplacer(v[i], depth + 1)) return true;
    return false;
  }
  for (const key in v) if (needsReplacer((v as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

export const json: Serializer = {
  name: 'json',
  rawsocketId: 1,
  subprotocol: 'wamp.2.json',
  binary: false,
  encode(message) {
    return Buffer.from(jsonText(message), 'utf8');
  },
  decode(frame) {
    const text = decoder.decode(frame);
    // Revivers cost time: they run only when the text needs them. A NUL can only appear
    // escaped in JSON text; integers beyond 2^53 show in the parsed value (see above).
    // One scan for an escape serves both checks that need one.
    const escaped = text.includes('\\u');
    const value: unknown = escaped && text.includes('\\u0000') ? JSON.parse(text, revive) : JSON.parse(text);
    const wide = holdsWideNumber(value, 0) ?? MAYBE_BEYOND_2_53.test(text);
    const parsed: unknown = wide ? JSON.parse(text, reviveExact as never) : value;
    return escaped && halfEscaped(text) ? wellFormed(parsed) : parsed;
  },
  splitPayload: splitJson,
  splitSmall: readJsonHead,
  encodeHead(head) {
    // "[h1,h2]" becomes "[h1,h2," and the payload and "]" follow.
    const out = Buffer.from(jsonText(head), 'utf8');
    out[out.length - 1] = 0x2c;
    return out;
  },
  encodeSpliced(head, _count, frame, start, end) {
    const written = writeHead(head, frame, start, end);
    if (written !== null) return written;
    const text = jsonText(head);
    const out = Buffer.allocUnsafe(3 * text.length + (end - start) + 1) as Writing;
    let at = out.utf8Write(text, 0, out.length);
    out[at - 1] = 0x2c;
    for (let i = start; i < end; i++) out[at++] = frame[i]!;
    out[at++] = 0x5d;
    return out.subarray(0, at);
  },

  payloadEnd: CLOSE,
};

/**
 * Any value as JSON text with the binary convention (what encode() writes, as a string): for
 * writers that take text themselves (the HTTP gateway's answers), without a Buffer in between.
 */
export function jsonText(value: unknown): string {
  return needsReplacer(value, 0) ? JSON.stringify(value, replace) : JSON.stringify(value);
}

// The most octets a safe integer takes in JSON: "-9007199254740991".
const MAX_INTEGER = 17;
// Frames written by writeHead() are regions of this slab, which no later frame writes over.
const SLAB = 8192;
let slab = Buffer.allocUnsafeSlow(SLAB);
let slabAt = 0;

/**
 * A head of safe integers and empty dicts (an INVOCATION's or RESULT's, mostly) and the payload
 * `frame`[start, end) after it, written as octets: building the text with JSON.stringify and then
 * encoding it was a third of the router's CPU per small JSON call. Null for any other head.
 */
function writeHead(head: unknown[], frame: Uint8Array, start: number, end: number): Buffer | null {
  const most = head.length * (MAX_INTEGER + 1) + 1 + (end - start) + 1;
  if (slab.length - slabAt < most) {
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB, most));
    slabAt = 0;
  }
  const out = slab;
  const from = slabAt;
  let at = from;
  out[at++] = 0x5b;
  for (let i = 0; i < head.length; i++) {
    const v = head[i];
    if (typeof v === 'number' && Number.isSafeInteger(v)) at = writeInteger(out, at, v);
    else if (isEmptyDict(v)) {
      out[at++] = 0x7b;
      out[at++] = 0x7d;
    } else return null;
    out[at++] = 0x2c;
  }
  for (let i = start; i < end; i++) out[at++] = frame[i]!;
  out[at++] = 0x5d;
  slabAt = at;
  return out.subarray(from, at);
}

/** A safe integer's decimal digits, as JSON.stringify writes them (-0 as 0), at `at`; where they end. */
function writeInteger(out: Buffer, at: number, v: number): number {
  if (v < 0) {
    out[at++] = 0x2d;
    v = -v;
  }
  if (v <= 0x7fff_ffff) return writeDigits(out, at, v | 0);
  // Beyond 31 bits: the high part (below 2^27 for a safe integer) and the low 8 digits, each in
  // 32-bit integer arithmetic, which is several times faster than dividing doubles.
  const high = Math.floor(v / 1e8);
  at = writeDigits(out, at, high);
  let low = v - high * 1e8;
  for (let k = at + 7; k >= at; k--) {
    const q = (low / 10) | 0;
    out[k] = 0x30 + low - q * 10;
    low = q;
  }
  return at + 8;
}

/** The digits of a non-negative 32-bit integer. */
function writeDigits(out: Buffer, at: number, v: number): number {
  let digits = 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) digits++;
  for (let k = at + digits - 1; k >= at; k--) {
    const q = (v / 10) | 0;
    out[k] = 0x30 + v - q * 10;
    v = q;
  }
  return at + digits;
}

function isEmptyDict(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || v.constructor !== Object) return false;
  for (const _ in v) return false;
  return true;
}
