// CBOR via cbor-x, configured for plain RFC 8949: no record extension, no tag 64 on byte
// strings (peers expect a bare byte string), maps decoded as objects.

import { Encoder } from 'cbor-x';
import type { Serializer } from './serializer.ts';

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
});

export const cbor: Serializer = {
  name: 'cbor',
  rawsocketId: 3,
  subprotocol: 'wamp.2.cbor',
  binary: true,
  encode(message) {
    return encoder.encode(message);
  },
  decode(frame) {
    return encoder.decode(frame);
  },
};
