// The WebSocket baseline relay of the benchmark (bench.ts starts it as a child process): a
// uWebSockets.js server, configured as the router's (src/transport/websocket-server.ts), that
// pairs connections two by two and forwards each message to the other side, with the router's
// own copy-out of uWS's buffer and flush-after-callbacks batching, but no WAMP: no decoding, no
// session, no routing. Its figures are the floor that uWS, the kernel and the load generator
// impose on any WebSocket router in this runtime.
//
// With --json-codec it also decodes every message with the router's JSON serializer and
// encodes the value again before forwarding it (src/serializers/json.ts, as the router does
// for a frame below the passthrough threshold), still with no session and no routing: the
// floor for a router on this runtime that reads what it is sent.
//
// Prints {"wsRelay": <port>} once listening; exits when its stdin closes.

import uWS from '@btc-vision/uwebsockets.js';
import { json } from '../../src/serializers/json.ts';
import { flushAfterCallbacks, type Flushable } from '../../src/net/end-of-tick.ts';

const codec = process.argv.includes('--json-codec');

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

interface Side extends Flushable {
  ws: uWS.WebSocket<Data>;
  queue: Uint8Array[];
  binary: boolean;
  closed: boolean;
}
interface Data {
  side: Side | null;
  peer: Side | null;
  protocol: string;
}

function side(ws: uWS.WebSocket<Data>): Side {
  const s: Side = {
    ws,
    queue: [],
    binary: false,
    closed: false,
    flush() {
      if (s.closed) return; // uWS throws on a closed WebSocket
      const queue = s.queue;
      s.queue = [];
      s.ws.cork(() => {
        for (const frame of queue) s.ws.send(frame, s.binary);
      });
    },
  };
  return s;
}

let waiting: Side | null = null;
const app = uWS.App();
app.ws<Data>('/*', {
  maxPayloadLength: 16 * 1024 * 1024,
  idleTimeout: 120,
  maxBackpressure: 64 * 1024 * 1024,
  closeOnBackpressureLimit: true,
  compression: uWS.DISABLED,
  upgrade(res, req, context) {
    // Whatever WAMP subprotocol is offered first, like the router agreeing to it.
    const protocol = req.getHeader('sec-websocket-protocol').split(',')[0]!.trim();
    res.upgrade<Data>(
      { side: null, peer: null, protocol },
      req.getHeader('sec-websocket-key'),
      protocol,
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open(ws) {
    const data = ws.getUserData();
    const me = side(ws);
    me.binary = !data.protocol.endsWith('json');
    data.side = me;
    if (waiting === null) {
      waiting = me;
    } else {
      data.peer = waiting;
      waiting.ws.getUserData().peer = me;
      waiting = null;
    }
  },
  message(ws, message) {
    const to = ws.getUserData().peer;
    if (to === null) return;
    // The router's copy-out: uWS reuses `message` after this callback.
    const frame = Buffer.allocUnsafe(message.byteLength);
    frame.set(new Uint8Array(message));
    if (to.queue.length === 0) flushAfterCallbacks(to);
    to.queue.push(codec ? json.encode(json.decode(frame) as unknown[]) : frame);
  },
  close(ws) {
    const data = ws.getUserData();
    if (data.side !== null) data.side.closed = true;
    if (waiting === data.side) waiting = null;
    const peer = data.peer;
    if (peer !== null) {
      peer.ws.getUserData().peer = null;
      peer.ws.end(1000);
    }
  },
});
app.listen('127.0.0.1', 0, (listenSocket) => {
  if (!listenSocket) throw new Error('ws-relay: listen failed');
  process.stdout.write(`${JSON.stringify({ wsRelay: uWS.us_socket_local_port(listenSocket) })}\n`);
});
