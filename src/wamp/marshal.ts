// Typed message -> wire array. Empty Arguments/ArgumentsKw are omitted, never sent as null:
// some clients (Autobahn|Python) reject a null payload.

import type { Serializer } from '../serializers/serializer.ts';
import { hasKeys } from './has-keys.ts';
import { MessageType as T, type Args, type Message, type PassedPayload } from './messages.ts';

export { hasKeys } from './has-keys.ts';

export function toArray(m: Message): unknown[] {
  switch (m.type) {
    case T.HELLO:
      return [m.type, m.realm, m.details];
    case T.WELCOME:
      return [m.type, m.session, m.details];
    case T.ABORT:
      return [m.type, m.details, m.reason];
    case T.CHALLENGE:
      return [m.type, m.authmethod, m.extra];
    case T.AUTHENTICATE:
      return [m.type, m.signature, m.extra];
    case T.GOODBYE:
      return [m.type, m.details, m.reason];
    // Messages with a payload: each array at its final length, not grown by a push (which
    // more than quadruples it): the in-process peers (HTTP gateway, MQTT) send a CALL per
    // request, checked in this form, and each INVOCATION and RESULT re-encoded is one.
    case T.ERROR:
      if (hasKeys(m.kwargs)) return [m.type, m.requestType, m.request, m.details, m.error, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0)
        return [m.type, m.requestType, m.request, m.details, m.error, m.args];
      return [m.type, m.requestType, m.request, m.details, m.error];
    case T.PUBLISH:
      if (hasKeys(m.kwargs)) return [m.type, m.request, m.options, m.topic, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0) return [m.type, m.request, m.options, m.topic, m.args];
      return [m.type, m.request, m.options, m.topic];
    case T.EVENT:
      if (hasKeys(m.kwargs)) return [m.type, m.subscription, m.publication, m.details, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0) return [m.type, m.subscription, m.publication, m.details, m.args];
      return [m.type, m.subscription, m.publication, m.details];
    case T.CALL:
      if (hasKeys(m.kwargs)) return [m.type, m.request, m.options, m.procedure, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0) return [m.type, m.request, m.options, m.procedure, m.args];
      return [m.type, m.request, m.options, m.procedure];
    case T.RESULT:
      if (hasKeys(m.kwargs)) return [m.type, m.request, m.details, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0) return [m.type, m.request, m.details, m.args];
      return [m.type, m.request, m.details];
    case T.INVOCATION:
      if (hasKeys(m.kwargs)) return [m.type, m.request, m.registration, m.details, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0) return [m.type, m.request, m.registration, m.details, m.args];
      return [m.type, m.request, m.registration, m.details];
    case T.YIELD:
      if (hasKeys(m.kwargs)) return [m.type, m.request, m.options, m.args ?? [], m.kwargs];
      if (m.args !== undefined && m.args.length > 0) return [m.type, m.request, m.options, m.args];
      return [m.type, m.request, m.options];
    case T.PUBLISHED:
      return [m.type, m.request, m.publication];
    case T.SUBSCRIBE:
      return [m.type, m.request, m.options, m.topic];
    case T.SUBSCRIBED:
      return [m.type, m.request, m.subscription];
    case T.UNSUBSCRIBE:
      return [m.type, m.request, m.subscription];
    case T.UNSUBSCRIBED:
      return m.details === undefined ? [m.type, m.request] : [m.type, m.request, m.details];
    case T.CANCEL:
      return [m.type, m.request, m.options];
    case T.REGISTER:
      return [m.type, m.request, m.options, m.procedure];
    case T.REGISTERED:
      return [m.type, m.request, m.registration];
    case T.UNREGISTER:
      return [m.type, m.request, m.registration];
    case T.UNREGISTERED:
      return m.details === undefined ? [m.type, m.request] : [m.type, m.request, m.details];
    case T.INTERRUPT:
      return [m.type, m.request, m.options];
  }
}

type WithPayload = Extract<Message, { args?: Args }>;

/**
 * The elements before Arguments. The same arrays as toArray() writes, from allocation sites of
 * their own: sharing one site with toArray (whose arrays grew by a push then) made V8 handle the
 * re-encoding path worse once both paths had run (small calls 50% slower after large ones).
 */
function headOf(m: WithPayload): unknown[] {
  switch (m.type) {
    case T.ERROR:
      return [m.type, m.requestType, m.request, m.details, m.error];
    case T.PUBLISH:
      return [m.type, m.request, m.options, m.topic];
    case T.EVENT:
      return [m.type, m.subscription, m.publication, m.details];
    case T.CALL:
      return [m.type, m.request, m.options, m.procedure];
    case T.RESULT:
      return [m.type, m.request, m.details];
    case T.INVOCATION:
      return [m.type, m.request, m.registration, m.details];
    case T.YIELD:
      return [m.type, m.request, m.options];
  }
}

/** Typed message -> frame: with the payload's own bytes when it came in this serialization. */
export function encodeMessage(m: Message, serializer: Serializer): Uint8Array {
  const raw = (m as { raw?: PassedPayload }).raw;
  if (raw !== undefined && raw.serializer === serializer) {
    const frame = raw.encode(headOf(m as WithPayload));
    if (frame !== null) return frame;
  }
  return serializer.encode(toArray(m));
}

/**
 * encodeMessage(), but a frame with a payload passed through comes as its consecutive parts
 * (head, payload, end), for a transport that writes them without joining them: the payload's
 * octets are then never copied in JavaScript on their way through the router.
 */
export function encodeMessageParts(m: Message, serializer: Serializer): Uint8Array | Uint8Array[] {
  const raw = (m as { raw?: PassedPayload }).raw;
  if (raw !== undefined && raw.serializer === serializer) {
    const parts = raw.parts(headOf(m as WithPayload));
    if (parts !== null) return parts;
  }
  return serializer.encode(toArray(m));
}
