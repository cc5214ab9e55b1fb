// The mesh envelope: the payload of a MESH link frame (framing.ts) is a CBOR array of one or
// more mesh frames (routing/frames.ts). Encoded and decoded here only; what each frame says is
// validated by the node that receives it (validateFrame), not here.
//
// A call's frames (call, chunk, cancel, result, error) are not decoded here: only their routing
// header is read (passed-frames.ts), and they reach the mesh as PassedFrames holding their
// bytes. A node in the middle of the call's path sends those bytes on as they are; only the
// node a frame is for decodes it whole. Event copies are read by event-reader.ts; every other
// frame is decoded by the general decoder.

import { cbor } from '../../serializers/cbor.ts';
import { cborItemEnd, embeddedCbor } from '../../serializers/payload-span.ts';
import type { Dict } from '../../wamp/messages.ts';
import { namedFields } from '../routing/field-numbers.ts';
import { isRoutedType, PassedFrame, type NodeId, type OutgoingFrame } from '../routing/frames.ts';
import type { EnvelopeSlabs } from './envelope-slabs.ts';
import { readEventFrame } from './event-reader.ts';
import { readRoutedHeader } from './passed-frames.ts';
import { writeRouted } from './routed-writer.ts';

const ARRAY = 0x80; // CBOR major type 4

/** The MESH payload carrying `frames`; throws when a frame cannot be encoded. */
export function encodeEnvelope(frames: readonly OutgoingFrame[]): Uint8Array {
  const items = frames.map(encodeFrame);
  return joinEnvelope(
    items,
    items.reduce((sum, b) => sum + b.length, 0),
  );
}

/** One frame as a CBOR item, to be joined into an envelope; throws when it cannot be encoded. */
export function encodeFrame(frame: OutgoingFrame): Uint8Array {
  if (frame instanceof PassedFrame) return frame.encoded;
  // A call's frame embedded (routed-writer.ts); an event copy as it is (event-reader.ts).
  // A one-element array without the array's head (one octet, 0x81).
  return writeRouted(frame, frame.t !== 'event') ?? cbor.encode([withValues(frame)]).subarray(1);
}

/** The frame with a client's payload octets (CallFrame.raw) as its values, for the general encoder. */
function withValues(frame: OutgoingFrame): OutgoingFrame {
  if (!('raw' in frame) || frame.raw === undefined) return frame;
  const { raw, ...rest } = frame;
  const args = cbor.decode(raw[0]) as unknown[];
  return raw[1] === undefined ? { ...rest, args } : { ...rest, args, kwargs: cbor.decode(raw[1]) as Dict };
}

/**
 * The envelope of frames already encoded (encodeFrame), `bytes` octets together; in one of
 * `slabs` when given and one is free (see EnvelopeSlabs).
 */
export function joinEnvelope(items: readonly Uint8Array[], bytes: number, slabs?: EnvelopeSlabs): Uint8Array {
  const n = items.length;
  if (n > 0xffff) throw new RangeError(`${n} frames in one envelope`);
  const head = n < 24 ? 1 : n < 256 ? 2 : 3;
  const out = slabs?.take(head + bytes) ?? Buffer.allocUnsafe(head + bytes);
  if (head === 1) out[0] = ARRAY | n;
  else if (head === 2) {
    out[0] = ARRAY | 24;
    out[1] = n;
  } else {
    out[0] = ARRAY | 25;
    out[1] = n >> 8;
    out[2] = n & 0xff;
  }
  let at = head;
  for (const b of items) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * The frames of a MESH payload, not yet validated (a call's frames as PassedFrames; those for
 * `self` read whole as well, see readRoutedHeader); a sentence naming the fault when it is no
 * envelope.
 */
export function decodeEnvelope(payload: Uint8Array, self?: NodeId): unknown[] | string {
  let at = arrayStart(payload);
  if (at < 0) return decodeWhole(payload);
  const count = arrayCount;
  const frames: unknown[] = [];
  for (let n = 0; n < count; n++) {
    // A call's frame is read (its header) and walked (the rest) once, by readRoutedHeader.
    const passed = readRoutedHeader(payload, at, self);
    if (passed !== undefined) {
      frames.push(passed);
      at += passed.encoded.length;
      continue;
    }
    // An event copy: read here in one walk (its content stays encoded).
    const event = readEventFrame(payload, at);
    if (event !== undefined) {
      frames.push(event.frame);
      at = event.end;
      continue;
    }
    const end = cborItemEnd(payload, at);
    if (end < 0) return decodeWhole(payload);
    const item = payload.subarray(at, end);
    // Embedded frames are a call's, in the form the routers write, which readRoutedHeader reads:
    // any other is refused with the envelope. Not decoded by the general decoder instead, which
    // would take keys the header's reader does not (2, "2" and 0x18 0x02 decode alike); and a
    // neighbour passes on only frames whose header it read, so no honest one sent this.
    const embedded = embeddedCbor(item, 0);
    if (embedded !== undefined) return embeddedRefusal(embedded);
    try {
      frames.push(cbor.decode(item));
    } catch (error) {
      return `undecodable mesh frame: ${(error as Error).message}`;
    }
    at = end;
  }
  return at === payload.length ? frames : decodeWhole(payload);
}

/** Why an embedded frame the header's reader could not read is no frame. */
function embeddedRefusal(content: Uint8Array): string {
  let t: unknown;
  try {
    const value = namedFields(cbor.decode(content));
    if (typeof value === 'string') return value;
    t = value.t;
  } catch (error) {
    return `undecodable mesh frame: ${(error as Error).message}`;
  }
  if (!isRoutedType(t)) return 'only the frames of a call are embedded';
  return `an embedded ${t} frame not in the routers' form (its keys and type one octet each, its routing header whole)`;
}

let arrayCount = 0;

/**
 * Where the first item of the definite, non-empty CBOR array that `b` starts with begins (its
 * length in arrayCount); -1 for anything else (decodeWhole then says what is wrong).
 */
function arrayStart(b: Uint8Array): number {
  if (b.length === 0 || b[0]! >> 5 !== 4) return -1;
  const info = b[0]! & 0x1f;
  let at: number;
  if (info < 24) {
    arrayCount = info;
    at = 1;
  } else if (info === 24 && b.length > 1) {
    arrayCount = b[1]!;
    at = 2;
  } else if (info === 25 && b.length > 2) {
    arrayCount = (b[1]! << 8) | b[2]!;
    at = 3;
  } else return -1;
  return arrayCount === 0 ? -1 : at;
}

function decodeWhole(payload: Uint8Array): unknown[] | string {
  let value: unknown;
  try {
    value = cbor.decode(payload);
  } catch (error) {
    return `undecodable mesh frame: ${(error as Error).message}`;
  }
  if (!Array.isArray(value) || value.length === 0) return 'a mesh payload must be a non-empty CBOR array of frames';
  return value;
}
