// What the outbox keeps of an event, as CBOR (binary values and integers stay exact), and the
// JSON body a webhook receives.

import { cbor } from '../serializers/index.ts';
import type { StoredEvent } from '../router/event-store.ts';
import type { Dict } from '../wamp/messages.ts';

export interface KeptEvent {
  readonly publication: number;
  readonly timestamp: number;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
}

/** Undefined when the payload cannot be encoded (nested too deep). */
export function encodeEvent(event: StoredEvent): Uint8Array | undefined {
  try {
    return cbor.encode([event.publication, event.timestamp, event.args ?? null, event.kwargs ?? null]);
  } catch {
    return undefined;
  }
}

export function decodeEvent(bytes: Uint8Array): KeptEvent {
  const [publication, timestamp, args, kwargs] = cbor.decode(bytes) as [number, number, unknown[] | null, Dict | null];
  return { publication, timestamp, ...(args !== null && { args }), ...(kwargs !== null && { kwargs }) };
}

/** The webhook body: {"topic","publication","timestamp","args","kwargs"}; binary as WAMP JSON writes it ("\0" + base64). */
export function webhookBody(realm: string, topic: string, event: KeptEvent): string {
  return JSON.stringify(
    {
      realm,
      topic,
      publication: event.publication,
      timestamp: event.timestamp,
      args: event.args ?? [],
      kwargs: event.kwargs ?? {},
    },
    (_k, v: unknown) =>
      v instanceof Uint8Array ? `\0${Buffer.from(v).toString('base64')}` : typeof v === 'bigint' ? String(v) : v,
  );
}
