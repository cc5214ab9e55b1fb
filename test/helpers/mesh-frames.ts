// The frames of a MESH payload as values, for tests that look at what a router sent: a call's
// frames travel as embedded CBOR data items (tag 24 on a byte string, src/mesh/links/
// routed-writer.ts), which the general decoder hands over as tags; read here from what they embed,
// their fields named (src/mesh/routing/field-numbers.ts). And the other way, for tests that write
// such frames as a member would.

import { FIELD_NUMBERS, FRAME_TYPES, namedFields } from '../../src/mesh/routing/field-numbers.ts';
import { cbor } from '../../src/serializers/index.ts';

/** The payload's frames; throws as cbor.decode() does on what it cannot decode. */
export function meshFrames(payload: Uint8Array): unknown[] {
  return (cbor.decode(payload) as unknown[]).map(embedded);
}

function embedded(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('tag' in value) || value.tag !== 24) return value;
  const bytes = (value as unknown as { value: unknown }).value;
  return bytes instanceof Uint8Array ? namedFields(cbor.decode(bytes)) : value;
}

/** A call's frame as the map an embedded frame holds: its keys and its type numbered, in its order. */
export function numberedMap(frame: Record<string, unknown>): Buffer {
  return numberedPairs(Object.entries(frame));
}

/** The same of key-value pairs in their order (a key may repeat). */
export function numberedPairs(pairs: readonly (readonly [string, unknown])[]): Buffer {
  if (pairs.length >= 24) throw new Error('a map of 24 keys or more');
  const parts = [Buffer.of(0xa0 | pairs.length)];
  for (const [key, value] of pairs) {
    const n = (FIELD_NUMBERS as readonly string[]).indexOf(key);
    if (n < 0) throw new Error(`no field number for ${key}`);
    const type = key === 't' ? (FRAME_TYPES as readonly unknown[]).indexOf(value) : -1;
    parts.push(Buffer.of(n), type >= 0 ? Buffer.of(type) : Buffer.from(cbor.encode(value as never)));
  }
  return Buffer.concat(parts);
}
