// The routing header of a call's frame (call, chunk, cancel, result, error), read from its CBOR
// without decoding the rest: a node in the middle of a call's path needs only where the frame
// goes (routing/calls.ts), and sends its bytes on as they came (envelope.ts). Details, args and
// kwargs are skipped over by their lengths, so reading the header costs the same whatever the
// payload holds.
//
// The routers send a call's frames embedded (tag 24 on a byte string, routed-writer.ts), their
// keys numbered (routing/field-numbers.ts): on a node the frame only passes through, reading
// stops once the header is read, and the byte string's length says where the frame ends, so
// nothing of the caller's payload is walked there. A bare map, its keys texts, is read as before,
// to its end.
//
// Only the plain form is read here: a definite-length map with text keys (numbered ones when
// embedded), text values and integers in their shortest heads up to 2^53, as the routers write
// them. For a bare frame in any other form (and for every other kind of frame) readRoutedHeader
// answers undefined and the frame is decoded and validated whole as before, so an odd but valid
// frame is still taken and a bad one still refused with the same reason; an embedded one whose
// header it cannot read is refused with its envelope (envelope.ts).

import { cborItemEnd } from '../../serializers/payload-span.ts';
import { FIELD_NUMBERS, FRAME_TYPES } from '../routing/field-numbers.ts';
import { decodePassed, PassedFrame, type NodeId, type RoutedFrame } from '../routing/frames.ts';
import { cursor, MAJOR, Names, readBool, readInt, readLength, readName, readText } from './cbor-reader.ts';
import { Field, FIELD_NAMES, noteField, readField, readWhole, spans } from './routed-reader.ts';
import { EMBEDDED_TAG as TAG_24 } from './embedded.ts';

// The header's keys, then the others (their values' places noted in `spans`), by their index in KEYS.
const Key = { t: 0, origin: 1, dst: 2, id: 3, realm: 4, progress: 5, mode: 6, error: 7 } as const;
const HEADER_KEYS = Object.keys(Key).length;
const KEYS = new Names([...Object.keys(Key), ...FIELD_NAMES]);
/** A key's index in KEYS by its number in an embedded frame. */
const NUMBERED: number[] = FIELD_NUMBERS.map((name) => KEYS.find(Buffer.from(name), 0, name.length));
const TYPES = new Names(FRAME_TYPES);

/**
 * The CBOR item at `start` of `b` as a PassedFrame (its `encoded` the item's bytes) if it is a
 * call's frame in the plain form; undefined otherwise. A frame for `self` (but a cancel, whose
 * header says it all) is read whole too (PassedFrame.whole), in the same pass.
 */
export function readRoutedHeader(b: Uint8Array, start = 0, self?: NodeId): PassedFrame | undefined {
  // Embedded (routed-writer.ts): the map is the content of a byte string under tag 24, which
  // ends at `end`; -1: a bare map, whose end is found by walking it.
  let end = -1;
  cursor.at = start;
  if (b[start] === TAG_24[0] && b[start + 1] === TAG_24[1]) {
    cursor.at = start + 2;
    if (cursor.at >= b.length || b[cursor.at]! >> 5 !== MAJOR.BYTES) return undefined;
    const length = readLength(b);
    if (length < 0 || cursor.at + length > b.length) return undefined;
    end = cursor.at + length;
  }
  if (cursor.at >= b.length || b[cursor.at]! >> 5 !== MAJOR.MAP) return undefined;
  const pairs = readLength(b);
  if (pairs < 0) return undefined;
  for (let i = 0; i < spans.length; i++) spans[i] = -1;
  let unknown = false;
  // Embedded: a key not in the form the routers write (one octet), which the general decoder
  // could take for another one (2 and "2", 0x18 0x02 and 0x02 all decode to the same key).
  let odd = false;
  // Each header key's first value counts: a node only passing an embedded frame on stops reading
  // there, so a later one would route it one way there and another where it is read whole. A
  // frame repeating one is refused where it is read whole.
  let seen = 0;
  let repeated = false;
  // Embedded and for this node: its header was read whole by here, so what is wrong past it is
  // the frame's (refused, its caller answered), not the link's.
  let headerRead = false;
  let t: RoutedFrame['t'] | undefined;
  let origin: string | undefined;
  let dst: string | undefined;
  let id: number | undefined;
  let realm: string | undefined;
  let progress: boolean | undefined;
  let mode: string | undefined;
  let error: string | undefined;
  for (let n = 0; n < pairs; n++) {
    // Embedded, once the header is read (the routers write its keys first): a frame only passing
    // through is stepped over, its content the next nodes' to check, as a payload's always was;
    // so is a cancel, which its header says all of.
    if (end >= 0 && !headerRead && t !== undefined && origin !== undefined && realm !== undefined && id !== undefined) {
      if (dst !== undefined && complete(t, progress, mode, error)) {
        if (cursor.at > end) return undefined;
        if (dst !== self || t === 'cancel') {
          cursor.at = end;
          break;
        }
        headerRead = true;
      }
    }
    // Keys and the type are matched as octets: no string is made for them.
    const key = end >= 0 ? numberedKey(b) : readName(b, KEYS);
    if (key === -1) break;
    if (key === ODD_KEY) {
      odd = true;
      cursor.at = -1;
      break;
    }
    if (key >= 0 && key < HEADER_KEYS) {
      if ((seen & (1 << key)) !== 0) repeated = true;
      seen |= 1 << key;
    }
    switch (key) {
      case Key.t: {
        // By its number (one octet) in an embedded frame (field-numbers.ts), a text in a bare one.
        let type = -1;
        if (end < 0) type = readName(b, TYPES);
        else if (b[cursor.at]! < FRAME_TYPES.length) type = b[cursor.at++]!;
        if (type < 0) cursor.at = -1;
        else t ??= FRAME_TYPES[type];
        break;
      }
      case Key.origin: {
        const v = readText(b);
        origin ??= v;
        break;
      }
      case Key.dst: {
        const v = readText(b);
        dst ??= v;
        break;
      }
      case Key.realm: {
        const v = readText(b);
        realm ??= v;
        break;
      }
      case Key.mode: {
        const v = readText(b);
        mode ??= v;
        break;
      }
      case Key.error: {
        const v = readText(b);
        error ??= v;
        break;
      }
      case Key.id: {
        const v = readInt(b);
        id ??= v;
        break;
      }
      case Key.progress: {
        const v = readBool(b);
        progress ??= v;
        break;
      }
      default: {
        const at = cursor.at;
        const field = key - HEADER_KEYS;
        // What the node the frame is for will take as a dict or a list; their content is its to check.
        if (field === Field.args || field === Field.details || field === Field.kwargs) {
          if (at >= b.length || b[at]! >> 5 !== (field === Field.args ? MAJOR.ARRAY : MAJOR.MAP)) {
            cursor.at = -1;
            break;
          }
        }
        if (headerRead && field >= 0) {
          // For this node: read as it is walked (routed-reader.ts).
          cursor.at = readField(b, field, at, end, t!);
          break;
        }
        cursor.at = cborItemEnd(b, at);
        if (field >= 0) noteField(field, at, cursor.at);
        else unknown = true;
        break;
      }
    }
    if (cursor.at < 0) break;
  }
  const at = cursor.at;
  if (at < 0 || t === undefined || (end >= 0 && at !== end)) {
    if (!headerRead) return undefined;
    // Passed on to here by a neighbour that could not know: refused, in the decoder's words
    // (which would take an odd key for the one it stands for).
    const passed = passedFrame(b, start, end, {
      t: t!,
      origin: origin!,
      dst: dst!,
      id: id!,
      realm: realm!,
      progress,
      mode,
      error,
    });
    passed.whole = odd ? `${t} frame: ${ODD_KEYS}` : decodePassed(passed);
    return passed;
  }
  if (origin === undefined || dst === undefined || id === undefined || realm === undefined) return undefined;
  if (!complete(t, progress, mode, error)) return undefined;
  const passed = passedFrame(b, start, at, { t, origin, dst, id, realm, progress, mode, error });
  if (dst === self && t !== 'cancel') {
    // A key of no frame known here: decoded whole (decodePassed), as before.
    if (repeated) passed.whole = `${t} frame: a key of its routing header is repeated`;
    else if (!unknown) passed.whole = readWhole(b, passed);
  }
  return passed;
}

const ODD_KEY = -3;
const ODD_KEYS = "an embedded frame's keys are numbers under 24, one octet each";

/**
 * The index in KEYS of the key at the cursor of an embedded frame, by its number (moving past it);
 * -2 for a number no field has (16 to 23: fields of later versions, left out), ODD_KEY for any
 * other key (a text, a number in a longer form, a larger one), -1 at the end of the octets.
 */
function numberedKey(b: Uint8Array): number {
  const at = cursor.at;
  const x = b[at];
  if (x === undefined) {
    cursor.at = -1;
    return -1;
  }
  if (x >= 24) return ODD_KEY;
  cursor.at = at + 1;
  return x < FIELD_NUMBERS.length ? NUMBERED[x]! : -2;
}

interface Header {
  t: RoutedFrame['t'];
  origin: NodeId;
  dst: NodeId;
  id: number;
  realm: string;
  progress: boolean | undefined;
  mode: string | undefined;
  error: string | undefined;
}

function passedFrame(b: Uint8Array, start: number, end: number, h: Header): PassedFrame {
  const { t, origin, dst, id, realm } = h;
  const header = { t, origin, dst, id, realm, progress: h.progress ?? false, mode: h.mode ?? '', error: h.error ?? '' };
  return new PassedFrame(header, b.subarray(start, end));
}

/** Whether a frame of type `t` has all of its routing header (t, origin, dst, id and realm apart). */
function complete(t: RoutedFrame['t'], progress: unknown, mode: unknown, error: unknown): boolean {
  switch (t) {
    case 'chunk':
    case 'result':
      return progress !== undefined;
    case 'cancel':
      return mode !== undefined;
    case 'error':
      return error !== undefined;
    default:
      return true;
  }
}
