// MessagePack via msgpackr, configured for plain MessagePack: no record extension (other WAMP
// peers don't know it), maps as objects, 64-bit integers as numbers (WAMP IDs fit in 2^53).

import { Packr } from 'msgpackr';
import type { Serializer } from './serializer.ts';
import { widenInts } from './wide-ints.ts';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', variableMapSize: true });

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
};
