// The one boundary between the protocol core and a transport (after nexus's wamp.Peer).
// A transport decodes nothing: it hands whole frames to the core and sends the frames the
// core gives it. RawSocket, WebSocket, in-memory test peers and mesh links all implement Peer.

import type { Serializer } from '../serializers/serializer.ts';
import type { Message } from '../wamp/messages.ts';

export interface TransportInfo {
  /** 'rawsocket' | 'websocket' | 'memory' | 'link' */
  readonly type: string;
  /**
   * Remote address as text: "127.0.0.1:5123", "[::1]:5123", "unix:/run/wampmesh.sock", or a
   * bare IP where the transport cannot learn the port (WebSocket on uWS 20.57). Consumers
   * that need the IP alone parse it with src/security/address.ts parsePeer().
   */
  readonly peer: string;
  /** True when the connection comes from loopback or a Unix socket. */
  readonly local: boolean;
  /** True when the transport runs inside TLS (wss, RawSocket over TLS). */
  readonly tls?: boolean;
  /**
   * Who the client is, already verified by an in-process transport (the HTTP gateway, from a
   * bearer token); network transports never set it. Honoured only by an authenticator wrapped
   * with src/gateway/asserted.ts, and only for HELLOs offering its authmethod.
   */
  readonly asserted?: { readonly authid: string; readonly authrole: string; readonly authmethod: string };
  /**
   * The client's TLS certificate, verified during the handshake against the CA the listener was
   * given for its clients; absent when the client showed none. The `tls` authmethod logs such a
   * client in as the realm's user the certificate names (src/security/authenticator.ts).
   */
  readonly certificate?: ClientCertificate;
}

export interface ClientCertificate {
  /** The subject's common name: the authid it proves; undefined when the subject has none or several. */
  readonly cn: string | undefined;
  /** SHA-256 of the certificate (DER), "AB:CD:...", for logs. */
  readonly fingerprint: string;
}

/**
 * Why the core closes a connection, for a transport that can tell the peer (WebSocket close
 * codes); others ignore it.
 *  - 'normal': the session is over: GOODBYE exchanged or timed out, ABORT sent (the ABORT
 *    itself carries the reason, protocol violation or other), no HELLO in time.
 *  - 'slow_consumer': the peer does not read what it is sent (outbound buffer over the hard
 *    limit, or over the soft limit for too long; see Session#kill).
 */
export type CloseReason = 'normal' | 'slow_consumer';

export interface Peer {
  readonly serializer: Serializer;
  readonly info: TransportInfo;
  /** Queues one encoded frame. Never throws; a closed peer drops it. */
  send(frame: Uint8Array): void;
  /**
   * send() for a frame given as consecutive parts: an encoded head and a payload passed through
   * as a view of the frame it arrived in (src/wamp/raw-payload.ts). A transport that writes a
   * list of buffers sends them without joining them; without this method the core joins them.
   */
  sendParts?(parts: readonly Uint8Array[]): void;
  /** Bytes accepted by send() but not yet written to the network. */
  bufferedAmount(): number;
  /**
   * Closes the connection (after flushing what is queued, where the transport can). `reason`
   * defaults to 'normal'; a Peer that has no way to say why may ignore it.
   */
  close(reason?: CloseReason): void;
  /**
   * Called once, when the core has sent WELCOME: the peer has logged in, and a transport lifts
   * the limits it keeps for strangers (the pre-authentication frame limit and budget).
   */
  welcomed?(): void;
  /**
   * Octets of the frames accepted by send() so far, without the transport's framing, for
   * /metrics. A transport sums its frames' sizes anyway (for bufferedAmount) and keeps this
   * per write batch, so the core need not count per message; a Peer without it counts none.
   */
  octetsSent?(): number;
  /**
   * An in-process peer (the HTTP gateway's sessions) takes the core's messages as they are,
   * not encoded: the core calls this instead of send(), under the same flow control. The
   * message is the core's; the peer must not change it.
   */
  sendMessage?(message: Message): void;
}

/** What the core gives back to a transport for each attached peer. */
export interface PeerHandler {
  /** One complete frame from the peer. Never throws. */
  receive(frame: Uint8Array): void;
  /**
   * One message from an in-process peer, not encoded: validated as a decoded frame is, then
   * routed the same way. Never throws. The core may keep the message itself (a valid CALL):
   * the peer must not change it afterwards. (The router's sessions have it; a peer handed a
   * handler without it encodes.)
   */
  receiveMessage?(message: Message): void;
  /** The transport closed (remote hang-up, error, or after close()). Idempotent. */
  closed(): void;
}

/** What transports need from the router. */
export interface PeerAcceptor {
  attach(peer: Peer): PeerHandler;
}
