// A call's frame read whole on the node it is for, in the pass that reads its routing header
// (passed-frames.ts): the header's fields are taken from there, the others read as that pass
// walks them (readField, an embedded frame) or from where it found them (`spans`: a bare frame,
// a value not in the plain form). Texts, integers, an identity and a tag are read in place, an
// empty dict is made without a decoder; a call's or a result's payload is checked on its octets and left
// undecoded (`payload`: the Dealer passes it through to a CBOR client, and decodes it only for
// another); only what else the clients gave (non-empty details, a payload the check does not
// take, a chunk's or an error's) goes through the CBOR decoder. The frame is then validated by
// validateFrame's checks for a call's frames (validateRoutedFrame), as a frame decoded by
// decodePassed is: the same frames are taken and the same ones refused, with the same reason.

import { cbor } from '../../serializers/cbor.ts';
import { cborItemEnd } from '../../serializers/payload-span.ts';
import { cborPayloadHeads, checkCborPayload, plainCborItemEnd } from '../../serializers/payload-check.ts';
import { MessageType as T, type Dict } from '../../wamp/messages.ts';
import { RawPayload } from '../../wamp/raw-payload.ts';
import { validateRoutedFrame, type PassedFrame, type RoutedFrame } from '../routing/frames.ts';
import { cursor, FALSE, MAJOR, readBool, readInt, readLength, readText, TRUE } from './cbor-reader.ts';

/** A frame's keys other than its routing header's, by their index in FIELD_NAMES. */
export const Field = {
  procedure: 0,
  match: 1,
  session: 2,
  details: 3,
  args: 4,
  kwargs: 5,
  who: 6,
  mac: 7,
} as const;
export const FIELD_NAMES = Object.keys(Field);

/** Where each Field's value lies in the frame being read: [start, end) at 2 * field; -1: absent. */
export const spans = new Int32Array(2 * FIELD_NAMES.length);
/** Each Field's value as readField read it in place, or UNREAD: read from its span (value()). */
const values: unknown[] = FIELD_NAMES.map(() => undefined);
const UNREAD = Symbol('unread');
/** Bits (1 << field) of args and kwargs walked by readField with payload-check.ts's rules. */
let walked = 0;

const EMPTY_MAP = 0xa0;
const IDENTITY = 0x84; // an array of 4: [session, authid, authrole, disclosed]
/** A value the CBOR decoder refused: the frame goes to decodePassed, which says why in its words. */
const UNDECODABLE = Symbol('undecodable');

/**
 * The frame `h` of `b` whole and validated; a reason if invalid; undefined if decodePassed must
 * read it. Fields absent from the frame are undefined in it (as they read), not left out.
 */
export function readWhole(b: Uint8Array, h: PassedFrame): RoutedFrame | string | undefined {
  const { t, origin, dst, id, realm } = h;
  const details = t === 'chunk' ? undefined : field(b, Field.details);
  // A call's and a result's payload is checked on its octets and left undecoded, for the
  // Dealer to pass through to a CBOR client; anything the check does not take is decoded.
  const payload = t === 'call' || t === 'result' ? undecoded(b, t) : undefined;
  const args = payload === undefined ? field(b, Field.args) : undefined;
  const kwargs = payload === undefined ? field(b, Field.kwargs) : undefined;
  if (details === UNDECODABLE || args === UNDECODABLE || kwargs === UNDECODABLE) return undefined;
  let f: Dict & { t: RoutedFrame['t'] };
  switch (t) {
    case 'call': {
      const procedure = field(b, Field.procedure);
      const match = field(b, Field.match);
      const session = field(b, Field.session);
      const who = field(b, Field.who);
      const mac = field(b, Field.mac);
      if (who === UNDECODABLE || mac === UNDECODABLE || procedure === UNDECODABLE) return undefined;
      if (match === UNDECODABLE || session === UNDECODABLE) return undefined;
      f = { t, origin, dst, id, realm, procedure, match, session, details, args, kwargs, payload, who, mac };
      break;
    }
    case 'chunk':
      f = { t, origin, dst, id, realm, progress: h.progress, args, kwargs };
      break;
    case 'result':
      f = { t, origin, dst, id, realm, progress: h.progress, details, args, kwargs, payload };
      break;
    case 'error':
      f = { t, origin, dst, id, realm, error: h.error, details, args, kwargs };
      break;
    default:
      return undefined;
  }
  return validateRoutedFrame(f);
}

/** Notes where a field lies, its value to be read from there (value()). */
export function noteField(field: number, start: number, end: number): void {
  spans[2 * field] = start;
  spans[2 * field + 1] = end;
  values[field] = UNREAD;
  walked &= ~(1 << field);
}

/**
 * The end of the field at `start` of a frame of type `t` for this node (which ends at
 * `frameEnd`), its value read in place in the same walk where it has the plain form value()
 * reads (a call's or a result's payload: walked as payload-check.ts checks it); -1 if it is cut
 * short. So the frame's fields are walked once, not once to find where they lie and again to
 * read them.
 */
export function readField(b: Uint8Array, field: number, start: number, frameEnd: number, t: RoutedFrame['t']): number {
  if ((field === Field.args || field === Field.kwargs) && (t === 'call' || t === 'result')) {
    let end = -1;
    try {
      end = plainCborItemEnd(b, start, frameEnd);
    } catch {
      // invalid UTF-8: the decoder's way (undecoded, then value())
    }
    if (end >= 0) {
      noteField(field, start, end);
      walked |= 1 << field;
      return end;
    }
  }
  // A tag is only noted: the view of the received octets value() makes of it is the frame's to
  // keep, not `values`' (which would keep them alive until another frame's tag is read).
  const v = field === Field.mac ? UNREAD : plainValue(b, field, start);
  const end = v === UNREAD ? cborItemEnd(b, start) : cursor.at;
  noteField(field, start, end);
  values[field] = v;
  return end;
}

const NO_HEAD = new Uint8Array(0);

/**
 * The frame's args and kwargs as a payload of their own, copied together into one CBOR list
 * ([args, kwargs], as a CALL or YIELD holds them after its head), if payload-check.ts takes them
 * as it takes a client's: plain values, valid UTF-8, a non-empty list and a non-empty dict;
 * undefined otherwise (absent, empty, or anything for the decoder to judge).
 */
function undecoded(b: Uint8Array, t: 'call' | 'result'): RawPayload | undefined {
  const args = spans[2 * Field.args]!;
  if (args < 0) return undefined;
  const argsEnd = spans[2 * Field.args + 1]!;
  const kwargs = spans[2 * Field.kwargs]!;
  const count = kwargs < 0 ? 1 : 2;
  const kwargsLength = count === 2 ? spans[2 * Field.kwargs + 1]! - kwargs : 0;
  const frame = Buffer.allocUnsafe(1 + argsEnd - args + kwargsLength);
  frame[0] = 0x80 | count;
  copy(b, args, argsEnd, frame, 1);
  if (count === 2) copy(b, kwargs, kwargs + kwargsLength, frame, 1 + argsEnd - args);
  // Walked and checked by readField already: only their heads are left to check.
  const bits = count === 2 ? (1 << Field.args) | (1 << Field.kwargs) : 1 << Field.args;
  if ((walked & bits) === bits) {
    if (!cborPayloadHeads(frame, 1, 1 + argsEnd - args, count)) return undefined;
  } else {
    try {
      if (!checkCborPayload(frame, 1, frame.length, count)) return undefined;
    } catch {
      return undefined; // invalid UTF-8: the decoder's way, as before
    }
  }
  const type = t === 'call' ? T.CALL : T.YIELD;
  return new RawPayload(cbor, frame, {
    type,
    index: 0,
    head: NO_HEAD,
    decoded: undefined,
    start: 1,
    end: frame.length,
    count,
  });
}

/** b[start, end) into `to` at `at`; a short run octet by octet (a view for set() costs more). */
function copy(b: Uint8Array, start: number, end: number, to: Uint8Array, at: number): void {
  if (end - start > 64) to.set(b.subarray(start, end), at);
  else for (let i = start; i < end; i++) to[at++] = b[i]!;
}

/** The value of a field (undefined if absent), UNDECODABLE if the CBOR decoder refused it. */
function field(b: Uint8Array, field: number): unknown {
  const start = spans[2 * field]!;
  if (start < 0) return undefined;
  const v = values[field];
  return v !== UNREAD ? v : value(b, field, start, spans[2 * field + 1]!);
}

function value(b: Uint8Array, field: number, start: number, end: number): unknown {
  const v = plainValue(b, field, start);
  if (v !== UNREAD && cursor.at === end) return v;
  try {
    return cbor.decode(b.subarray(start, end));
  } catch {
    return UNDECODABLE;
  }
}

/**
 * The value of `field` at `start` if it has the plain form read here (as the decoder would make
 * it), the cursor past it; UNREAD, the cursor -1, if not.
 */
function plainValue(b: Uint8Array, field: number, start: number): unknown {
  const first = b[start]!;
  cursor.at = start;
  switch (field) {
    case Field.procedure:
    case Field.match: {
      const text = readText(b);
      return cursor.at < 0 ? UNREAD : text;
    }
    case Field.session: {
      const n = readInt(b);
      return cursor.at < 0 ? UNREAD : n;
    }
    case Field.who: {
      if (first !== IDENTITY) break;
      cursor.at++;
      const who = [readInt(b), readText(b), readText(b), readBool(b)];
      return cursor.at < 0 ? UNREAD : who;
    }
    case Field.mac: {
      if (first >> 5 !== MAJOR.BYTES) break;
      const length = readLength(b);
      const at = cursor.at;
      if (length < 0 || at + length > b.length) break;
      cursor.at = at + length;
      // As the decoder hands a byte string: a view of the octets received.
      return b.subarray(at, at + length);
    }
    default:
      if (first === EMPTY_MAP) {
        cursor.at = start + 1;
        return {};
      }
      if (first >> 5 === MAJOR.ARRAY) {
        const list = plainList(b);
        return cursor.at < 0 ? UNREAD : list;
      }
  }
  cursor.at = -1;
  return UNREAD;
}

const NULL = 0xf6;
const UNDEFINED = 0xf7;

/**
 * A short list of ASCII texts, safe integers, booleans and nulls at the cursor (most calls'
 * arguments), as the decoder would make it; anything else leaves the cursor at -1.
 */
function plainList(b: Uint8Array): unknown[] | undefined {
  const n = b[cursor.at]! & 0x1f;
  if (n >= 24) {
    cursor.at = -1;
    return undefined;
  }
  cursor.at++;
  const list: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const at = cursor.at;
    const x = b[at];
    if (x === undefined) {
      cursor.at = -1; // cut short
      return undefined;
    }
    const major = x >> 5;
    if (major === MAJOR.TEXT) list.push(asciiText(b));
    else if (major === MAJOR.UINT || major === MAJOR.NINT) list.push(readInt(b));
    else if (x === TRUE || x === FALSE) list.push(readBool(b));
    else if (x === NULL || x === UNDEFINED) {
      list.push(x === NULL ? null : undefined);
      cursor.at++;
    } else cursor.at = -1;
    if (cursor.at < 0) return undefined;
  }
  return list;
}

/** A text string of ASCII octets only at the cursor (others are the decoder's to read); the cursor -1 otherwise. */
function asciiText(b: Uint8Array): string | undefined {
  const len = readLength(b);
  const start = cursor.at;
  if (len < 0 || start + len > b.length) {
    cursor.at = -1;
    return undefined;
  }
  let text = '';
  for (let i = start; i < start + len; i++) {
    const c = b[i]!;
    if (c >= 0x80) {
      cursor.at = -1;
      return undefined;
    }
    if (len <= 32) text += String.fromCharCode(c);
  }
  cursor.at = start + len;
  return len <= 32 ? text : Buffer.from(b.buffer, b.byteOffset + start, len).toString('latin1');
}
