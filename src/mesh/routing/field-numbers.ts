// A call's frame, embedded (links/embedded.ts), names its fields by number rather than by text
// (link protocol version 10): with text keys, a call frame was mostly its keys (67 of a small
// call frame's 163 octets, 44 of a result's 77), and every octet of a frame is copied, hashed for
// the link tags at every hop and matched by each node it passes. A field's number is its index in
// FIELD_NUMBERS, one octet on the wire (a CBOR unsigned integer under 24); so is its type (`t`),
// by its index in FRAME_TYPES. A bare frame (what the general encoder writes when the routers'
// own writer cannot, and what older tests write) keeps its keys and type as texts.

import type { Dict } from '../../wamp/messages.ts';

/** The fields of a call's frames (call, chunk, cancel, result, error), each by its number: its index here. */
export const FIELD_NUMBERS = [
  't',
  'origin',
  'dst',
  'realm',
  'procedure',
  'match',
  'mode',
  'error',
  'id',
  'session',
  'progress',
  'details',
  'args',
  'kwargs',
  'who',
  'mac',
] as const;

/** A call's frame's types, each by its number in an embedded frame: its index here. */
export const FRAME_TYPES = ['call', 'chunk', 'cancel', 'result', 'error'] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

const NUMBER = /^(?:0|[1-9][0-9]?)$/;

/**
 * A decoded embedded frame with its fields (and its type) named; a sentence when one of its keys
 * is no number. The decoder hands a map's integer keys over as the texts of their digits, and
 * makes the same of "2" or of 2 in two octets: only frames whose keys readRoutedHeader took (one
 * octet each) are named here to be acted on (decodePassed), others only to say why they are
 * refused (envelope.ts). A number no field has is left out, as a field a node does not know is
 * ignored in a bare frame.
 */
export function namedFields(v: unknown): Dict | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    return 'an embedded frame must be a map';
  const named: Dict = {};
  for (const key of Object.keys(v)) {
    if (!NUMBER.test(key)) return `an embedded frame's keys are numbers, not "${key.slice(0, 32)}"`;
    const name = FIELD_NUMBERS[Number(key)];
    if (name !== undefined) named[name] = (v as Dict)[key];
  }
  // A number no type has stays a number, which no frame's type is (validateFrame says so).
  if (typeof named.t === 'number') named.t = FRAME_TYPES[named.t] ?? named.t;
  return named;
}

const HEADER = ['t', 'origin', 'dst', 'id', 'realm'] as const;
const FIELDS_OF: Record<FrameType, readonly string[]> = {
  call: [...HEADER, 'procedure', 'match', 'session', 'details', 'args', 'kwargs', 'who', 'mac'],
  chunk: [...HEADER, 'progress', 'args', 'kwargs'],
  cancel: [...HEADER, 'mode'],
  result: [...HEADER, 'progress', 'details', 'args', 'kwargs'],
  error: [...HEADER, 'error', 'details', 'args', 'kwargs'],
};

/**
 * A call's frame as received, with only the fields its type carries on the wire (its routing
 * header first): a field a node makes for itself (a payload left undecoded, `payload`; a
 * client's octets, `raw`) or any other one a sender adds is not taken from a peer, where the
 * code acting on the frame would take it for its own.
 */
export function wireFields(v: Dict & { t: FrameType }): Dict & { t: FrameType } {
  const fields: Dict & { t: FrameType } = { t: v.t };
  for (const name of FIELDS_OF[v.t]) if (name !== 't' && Object.hasOwn(v, name)) fields[name] = v[name];
  return fields;
}
