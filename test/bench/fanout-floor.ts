// The floor under the fan-out rows (fanout-scale.ts): the least a Node process can do to deliver
// a burst of publications to N subscribers over RawSocket/CBOR, with no router in it. It answers
// HELLO and SUBSCRIBE with canned replies (no realm, no authorisation, no options), turns each
// PUBLISH into an EVENT by splicing the publication's arguments after a fixed head, and at the
// end of each read from a publisher writes the burst's EVENTs, as one buffer made once, to every
// subscriber of the topic in subscription order: one write(2) per subscriber per burst, as the
// router's deferred fan-out does (src/router/deferred-fanout.ts), with none of its per-session
// work. How its CPU per event grows from 1,000 to 10,000 subscribers is what Node and the kernel
// cost on this machine for the bench's load; the router cannot grow less.
//
//   scripts/node24 test/bench/fanout-floor.ts [ignored router arguments]
//
// Prints a listening line as the router does (router-process.ts reads it); exits on SIGTERM.

import net from 'node:net';
import { cbor } from '../../src/serializers/index.ts';
import { cborItemEnd } from '../../src/serializers/payload-span.ts';
import { encodeHeader, FrameDecoder, FrameType, MAX_PAYLOAD } from '../../src/transport/rawsocket-framing.ts';

const CBOR_SERIALIZER = 3;
const HELLO = 1;
const GOODBYE = 6;
const PUBLISH = 16;
const SUBSCRIBE = 32;

interface Topic {
  id: number;
  subscribers: Set<net.Socket>;
  /** EVENT frames (header and payload) of the read being handled. */
  burst: Buffer[];
}

const topics = new Map<string, Topic>();
let ids = 0;
let publications = 0;

function send(socket: net.Socket, message: unknown[]): void {
  const payload = cbor.encode(message);
  socket.write(Buffer.concat([encodeHeader(FrameType.MESSAGE, payload.length), payload]));
}

/** The EVENT for a PUBLISH [16, id, options, topic, args...]: a fixed head, then the frame's own args octets. */
function event(frame: Uint8Array, topic: Topic): Buffer {
  let at = 1;
  for (let i = 0; i < 4; i++) at = cborItemEnd(frame, at);
  const rest = frame.subarray(at);
  const count = frame[0]! & 0x1f;
  const head = Buffer.from(cbor.encode([36, topic.id, ++publications, {}]));
  head[0] = 0x80 | count; // as many items as the PUBLISH: arguments and keyword arguments as they came
  const payload = Buffer.concat([head, rest]);
  return Buffer.concat([encodeHeader(FrameType.MESSAGE, payload.length), payload]);
}

function onMessage(socket: net.Socket, frame: Uint8Array, touched: Set<Topic>): void {
  const type = frame[1];
  if (type === PUBLISH) {
    const [, , , name] = cbor.decode(frame) as [number, number, unknown, string];
    const topic = topics.get(name);
    if (topic === undefined || topic.subscribers.size === 0) return;
    topic.burst.push(event(frame, topic));
    touched.add(topic);
    return;
  }
  const message = cbor.decode(frame) as unknown[];
  if (message[0] === HELLO) send(socket, [2, ++ids, { roles: { broker: {} } }]);
  else if (message[0] === SUBSCRIBE) {
    const name = message[3] as string;
    let topic = topics.get(name);
    if (topic === undefined) topics.set(name, (topic = { id: ++ids, subscribers: new Set(), burst: [] }));
    topic.subscribers.add(socket);
    socket.once('close', () => topic.subscribers.delete(socket));
    send(socket, [33, message[1], topic.id]);
  } else if (message[0] === GOODBYE) {
    send(socket, [GOODBYE, {}, 'wamp.close.goodbye_and_out']);
    socket.end();
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  const decoder = new FrameDecoder(MAX_PAYLOAD);
  let handshaken = false;
  const touched = new Set<Topic>();
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    let data = chunk;
    if (!handshaken) {
      // The bench's clients send their 4-octet request in one segment.
      if (data[0] !== 0x7f || (data[1]! & 0x0f) !== CBOR_SERIALIZER) return void socket.destroy();
      socket.write(Uint8Array.of(0x7f, 0xf0 | CBOR_SERIALIZER, 0, 0));
      handshaken = true;
      data = data.subarray(4);
    }
    for (const e of decoder.feed(data)) if (e.type === 'message') onMessage(socket, e.payload, touched);
    for (const topic of touched) {
      const burst = topic.burst.length === 1 ? topic.burst[0]! : Buffer.concat(topic.burst);
      topic.burst = [];
      for (const subscriber of topic.subscribers) subscriber.write(burst);
    }
    touched.clear();
  });
});

server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const { port } = server.address() as net.AddressInfo;
  const listeners = [{ transport: 'rawsocket', host: '127.0.0.1', port }];
  process.stdout.write(`${JSON.stringify({ event: 'listening', listeners })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
