// CBOR via cbor-x, configured for plain RFC 8949: no record extension, no tag 64 on byte
// strings (peers expect a bare byte string), maps decoded as objects. 64-bit integers become
// numbers within ±2^53 and stay BigInt beyond, so 2^53+1 is never rounded into a valid WAMP ID.
// Frames and messages of plain values go through the router's own reader and writer
// (cbor-read.ts, cbor-write.ts), which give the same values and octets at a fraction of the cost
// for small messages; cbor-x has everything else.

import { Decoder, Encoder } from 'cbor-x';
import { OTHER, readCbor, readCborHead } from './cbor-read.ts';
import './cbor-tags.ts'; // what CBOR tags decode to: plain values only
import { writeCbor, writeCborSpliced } from './cbor-write.ts';
import { splitCbor } from './frame-head.ts';
import { extendShortArray } from './payload-span.ts';
import type { Serializer } from './serializer.ts';
import { narrowBigInts, widenInts } from './wide-ints.ts';

/** cbor-x's configuration, for the tests that compare cbor-read.ts and cbor-write.ts with it. */
export const cborXOptions = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
};
const encoder = new Encoder(cborXOptions);
// Decoding goes through Decoders, not the Encoder: an Encoder keeps the record structures a
// frame defines (tags 105, 0xdffe) for every later decode, so any peer could make the router
// hold memory for good and change how other sessions' frames decode. A Decoder forgets them
// after each frame.
// int64AsNumber is honoured by cbor-x's decoder though missing from its type definitions.
const decoder = new Decoder({ ...cborXOptions, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);
// Decodes 64-bit integers as BigInt; used only for frames that may hold one.
const exact = new Decoder(cborXOptions);

// Initial bytes of an unsigned and a negative 64-bit integer (major types 0 and 1, info 27).
const UINT64 = 0x1b;
const NINT64 = 0x3b;

export const cbor: Serializer = {
  name: 'cbor',
  rawsocketId: 3,
  subprotocol: 'wamp.2.cbor',
  binary: true,
  encode(message) {
    return writeCbor(message) ?? encoder.encode(widenInts(message));
  },
  decode(frame) {
    // Plain frames are read here; cbor-x gets the rest (cbor-read.ts).
    const value = readCbor(frame);
    if (value !== OTHER) return value;
    // Most frames have no 64-bit integer at all: one scan for their initial bytes keeps them
    // on the fast path.
    if (!mayHold64BitInts(frame)) return decoder.decode(frame);
    return narrowBigInts(exact.decode(frame));
  },
  // The one-pass split for frames of plain values; frame-head.ts's for the others.
  splitPayload: (frame, argsIndex) => readCborHead(frame, argsIndex) ?? splitCbor(frame, argsIndex),
  splitSmall: readCborHead,
  encodeHead(head, count) {
    // The encoder's output is a region of its buffer that no later encoding reuses.
    return extendShortArray(writeCbor(head) ?? encoder.encode(widenInts(head)), head.length, 0x80, count);
  },
  encodeSpliced: writeCborSpliced,
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
