// The three WAMP serializations for the raw-frame clients of this suite, written here on top
// of the libraries directly rather than taken from src/serializers: the acceptance tests must
// not read the router's bytes with the router's own code, or a shared mistake would cancel
// out (payload passthru is exactly "these bytes arrive unchanged").

import { Encoder } from 'cbor-x';
import { Packr } from 'msgpackr';
import type { Serializer } from '../../../src/serializers/index.ts';

export type CodecName = 'json' | 'msgpack' | 'cbor';

// WAMP JSON: a byte string is a JSON string holding "\0" + base64 (spec "Binary conversion
// of JSON strings"), in both directions.
function jsonReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Uint8Array)
    return `\u0000${Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64')}`;
  return value;
}

function jsonReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith('\u0000'))
    return new Uint8Array(Buffer.from(value.slice(1), 'base64'));
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: Serializer = {
  name: 'json',
  rawsocketId: 1,
  subprotocol: 'wamp.2.json',
  binary: false,
  encode: (message) => new Uint8Array(Buffer.from(JSON.stringify(message, jsonReplacer), 'utf8')),
  decode: (frame) => JSON.parse(utf8.decode(frame), jsonReviver) as unknown,
};

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export const msgpackCodec: Serializer = {
  name: 'msgpack',
  rawsocketId: 2,
  subprotocol: 'wamp.2.msgpack',
  binary: true,
  encode: (message) => packr.pack(message),
  decode: (frame) => packr.unpack(frame) as unknown,
};

const cborEncoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  pack: false,
  int64AsNumber: true,
} as ConstructorParameters<typeof Encoder>[0]);

export const cborCodec: Serializer = {
  name: 'cbor',
  rawsocketId: 3,
  subprotocol: 'wamp.2.cbor',
  binary: true,
  encode: (message) => cborEncoder.encode(message),
  decode: (frame) => cborEncoder.decode(frame) as unknown,
};

export const codecs: Record<CodecName, Serializer> = { json: jsonCodec, msgpack: msgpackCodec, cbor: cborCodec };

/** Bytes of a decoded binary value, whatever class the decoder chose (Buffer, Uint8Array). */
export function bytesOf(value: unknown): Buffer | undefined {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : undefined;
}
