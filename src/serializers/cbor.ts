// CBOR via cbor-x, configured for plain RFC 8949: no record extension, no tag 64 on byte
// strings (peers expect a bare byte string), maps decoded as objects, 64-bit integers decoded
// as numbers (a BigInt could not be re-encoded for a JSON peer; WAMP IDs fit in 2^53).

import { Encoder } from 'cbor-x';
import type { Serializer } from './serializer.ts';
import { widenInts } from './wide-ints.ts';

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
  // Honoured by cbor-x's decoder though missing from its type definitions.
  int64AsNumber: true,
} as ConstructorParameters<typeof Encoder>[0]);

export const cbor: Serializer = {
  name: 'cbor',
  rawsocketId: 3,
  subprotocol: 'wamp.2.cbor',
  binary: true,
  encode(message) {
    return encoder.encode(widenInts(message));
  },
  decode(frame) {
    return encoder.decode(frame);
  },
};
