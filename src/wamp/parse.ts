// Validation at the edge: a decoded frame (unknown) becomes a typed Message, or a
// ProtocolViolation explaining what is wrong. Peer input never throws out of here.

import { isId } from './ids.ts';
import { MessageType, messageName, type Dict, type Message } from './messages.ts';

export class ProtocolViolation {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

type Kind = 'id' | 'uri' | 'dict' | 'string' | 'type';

// Fixed fields after the type code, and whether Arguments|list, ArgumentsKw|dict may follow.
interface Layout {
  readonly fields: readonly (readonly [string, Kind])[];
  readonly payload: boolean;
}

const L = (payload: boolean, ...fields: (readonly [string, Kind])[]): Layout => ({ fields, payload });

const layouts: Record<number, Layout> = {
  [MessageType.HELLO]: L(false, ['realm', 'uri'], ['details', 'dict']),
  [MessageType.WELCOME]: L(false, ['session', 'id'], ['details', 'dict']),
  [MessageType.ABORT]: L(false, ['details', 'dict'], ['reason', 'uri']),
  [MessageType.CHALLENGE]: L(false, ['authmethod', 'string'], ['extra', 'dict']),
  [MessageType.AUTHENTICATE]: L(false, ['signature', 'string'], ['extra', 'dict']),
  [MessageType.GOODBYE]: L(false, ['details', 'dict'], ['reason', 'uri']),
  [MessageType.ERROR]: L(true, ['requestType', 'type'], ['request', 'id'], ['details', 'dict'], ['error', 'uri']),
  [MessageType.PUBLISH]: L(true, ['request', 'id'], ['options', 'dict'], ['topic', 'uri']),
  [MessageType.PUBLISHED]: L(false, ['request', 'id'], ['publication', 'id']),
  [MessageType.SUBSCRIBE]: L(false, ['request', 'id'], ['options', 'dict'], ['topic', 'uri']),
  [MessageType.SUBSCRIBED]: L(false, ['request', 'id'], ['subscription', 'id']),
  [MessageType.UNSUBSCRIBE]: L(false, ['request', 'id'], ['subscription', 'id']),
  [MessageType.EVENT]: L(true, ['subscription', 'id'], ['publication', 'id'], ['details', 'dict']),
  [MessageType.CALL]: L(true, ['request', 'id'], ['options', 'dict'], ['procedure', 'uri']),
  [MessageType.CANCEL]: L(false, ['request', 'id'], ['options', 'dict']),
  [MessageType.RESULT]: L(true, ['request', 'id'], ['details', 'dict']),
  [MessageType.REGISTER]: L(false, ['request', 'id'], ['options', 'dict'], ['procedure', 'uri']),
  [MessageType.REGISTERED]: L(false, ['request', 'id'], ['registration', 'id']),
  [MessageType.UNREGISTER]: L(false, ['request', 'id'], ['registration', 'id']),
  [MessageType.INVOCATION]: L(true, ['request', 'id'], ['registration', 'id'], ['details', 'dict']),
  [MessageType.INTERRUPT]: L(false, ['request', 'id'], ['options', 'dict']),
  [MessageType.YIELD]: L(true, ['request', 'id'], ['options', 'dict']),
};

export function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function checkField(kind: Kind, v: unknown): string | null {
  switch (kind) {
    case 'id':
      return isId(v) ? null : 'an integer ID in [1, 2^53]';
    case 'dict':
      return isDict(v) ? null : 'a dict';
    case 'string':
      return typeof v === 'string' ? null : 'a string';
    // URI syntax is checked where the spec wants ERROR invalid_uri rather than ABORT.
    case 'uri':
      return typeof v === 'string' ? null : 'a URI string';
    case 'type':
      return typeof v === 'number' && layouts[v] !== undefined ? null : 'a message type code';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (ArrayBuffer.isView(v)) return 'binary';
  if (typeof v === 'object') return 'a dict';
  if (typeof v === 'string') return v.length > 40 ? 'a string' : JSON.stringify(v);
  if (typeof v === 'bigint') return `${v} (beyond 2^53)`;
  return String(v);
}

export function parseMessage(value: unknown): Message | ProtocolViolation {
  if (!Array.isArray(value) || value.length === 0) return new ProtocolViolation('a message must be a non-empty list');
  const code: unknown = value[0];
  if (code === MessageType.CALL || code === MessageType.YIELD || code === MessageType.PUBLISH) {
    const fast = parseRouted(code, value);
    if (fast !== undefined) return fast;
  }
  // UNSUBSCRIBED/UNREGISTERED: [T, Request|id] or the router-initiated [T, 0, Details|dict].
  if (code === MessageType.UNSUBSCRIBED || code === MessageType.UNREGISTERED) return parseRevocation(code, value);
  const layout = typeof code === 'number' ? layouts[code] : undefined;
  if (layout === undefined) return new ProtocolViolation(`unknown message type ${describe(code)}`);
  const name = messageName[code as number];
  const n = layout.fields.length;
  const max = n + 1 + (layout.payload ? 2 : 0);
  if (value.length < n + 1 || value.length > max) {
    return new ProtocolViolation(
      `${name} must have ${n + 1}${max > n + 1 ? `..${max}` : ''} elements, got ${value.length}`,
    );
  }
  const msg: Record<string, unknown> = { type: code };
  for (let i = 0; i < n; i++) {
    const [field, kind] = layout.fields[i]!;
    const v = value[i + 1];
    const expected = checkField(kind, v);
    if (expected !== null) return new ProtocolViolation(`${name}.${field} must be ${expected}, got ${describe(v)}`);
    msg[field] = v;
  }
  if (value.length > n + 1) {
    const args = value[n + 1];
    if (!Array.isArray(args)) return new ProtocolViolation(`${name}.Arguments must be a list, got ${describe(args)}`);
    if (args.length > 0 || value.length === n + 3) msg.args = args;
  }
  if (value.length > n + 2) {
    const kwargs = value[n + 2];
    if (!isDict(kwargs)) return new ProtocolViolation(`${name}.ArgumentsKw must be a dict, got ${describe(kwargs)}`);
    msg.kwargs = kwargs;
  }
  return msg as unknown as Message;
}

/**
 * CALL, YIELD and PUBLISH, the messages a router receives most, when valid: checked field by
 * field into one object literal per type. The generic loop builds objects a property at a
 * time, which costs more and hands the Dealer and Broker objects of many shapes. Anything
 * invalid gives undefined, and the generic path says what is wrong.
 */
function parseRouted(code: number, value: unknown[]): Message | undefined {
  const n = value.length;
  const request = value[1];
  const options = value[2];
  if (!isId(request) || !isDict(options)) return undefined;
  if (code === MessageType.YIELD) {
    if (n < 3 || n > 5) return undefined;
    const payload = parsePayload(value, 3);
    return payload === null
      ? undefined
      : { type: MessageType.YIELD, request, options, args: payload.args, kwargs: payload.kwargs };
  }
  const uri = value[3];
  if (n < 4 || n > 6 || typeof uri !== 'string') return undefined;
  const payload = parsePayload(value, 4);
  if (payload === null) return undefined;
  return code === MessageType.CALL
    ? { type: MessageType.CALL, request, options, procedure: uri, args: payload.args, kwargs: payload.kwargs }
    : { type: MessageType.PUBLISH, request, options, topic: uri, args: payload.args, kwargs: payload.kwargs };
}

/** Arguments|list and ArgumentsKw|dict from `at` on, as the generic path keeps them; null if invalid. */
function parsePayload(value: unknown[], at: number): { args: unknown[] | undefined; kwargs: Dict | undefined } | null {
  if (value.length === at) return NO_PAYLOAD;
  const args = value[at];
  if (!Array.isArray(args)) return null;
  if (value.length === at + 1) return args.length > 0 ? { args, kwargs: undefined } : NO_PAYLOAD;
  const kwargs = value[at + 1];
  return isDict(kwargs) ? { args, kwargs } : null;
}
const NO_PAYLOAD = Object.freeze({ args: undefined, kwargs: undefined });

/**
 * An in-process CALL (PeerHandler.receiveMessage) that is already what parseMessage makes of its
 * array: the same message, so checking it builds nothing (no array, no copy). undefined for any
 * other type, a field of the wrong type or a payload in another form (an empty Arguments list
 * without ArgumentsKw, ArgumentsKw without Arguments): parseMessage of its array decides then,
 * and says what is wrong.
 */
export function asParsedCall(m: Message): Message | undefined {
  if (m.type !== MessageType.CALL || !isId(m.request) || !isDict(m.options) || typeof m.procedure !== 'string')
    return undefined;
  const { args, kwargs } = m;
  if (kwargs === undefined) return args === undefined || (Array.isArray(args) && args.length > 0) ? m : undefined;
  return Array.isArray(args) && isDict(kwargs) ? m : undefined;
}

function parseRevocation(code: number, value: unknown[]): Message | ProtocolViolation {
  const name = messageName[code];
  const request = value[1];
  if (value.length === 2 && isId(request)) return { type: code, request } as Message;
  if (value.length === 3 && request === 0 && isDict(value[2]))
    return { type: code, request: 0, details: value[2] } as Message;
  return new ProtocolViolation(`${name} must be [${code}, Request|id] or [${code}, 0, Details|dict]`);
}
