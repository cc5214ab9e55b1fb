// The MQTT side's Peer: a fan-out's shared EVENT frames are decoded once for all MQTT
// subscribers, whatever order the deliveries come in.

import test from 'ava';
import { WampPeer, type WampClient } from '../../src/mqtt/wamp-peer.ts';
import type { PeerAcceptor, PeerHandler } from '../../src/router/peer.ts';
import { msgpack } from '../../src/serializers/index.ts';
import { encodeMessage } from '../../src/wamp/marshal.ts';
import { MessageType as T, type Message } from '../../src/wamp/messages.ts';

const handler: PeerHandler = { receive() {}, closed() {} };
const acceptor: PeerAcceptor = { attach: () => handler };

function subscriber(): { peer: WampPeer; got: Message[] } {
  const got: Message[] = [];
  const client: WampClient = { message: (m) => got.push(m), closed() {}, bufferedAmount: () => 0 };
  return { peer: new WampPeer(acceptor, { type: 'mqtt', peer: '127.0.0.1:1883', local: true }, client), got };
}

test('a burst of shared frames, delivered subscriber by subscriber: every subscriber gets the same decoded messages', (t) => {
  const frames = [1, 2, 3].map((n) =>
    encodeMessage({ type: T.EVENT, subscription: 7, publication: n, details: {}, args: [n] }, msgpack),
  );
  const subscribers = [subscriber(), subscriber(), subscriber()];
  // As event-burst.ts delivers: each subscriber all its frames in turn.
  for (const s of subscribers) for (const frame of frames) s.peer.send(frame);
  const [first, ...others] = subscribers.map((s) => s.got);
  t.deepEqual(
    first!.map((m) => (m.type === T.EVENT ? m.publication : 0)),
    [1, 2, 3],
  );
  // The same objects, so what is made per event downstream (the MQTT PUBLISH, mapped-event.ts)
  // is made once: a frame decoded again for each subscriber made a thousand of each.
  for (const got of others) for (let i = 0; i < frames.length; i++) t.is(got[i], first![i]);
});
