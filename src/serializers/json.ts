// JSON with the spec's binary convention: a byte string travels as a JSON string that starts
// with "\0" followed by the base64 of the bytes ("Binary conversion of JSON strings").

import type { Serializer } from './serializer.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

function revive(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.charCodeAt(0) === 0 ? Buffer.from(value.slice(1), 'base64') : value;
}

// Integers beyond ±2^53 would be rounded by JSON.parse (2^53+1 becomes 2^53, a valid WAMP ID);
// the reviver's source text keeps them exact, as BigInt.
const LIMIT = 2 ** 53;
function reviveExact(key: string, value: unknown, context?: { source?: string }): unknown {
  // 2^53+1 parses as 2^53, so the test is on the magnitude of the source text, not the value.
  if (typeof value === 'number' && (value >= LIMIT || value <= -LIMIT) && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
    const exact = BigInt(context.source);
    if (exact > BIG_LIMIT || exact < -BIG_LIMIT) return exact;
  }
  return revive(key, value);
}
const BIG_LIMIT = 2n ** 53n;
const SIXTEEN_DIGITS = /\d{16}/;

function replace(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the value before Buffer#toJSON turned it into {type:'Buffer', data}.
  const raw = this[key];
  if (raw instanceof Uint8Array) {
    return '\0' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  }
  // A CBOR bignum or 64-bit integer from another peer: written as the exact JSON number.
  if (typeof value === 'bigint') return (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(value.toString());
  return value;
}

export const json: Serializer = {
  name: 'json',
  rawsocketId: 1,
  subprotocol: 'wamp.2.json',
  binary: false,
  encode(message) {
    return Buffer.from(JSON.stringify(message, replace), 'utf8');
  },
  decode(frame) {
    const text = decoder.decode(frame);
    // Revivers cost time: they run only when the text may need them. A NUL can only appear
    // escaped in JSON text; an integer beyond 2^53 needs at least 16 digits.
    if (SIXTEEN_DIGITS.test(text)) return JSON.parse(text, reviveExact as never);
    return text.includes('\\u0000') ? JSON.parse(text, revive) : JSON.parse(text);
  },
};
