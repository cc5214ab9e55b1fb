// A minimal WAMP client over real sockets, for hostile/load tests and the benchmark. It knows
// the wire formats and nothing of WAMP semantics beyond a few conveniences (join, call,
// register, subscribe), so a test can send exactly the bytes it wants and see exactly what the
// router answers. Deliberately independent of src/transport: a framing bug there must not be
// mirrored (and hidden) by the same code on the client side.
//
// Transports:
//   rawsocket            node:net, 4-octet handshake, 4-octet frame headers
//   websocket, 'global'  Node 24's WebSocket (undici), the default
//   websocket, 'net'     a small RFC 6455 client on node:net, for what the WHATWG API cannot
//                        do: stop reading (pause), send arbitrary bytes as a text frame.

// Split by concept and gathered here, so that tests keep importing one path:
//   raw-connection.ts      RawClient, connect()
//   raw-wire.ts, raw-wire-rawsocket.ts, raw-wire-websocket.ts, ws-client-frames.ts: the transports
//   tcp-probe.ts           bare TCP; deadline.ts: within(), waitFor()
//   echo-service.ts, configured-router.ts, process-stats.ts: fixtures of the hostile, load and bench code

export { startConfiguredRouter } from './configured-router.ts';
export { within, waitFor } from './deadline.ts';
export { type Endpoints, EchoService } from './echo-service.ts';
export { isAlive, rssBytes } from './process-stats.ts';
export {
  type ConnectOptions,
  connect,
  type Predicate,
  RawClient,
  type TransportKind,
  type WebSocketImpl,
} from './raw-connection.ts';
export type { CloseInfo } from './raw-wire.ts';
export { HandshakeRefused } from './raw-wire-rawsocket.ts';
export { openTcp, probeOf, type TcpProbe } from './tcp-probe.ts';
export { maskedFrame } from './ws-client-frames.ts';
