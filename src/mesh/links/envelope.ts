// The mesh envelope: the payload of a MESH link frame (framing.ts) is a CBOR array of one or
// more mesh frames (routing/frames.ts). Encoded and decoded here only; what each frame says is
// validated by the node that receives it (validateFrame), not here.

import { cbor } from '../../serializers/cbor.ts';
import type { MeshFrame } from '../routing/frames.ts';

/** The MESH payload carrying `frames`; throws when a frame cannot be encoded. */
export function encodeEnvelope(frames: MeshFrame[]): Uint8Array {
  return cbor.encode(frames);
}

/** The frames of a MESH payload, not yet validated; a sentence naming the fault when it is no envelope. */
export function decodeEnvelope(payload: Uint8Array): unknown[] | string {
  let value: unknown;
  try {
    value = cbor.decode(payload);
  } catch (error) {
    return `undecodable mesh frame: ${(error as Error).message}`;
  }
  if (!Array.isArray(value) || value.length === 0) return 'a mesh payload must be a non-empty CBOR array of frames';
  return value;
}
