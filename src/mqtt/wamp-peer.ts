// An MQTT client's WAMP side: a Peer attached to the router like any transport, so the
// client is an ordinary session of its realm (authentication, grants, meta API, testaments,
// retention, the mesh). The adapter speaks typed WAMP messages; MessagePack between the two
// keeps binary payloads binary and is the core's own codec, so the core needs no special case.
// A client that asks for it (`unencoded`) exchanges the typed messages themselves.

import type { CloseReason, Peer, PeerAcceptor, PeerHandler, TransportInfo } from '../router/peer.ts';
import { msgpack } from '../serializers/index.ts';
import { encodeMessage } from '../wamp/marshal.ts';
import type { Message } from '../wamp/messages.ts';
import { parseMessage, ProtocolViolation } from '../wamp/parse.ts';

export interface WampClient {
  /** A message from the router to this client. */
  message(message: Message): void;
  /** The router closed the session's transport (after ABORT, GOODBYE or a kill). */
  closed(reason: CloseReason): void;
  /** Bytes the MQTT connection holds unwritten: the router's slow-consumer rules apply to them. */
  bufferedAmount(): number;
}

// The core encodes a fan-out's EVENT once and gives the same frame to every subscriber (see
// SharedFrame): decoded once here for all MQTT subscribers of it, not once per subscriber. A
// frame does not change once sent (transports hold it until their flush), so its identity is
// its content; the message is shared and nobody downstream changes it. Remembered per frame,
// not only the last one: a burst to a large subscription reaches each subscriber with all its
// frames in turn (event-burst.ts), so consecutive deliveries are of different frames.
const decodedFrames = new WeakMap<Uint8Array, Message | null>();

function decoded(frame: Uint8Array): Message | undefined {
  const known = decodedFrames.get(frame);
  if (known !== undefined) return known ?? undefined;
  const msg = parseMessage(msgpack.decode(frame));
  // The core only sends what parses; throwing here would break its fan-out to other peers.
  const message = msg instanceof ProtocolViolation ? null : msg;
  decodedFrames.set(frame, message);
  return message ?? undefined;
}

export interface WampPeerOptions {
  /**
   * Messages cross as they are, in both directions (Peer.sendMessage,
   * PeerHandler.receiveMessage), not encoded to MessagePack and decoded again: for a client
   * that only reads and builds plain values (the HTTP gateway). The core still validates what
   * it receives as it does a decoded frame.
   */
  readonly unencoded?: boolean;
}

export class WampPeer implements Peer {
  readonly serializer = msgpack;
  readonly info: TransportInfo;
  readonly sendMessage?: (message: Message) => void;
  readonly #client: WampClient;
  readonly #handler: PeerHandler;
  readonly #receiveMessage: ((message: Message) => void) | undefined;
  #closed = false;
  #octetsSent = 0;

  constructor(acceptor: PeerAcceptor, info: TransportInfo, client: WampClient, options: WampPeerOptions = {}) {
    this.info = info;
    this.#client = client;
    if (options.unencoded === true)
      this.sendMessage = (message) => {
        if (!this.#closed) this.#client.message(message);
      };
    this.#handler = acceptor.attach(this);
    const handler = this.#handler;
    this.#receiveMessage =
      options.unencoded === true && handler.receiveMessage !== undefined
        ? (message) => handler.receiveMessage!(message)
        : undefined;
  }

  /** Hands a message from the MQTT client to its session. */
  deliver(message: Message): void {
    if (this.#closed) return;
    if (this.#receiveMessage !== undefined) this.#receiveMessage(message);
    else this.#handler.receive(encodeMessage(message, msgpack));
  }

  /** The MQTT connection is gone: the session is lost (its testaments, the will, fire). */
  lost(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler.closed();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#octetsSent += frame.length;
    const msg = decoded(frame);
    if (msg !== undefined) this.#client.message(msg);
  }

  bufferedAmount(): number {
    return this.#client.bufferedAmount();
  }

  octetsSent(): number {
    return this.#octetsSent;
  }

  close(reason: CloseReason = 'normal'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler.closed();
    this.#client.closed(reason);
  }
}
