// The frames of a MESH payload as values, for tests that look at what a router sent: a call's
// frames travel as embedded CBOR data items (tag 24 on a byte string, src/mesh/links/
// routed-writer.ts), which the general decoder hands over as tags; read here from what they embed.

import { cbor } from '../../src/serializers/index.ts';

/** The payload's frames; throws as cbor.decode() does on what it cannot decode. */
export function meshFrames(payload: Uint8Array): unknown[] {
  return (cbor.decode(payload) as unknown[]).map(embedded);
}

function embedded(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('tag' in value) || value.tag !== 24) return value;
  const bytes = (value as unknown as { value: unknown }).value;
  return bytes instanceof Uint8Array ? cbor.decode(bytes) : value;
}
