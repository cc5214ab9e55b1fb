// The mapping between MQTT payloads (bytes) and WAMP payloads (args, kwargs), reversible for
// what either side sends the other:
//  - MQTT -> WAMP: a payload that is JSON becomes args[0] (the parsed value); any other payload
//    becomes args[0] as binary; an empty payload gives no arguments.
//  - WAMP -> MQTT: no arguments give an empty payload; a lone binary args[0] goes out as those
//    bytes, any other lone args[0] as its JSON text; anything else as JSON {"args", "kwargs"}.

import { mayHoldLoneSurrogate, wellFormed } from '../serializers/well-formed.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

export interface WampPayload {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}

export function mqttToWamp(payload: Uint8Array): WampPayload {
  if (payload.length === 0) return {};
  // A JSON text starts with one of these (after optional whitespace); checking first keeps
  // binary telemetry from going through a failed decode and parse every time.
  const first = firstNonSpace(payload);
  if (first !== undefined && isJsonStart(first)) {
    try {
      const text = utf8.decode(payload);
      const value: unknown = JSON.parse(text);
      // A lone surrogate ("\ud800") is read as U+FFFD, as from a WAMP JSON peer (well-formed.ts).
      return { args: [mayHoldLoneSurrogate(text) ? wellFormed(value) : value] };
    } catch {
      // Not JSON after all: carried as bytes.
    }
  }
  return { args: [payload] };
}

/** Undefined when the payload has no JSON form (a value JSON cannot represent, e.g. a BigInt). */
export function wampToMqtt(
  args: unknown[] | undefined,
  kwargs: Record<string, unknown> | undefined,
): Uint8Array | undefined {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  const n = args?.length ?? 0;
  if (n === 0 && !hasKwargs) return EMPTY;
  try {
    if (n === 1 && !hasKwargs) {
      const only = args![0];
      if (only instanceof Uint8Array) return only;
      return Buffer.from(JSON.stringify(only, binaryAsBase64) ?? 'null');
    }
    return Buffer.from(JSON.stringify({ args: args ?? [], kwargs: kwargs ?? {} }, binaryAsBase64));
  } catch {
    return undefined;
  }
}

/** Binary nested inside a JSON payload as WAMP's JSON serialization writes it: "\0" + base64. */
function binaryAsBase64(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array)
    return `\0${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`;
  if (
    value !== null &&
    typeof value === 'object' &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return `\0${Buffer.from((value as { data: number[] }).data).toString('base64')}`;
  }
  return value;
}

function firstNonSpace(bytes: Uint8Array): number | undefined {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  return undefined;
}

// { [ " - 0-9 t f n
function isJsonStart(b: number): boolean {
  return (
    b === 0x7b ||
    b === 0x5b ||
    b === 0x22 ||
    b === 0x2d ||
    (b >= 0x30 && b <= 0x39) ||
    b === 0x74 ||
    b === 0x66 ||
    b === 0x6e
  );
}

/** mqtt-packet gives a payload as a string where it was built from one. */
export function bytesOf(payload: Buffer | string): Uint8Array {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}
