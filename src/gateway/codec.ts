// Request bodies and answers in JSON, CBOR or MessagePack, chosen by Content-Type and Accept.
// The router's own serializers do the work, so binary values cross the same way as on WAMP
// (JSON writes them as "\0" + base64, per the WAMP spec).

import { cbor, json, jsonText, msgpack } from '../serializers/index.ts';
import type { Serializer } from '../serializers/serializer.ts';

export interface Codec {
  readonly contentType: string;
  readonly serializer: Serializer;
}

const JSON_CODEC: Codec = { contentType: 'application/json', serializer: json };
const CBOR_CODEC: Codec = { contentType: 'application/cbor', serializer: cbor };
const MSGPACK_CODEC: Codec = { contentType: 'application/msgpack', serializer: msgpack };

const BY_TYPE: Readonly<Record<string, Codec>> = {
  'application/json': JSON_CODEC,
  'application/cbor': CBOR_CODEC,
  'application/msgpack': MSGPACK_CODEC,
  'application/x-msgpack': MSGPACK_CODEC,
  'application/vnd.msgpack': MSGPACK_CODEC,
};

/** The media type without parameters, lower case ("application/json; charset=utf-8" -> "application/json"). */
function mediaType(header: string): string {
  return header.split(';')[0]!.trim().toLowerCase();
}

export type Decoded = { readonly value: unknown } | { readonly unsupported: string } | { readonly malformed: string };

/** The request body as a value: undefined when empty; JSON when no Content-Type says otherwise. */
export function decodeBody(contentType: string | undefined, body: Buffer): Decoded {
  if (body.length === 0) return { value: undefined };
  // The common header as most clients send it needs no parsing.
  const type =
    contentType === undefined || contentType === 'application/json' ? 'application/json' : mediaType(contentType);
  const codec = BY_TYPE[type] ?? (type.endsWith('+json') ? JSON_CODEC : undefined);
  if (codec === undefined) return { unsupported: type };
  let value: unknown;
  try {
    value = codec.serializer.decode(body);
  } catch (e) {
    return { malformed: `the body is not valid ${codec.contentType}: ${(e as Error).message}` };
  }
  // JSON.parse reads 1e999 (or 300 nines then e10) as Infinity, which JSON then writes as null:
  // the callee would get null for what the client sent. The parsed value is walked: cheaper
  // than any scan of the text, and exact.
  if (codec === JSON_CODEC && holdsNonFinite(value))
    return { malformed: 'a number in the body is beyond the range of a double (about 1.8e308)' };
  return { value };
}

/** Whether a decoded value holds Infinity or NaN anywhere (a walk with a stack of its own: bodies may nest deep). */
function holdsNonFinite(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
      for (const key in v) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/** The codec for the answer: the first of Accept's types we write, else JSON. */
export function answerCodec(accept: string | undefined): Codec {
  if (accept === undefined) return JSON_CODEC;
  for (const part of accept.split(',')) {
    const codec = BY_TYPE[mediaType(part)];
    if (codec !== undefined) return codec;
  }
  return JSON_CODEC;
}

export function encodeValue(codec: Codec, value: unknown): string | Uint8Array {
  // JSON as text: both HTTP servers encode a string into their own output, so a Buffer of
  // ours per answer would be one allocation and one copy more.
  if (codec === JSON_CODEC) return jsonText(value);
  // The serializers take a message array; any value encodes the same way.
  return codec.serializer.encode(value as unknown[]);
}

/** What the client asked a streamed answer to be: NDJSON, server-sent events, or a single answer. */
export function streamKind(accept: string | undefined): 'ndjson' | 'sse' | undefined {
  if (accept === undefined) return undefined;
  const types = accept.split(',').map(mediaType);
  if (types.includes('text/event-stream')) return 'sse';
  if (types.includes('application/x-ndjson') || types.includes('application/jsonl')) return 'ndjson';
  return undefined;
}
