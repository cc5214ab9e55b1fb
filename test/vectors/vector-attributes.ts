// How a vector's expected_attributes map onto our typed messages, which samples lie outside our
// profile and why, and the comparable form both sides are compared in.

import type { ExecutionContext } from 'ava';
import { MessageType, type Message } from '../../src/wamp/messages.ts';
import type { SerializationSample } from './vector-files.ts';

// ---- attribute mapping ----------------------------------------------------------------------

// Vector attribute name -> field of our typed message. 'details.roles' is a path into a dict.
// `payload` is not a field of ours: a non-null payload puts the sample outside our profile
// (see GENERIC_SAMPLES); a null payload means "none" and must leave args/kwargs absent.
// Every attribute a sample names must appear here, so none is ignored by accident.
const RID = { request_id: 'request' } as const;
const PAYLOAD = { args: 'args', kwargs: 'kwargs', payload: 'payload' } as const;
const MAPPING: Record<number, Record<string, string>> = {
  [MessageType.HELLO]: { realm: 'realm', roles: 'details.roles' },
  [MessageType.WELCOME]: { session_id: 'session', roles: 'details.roles' },
  [MessageType.ABORT]: { details: 'details', reason: 'reason' },
  [MessageType.CHALLENGE]: { method: 'authmethod', extra: 'extra' },
  [MessageType.AUTHENTICATE]: { signature: 'signature', extra: 'extra' },
  [MessageType.GOODBYE]: { details: 'details', reason: 'reason' },
  [MessageType.ERROR]: { request_type: 'requestType', ...RID, details: 'details', error: 'error', ...PAYLOAD },
  [MessageType.PUBLISH]: { ...RID, options: 'options', topic: 'topic', ...PAYLOAD },
  [MessageType.PUBLISHED]: { ...RID, publication_id: 'publication' },
  [MessageType.SUBSCRIBE]: { ...RID, options: 'options', topic: 'topic' },
  [MessageType.SUBSCRIBED]: { ...RID, subscription_id: 'subscription' },
  [MessageType.UNSUBSCRIBE]: { ...RID, subscription_id: 'subscription' },
  [MessageType.UNSUBSCRIBED]: { ...RID, details: 'details' },
  [MessageType.EVENT]: { subscription: 'subscription', publication: 'publication', details: 'details', ...PAYLOAD },
  [MessageType.CALL]: { ...RID, options: 'options', procedure: 'procedure', ...PAYLOAD },
  [MessageType.CANCEL]: { ...RID, options: 'options' },
  [MessageType.RESULT]: { ...RID, details: 'details', ...PAYLOAD },
  [MessageType.REGISTER]: { ...RID, options: 'options', procedure: 'procedure' },
  [MessageType.REGISTERED]: { ...RID, registration_id: 'registration' },
  [MessageType.UNREGISTER]: { ...RID, registration_id: 'registration' },
  [MessageType.UNREGISTERED]: { ...RID, details: 'details' },
  [MessageType.INVOCATION]: { ...RID, registration_id: 'registration', details: 'details', ...PAYLOAD },
  [MessageType.INTERRUPT]: { ...RID, options: 'options' },
  [MessageType.YIELD]: { ...RID, options: 'options', ...PAYLOAD },
};

// Messages outside our vocabulary, checked as plain arrays: attribute -> array index.
const GENERIC_LAYOUT: Record<number, Record<string, number>> = {
  337: { publication_id: 1 }, // EVENT_RECEIVED: [337, EVENT.Publication|id]
};

// Number of fixed fields after the type code, for messages that can carry a payload; the
// transparent payload sits where Arguments|list would.
export const FIXED_FIELDS: Record<number, number> = {
  [MessageType.ERROR]: 4,
  [MessageType.PUBLISH]: 3,
  [MessageType.EVENT]: 3,
  [MessageType.CALL]: 3,
  [MessageType.RESULT]: 2,
  [MessageType.INVOCATION]: 3,
  [MessageType.YIELD]: 2,
};

export const E2EE =
  'transparent payload (advanced profile: payload passthru / E2EE): a binary in the Arguments ' +
  'position. wampmesh neither implements nor announces it, so parseMessage must refuse the message; ' +
  'the other attributes and the payload bytes are checked on the decoded array.';
// Every sample that does not parse to one of our typed messages, and why. A sample that parses
// but is listed here, or fails to parse and is not, fails the test: the list cannot go stale.
export const GENERIC_SAMPLES = new Map<string, string>([
  [
    'singlemessage/advanced/eventreceived.json#EVENT_RECEIVED acknowledgment',
    "EVENT_RECEIVED (advanced.pubsub.subscriber.event_ack, provisional code 337) is not in wampmesh's " +
      'vocabulary: parseMessage must refuse it as an unknown message type; the decoded array is checked.',
  ],
  ['singlemessage/basic/event.json#EVENT with transparent payload (encrypted E2E)', E2EE],
  ['singlemessage/basic/event.json#EVENT with both forward_for and E2EE (advanced R-Link + encryption)', E2EE],
  ['singlemessage/basic/publish.json#PUBLISH with transparent payload (encrypted E2E)', E2EE],
  ['singlemessage/basic/publish.json#PUBLISH with both forward_for and E2EE (advanced R-Link + encryption)', E2EE],
]);

/** A comparable form: binaries as hex, bigints as text, dict keys sorted. */
export function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, normalize((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Checks a typed message (or, for generic samples, the raw array) against expected_attributes. */
export function checkAttributes(
  t: ExecutionContext,
  where: string,
  expected: SerializationSample['expected_attributes'],
  decoded: unknown[],
  typed: Message | null,
): void {
  const code = expected.message_type;
  t.is(decoded[0], code, `${where}: message type`);
  if (typed === null && GENERIC_LAYOUT[code] !== undefined) {
    const layout = GENERIC_LAYOUT[code];
    for (const [attr, value] of Object.entries(expected)) {
      if (attr === 'message_type') continue;
      const index = layout[attr];
      if (index === undefined) {
        t.fail(`${where}: attribute '${attr}' has no mapping for generic message ${code}`);
        continue;
      }
      t.deepEqual(normalize(decoded[index]), normalize(value), `${where}: ${attr}`);
    }
    return;
  }
  const mapping = MAPPING[code];
  if (mapping === undefined) {
    t.fail(`${where}: no mapping table for message type ${code}`);
    return;
  }
  const payload = expected.payload;
  const hasPayload = payload !== undefined && payload !== null;
  // For a payload sample, our typed view is of the array with the payload taken out.
  const record = (typed ?? {}) as unknown as Record<string, unknown>;
  for (const [attr, value] of Object.entries(expected)) {
    if (attr === 'message_type') continue;
    const field: string | undefined = mapping[attr];
    if (field === undefined) {
      t.fail(`${where}: attribute '${attr}' is not in the mapping table for ${code}`);
      continue;
    }
    if (attr === 'payload') {
      if (!hasPayload) continue;
      const at = (FIXED_FIELDS[code] ?? 0) + 1;
      t.is(decoded.length, at + 1, `${where}: a transparent payload is the last element`);
      t.true(decoded[at] instanceof Uint8Array, `${where}: payload is binary`);
      t.deepEqual(normalize(decoded[at]), { $bin: String(payload).toLowerCase() }, `${where}: payload bytes`);
      continue;
    }
    // null = absent: our messages omit empty Arguments/ArgumentsKw instead of carrying null.
    const actual = getPath(record, field);
    if (value === null) t.is(actual, undefined, `${where}: ${attr} (null) is absent`);
    else t.deepEqual(normalize(actual), normalize(value), `${where}: ${attr} -> ${field}`);
  }
}
