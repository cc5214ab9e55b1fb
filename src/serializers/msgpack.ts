// MessagePack via msgpackr, configured for plain MessagePack: no record extension (other WAMP
// peers don't know it), maps as objects, 64-bit integers as numbers within ±2^53 and BigInt
// beyond ('auto'), so 2^53+1 is never silently rounded into a valid WAMP ID.

import { Packr } from 'msgpackr';
import { splitMsgpack } from './frame-head.ts';
import { extendShortArray } from './payload-span.ts';
import type { Serializer } from './serializer.ts';
import { widenInts } from './wide-ints.ts';

// 'auto' is honoured by msgpackr's unpacker though missing from its type definitions.
// structuredClone: false refuses msgpackr's own reference extensions (0x69, 0x70), which
// otherwise decode into values that contain themselves: a cycle no serializer can write back and
// no walk over the payload ends on.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'auto' as 'number',
  variableMapSize: true,
  structuredClone: false,
});

export const msgpack: Serializer = {
  name: 'msgpack',
  rawsocketId: 2,
  subprotocol: 'wamp.2.msgpack',
  binary: true,
  encode(message) {
    return packr.pack(widenInts(message));
  },
  decode(frame) {
    return packr.unpack(frame);
  },
  splitPayload: splitMsgpack,
  encodeHead(head, count) {
    // The encoder's output is a region of its buffer that no later encoding reuses.
    return extendShortArray(packr.pack(widenInts(head)), head.length, 0x90, count);
  },
};
