// CBOR via cbor-x, configured for plain RFC 8949: no record extension, no tag 64 on byte
// strings (peers expect a bare byte string), maps decoded as objects. 64-bit integers become
// numbers within ±2^53 and stay BigInt beyond, so 2^53+1 is never rounded into a valid WAMP ID.

import { Encoder } from 'cbor-x';
import type { Serializer } from './serializer.ts';
import { narrowBigInts, widenInts } from './wide-ints.ts';

const options = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
};
// Honoured by cbor-x's decoder though missing from its type definitions.
const encoder = new Encoder({ ...options, int64AsNumber: true } as ConstructorParameters<typeof Encoder>[0]);
// Decodes 64-bit integers as BigInt; used only for frames that may hold one.
const exact = new Encoder(options);
// Initial bytes of an unsigned and a negative 64-bit integer (major types 0 and 1, info 27).
const UINT64 = 0x1b;
const NINT64 = 0x3b;

export const cbor: Serializer = {
  name: 'cbor',
  rawsocketId: 3,
  subprotocol: 'wamp.2.cbor',
  binary: true,
  encode(message) {
    return encoder.encode(widenInts(message));
  },
  decode(frame) {
    // Most frames have no 64-bit integer at all: one memchr-speed scan keeps them on the fast path.
    if (!frame.includes(UINT64) && !frame.includes(NINT64)) return encoder.decode(frame);
    return narrowBigInts(exact.decode(frame));
  },
};
