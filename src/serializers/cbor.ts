// CBOR via cbor-x, configured for plain RFC 8949: no record extension, no tag 64 on byte
// strings (peers expect a bare byte string), maps decoded as objects. 64-bit integers become
// numbers within ±2^53 and stay BigInt beyond, so 2^53+1 is never rounded into a valid WAMP ID.

import { Encoder } from 'cbor-x';
import { appendToShortArray, cborSpan } from './payload-span.ts';
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
    // Most frames have no 64-bit integer at all: one scan for their initial bytes keeps them
    // on the fast path.
    if (!mayHold64BitInts(frame)) return encoder.decode(frame);
    return narrowBigInts(exact.decode(frame));
  },
  span: cborSpan,
  encodeWithTail(head, tail, count) {
    return appendToShortArray(encoder.encode(widenInts(head)), head.length, 0x80, tail, count);
  },
};

// Up to this size a loop here beats two native searches (each a call into C++).
const SCAN_IN_JS = 256;

function mayHold64BitInts(frame: Uint8Array): boolean {
  if (frame.length > SCAN_IN_JS) return frame.includes(UINT64) || frame.includes(NINT64);
  for (let i = 0; i < frame.length; i++) {
    const b = frame[i];
    if (b === UINT64 || b === NINT64) return true;
  }
  return false;
}
