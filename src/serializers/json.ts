// JSON with the spec's binary convention: a byte string travels as a JSON string that starts
// with "\0" followed by the base64 of the bytes ("Binary conversion of JSON strings").

import type { Serializer } from './serializer.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

function revive(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.charCodeAt(0) === 0 ? Buffer.from(value.slice(1), 'base64') : value;
}

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
    // A NUL can only appear escaped in JSON text, so the reviver runs only when needed.
    return text.includes('\\u0000') ? JSON.parse(text, revive) : JSON.parse(text);
  },
};
