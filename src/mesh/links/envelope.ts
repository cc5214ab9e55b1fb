// The mesh envelope: the payload of a MESH link frame (framing.ts) is a CBOR array of one or
// more mesh frames (routing/frames.ts). Encoded and decoded here only; what each frame says is
// validated by the node that receives it (validateFrame), not here.
//
// A call's frames (call, chunk, cancel, result, error) are not decoded here: only their routing
// header is read (passed-frames.ts), and they reach the mesh as PassedFrames holding their
// bytes. A node in the middle of the call's path sends those bytes on as they are; only the
// node a frame is for decodes it whole. Every other frame is decoded as before.

import { cbor } from '../../serializers/cbor.ts';
import { cborItemEnd } from '../../serializers/payload-span.ts';
import { PassedFrame, type OutgoingFrame } from '../routing/frames.ts';
import { readRoutedHeader } from './passed-frames.ts';

const ARRAY = 0x80; // CBOR major type 4
const ARRAY_1 = 0x81;

/** The MESH payload carrying `frames`; throws when a frame cannot be encoded. */
export function encodeEnvelope(frames: readonly OutgoingFrame[]): Uint8Array {
  if (frames.length === 1) {
    const only = frames[0]!;
    if (!(only instanceof PassedFrame)) return cbor.encode(frames as unknown as unknown[]);
    const out = Buffer.allocUnsafe(1 + only.encoded.length);
    out[0] = ARRAY_1;
    out.set(only.encoded, 1);
    return out;
  }
  if (!frames.some((f) => f instanceof PassedFrame)) return cbor.encode(frames as unknown as unknown[]);
  // A frame alone: its one-element array without the array's head (one octet, 0x81).
  const items = frames.map((f) => (f instanceof PassedFrame ? f.encoded : cbor.encode([f]).subarray(1)));
  const n = items.length;
  const head = n < 24 ? [ARRAY | n] : n < 256 ? [ARRAY | 24, n] : [ARRAY | 25, n >> 8, n & 0xff];
  if (n > 0xffff) throw new RangeError(`${n} frames in one envelope`);
  const out = Buffer.allocUnsafe(head.length + items.reduce((sum, b) => sum + b.length, 0));
  out.set(head, 0);
  let at = head.length;
  for (const b of items) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * The frames of a MESH payload, not yet validated (a call's frames as PassedFrames); a sentence
 * naming the fault when it is no envelope.
 */
export function decodeEnvelope(payload: Uint8Array): unknown[] | string {
  const items = splitArray(payload);
  if (items === undefined) return decodeWhole(payload);
  const frames: unknown[] = [];
  for (let k = 0; k + 1 < items.length; k += 2) {
    const bytes = payload.subarray(items[k]!, items[k + 1]!);
    const passed = readRoutedHeader(bytes);
    if (passed !== undefined) {
      frames.push(passed);
      continue;
    }
    try {
      frames.push(cbor.decode(bytes));
    } catch (error) {
      return `undecodable mesh frame: ${(error as Error).message}`;
    }
  }
  return frames;
}

/**
 * [start, end, start, end, ...] of the items of the definite, non-empty CBOR array that is the
 * whole payload; undefined for anything else (decodeWhole then says what is wrong).
 */
function splitArray(b: Uint8Array): number[] | undefined {
  if (b.length === 0 || b[0]! >> 5 !== 4) return undefined;
  const info = b[0]! & 0x1f;
  let count: number;
  let at: number;
  if (info < 24) {
    count = info;
    at = 1;
  } else if (info === 24 && b.length > 1) {
    count = b[1]!;
    at = 2;
  } else if (info === 25 && b.length > 2) {
    count = (b[1]! << 8) | b[2]!;
    at = 3;
  } else return undefined;
  if (count === 0) return undefined;
  const items: number[] = [];
  for (let n = 0; n < count; n++) {
    const end = cborItemEnd(b, at);
    if (end < 0) return undefined;
    items.push(at, end);
    at = end;
  }
  return at === b.length ? items : undefined;
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
