// The router's own MsgPack and CBOR output, held to the wire types the golden vectors use for IDs.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, msgpack } from '../../src/serializers/index.ts';
import { hex, wireShape } from './wire-shape.ts';

// The golden samples show how Autobahn encodes IDs: as integers of whatever width. The router's
// session and publication IDs are random in [1, 2^53], so nearly all exceed 2^32; if those
// leave as floats, typed clients (Autobahn|Python: "invalid type <class 'float'> for ID")
// cannot even complete the handshake.

for (const format of [msgpack, cbor]) {
  test(`router-chosen IDs go out as ${format.name} integers, never floats`, (t) => {
    const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
    const frames: Uint8Array[] = [];
    const handler = router.attach({
      serializer: format,
      info: { type: 'memory', peer: 'vectors', local: true },
      send: (frame) => {
        frames.push(frame);
      },
      bufferedAmount: () => 0,
      close: () => undefined,
    });
    handler.receive(format.encode([1, 'realm1', { roles: { publisher: {}, subscriber: {} } }]));
    handler.receive(format.encode([32, 1, {}, 'vectors.ids']));
    handler.receive(format.encode([16, 2, { acknowledge: true, exclude_me: false }, 'vectors.ids', [1]]));
    const shapes = frames.map((f) => wireShape(format, f));
    t.is(shapes.length, 4, 'WELCOME, SUBSCRIBED, EVENT, PUBLISHED');
    const floats = JSON.stringify(shapes).match(/"float[^"]*"/g) ?? [];
    t.deepEqual(floats, [], `router frames: ${frames.map(hex).join(' ')}`);
  });
}
