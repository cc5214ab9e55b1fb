// The baseline relay of the benchmark (bench.ts starts it as a child process): a RawSocket
// server that pairs connections two by two and forwards frames between them, with the router's
// own framing code (src/transport/rawsocket-framing.ts) and the same per-tick corking, but no
// WAMP at all: no decoding, no session, no routing. Its figures are the floor that the
// transport, the kernel and the load generator impose.
//
// Prints {"relay": <port>} once listening; exits when its stdin closes.

import net from 'node:net';
import { encodeHeader, FrameDecoder, FrameType, MAX_PAYLOAD } from '../../src/transport/rawsocket-framing.ts';

// The parent holds our stdin: when it goes away, however it died, so do we.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

let waiting: net.Socket | null = null;
const server = net.createServer({ noDelay: true }, (socket) => {
  let handshake = Buffer.alloc(0);
  const onHandshake = (chunk: Buffer): void => {
    handshake = Buffer.concat([handshake, chunk]);
    if (handshake.length < 4) return;
    socket.off('data', onHandshake);
    // Accept whatever serializer is asked for, announcing 16 MiB, like the router does.
    socket.write(Uint8Array.of(0x7f, 0xf0 | (handshake[1]! & 0x0f), 0, 0));
    const rest = handshake.subarray(4);
    if (waiting === null) {
      waiting = socket;
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
    } else {
      const peer = waiting;
      waiting = null;
      forward(peer, socket);
      forward(socket, peer);
      if (rest.length > 0) socket.emit('data', rest);
      peer.resume();
    }
  };
  socket.on('data', onHandshake);
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  process.stdout.write(`${JSON.stringify({ relay: (server.address() as net.AddressInfo).port })}\n`);
});

/** Frames from `from` to `to`: decoded like the router does, written corked per tick. */
function forward(from: net.Socket, to: net.Socket): void {
  const decoder = new FrameDecoder(MAX_PAYLOAD);
  let corked = false;
  from.on('data', (chunk: Buffer) => {
    for (const event of decoder.feed(chunk)) {
      if (event.type !== 'message') continue;
      if (!corked) {
        corked = true;
        to.cork();
        process.nextTick(() => {
          corked = false;
          to.uncork();
        });
      }
      to.write(encodeHeader(FrameType.MESSAGE, event.payload.length));
      to.write(event.payload);
    }
  });
  from.on('close', () => to.destroy());
}
