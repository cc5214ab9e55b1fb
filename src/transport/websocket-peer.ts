// The Peer the core sees for one uWebSockets.js WebSocket: copies messages out of uWS's reused
// buffers, batches sends per tick, enforces the pre-login message limit, and shields the core
// from uWS's rule that touching a closed WebSocket throws.

import type uWS from '@btc-vision/uwebsockets.js';
import type { Logger } from '../log.ts';
import type { CloseReason, Peer, PeerAcceptor, PeerHandler, TransportInfo } from '../router/peer.ts';
import type { Serializer } from '../serializers/serializer.ts';
import { flushAfterCallbacks, type Flushable } from '../net/end-of-tick.ts';
import type { Share } from './websocket-admission.ts';

const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED_DATA = 1003;
// RFC 6455 §7.4.1: "a message that is too big for it to process".
const CLOSE_MESSAGE_TOO_BIG = 1009;
// A slow consumer (the core's Session#kill: outbound buffer over the hard limit, or over the
// soft limit for too long) is closed with 1008 Policy Violation. RFC 6455 §7.4.1 makes 1008
// the "generic status code that can be returned when there is no other more suitable status
// code", and the outbound limits are this router's policy about its peer's behaviour. Not 1013
// Try Again Later (IANA WebSocket Close Code Number Registry, not in the RFC): that one means
// a temporary condition of the server, such as overload shedding clients; here the server is
// fine and the peer is at fault, and "try again later" invites it to come back and do the
// same. Every other close from the core, after GOODBYE or after an ABORT (protocol
// violation included), is 1000: the WAMP message already says why, and 1002 Protocol Error is
// for the WebSocket protocol itself, which uWS enforces and answers on its own.
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_INTERNAL_ERROR = 1011;

export interface UserData {
  readonly serializer: Serializer;
  readonly info: TransportInfo;
  /** This connection's share of the pre-auth budget, until WELCOME or close. */
  readonly reserved: Share;
  peer: WebSocketPeer | null;
}

type WS = uWS.WebSocket<UserData>;

export class WebSocketPeer implements Peer, Flushable {
  readonly serializer: Serializer;
  readonly info: TransportInfo;
  readonly #ws: WS;
  readonly #log: Logger;
  readonly #preAuthMax: number;
  readonly #reserved: Share;
  #handler: PeerHandler | null = null;
  #closed = false;
  #welcomed = false;
  // Frames are queued and flushed in one corked batch once the event loop is out of uWS's
  // callbacks (see flushAfterCallbacks), so an EVENT fan-out or a batch of results does not
  // cost a syscall per frame.
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /** Octets of earlier batches (see octetsSent). */
  #flushedBytes = 0;
  // uWS's own backlog, read when our queue was last empty. Until the queue is flushed it can
  // only shrink (only a flush adds to it), so it stands in for a native call per message (the
  // core asks before every send): one call per connection per batch, an upper bound.
  #backlog = 0;

  constructor(ws: WS, log: Logger, preAuthMax: number) {
    const data = ws.getUserData();
    this.serializer = data.serializer;
    this.info = data.info;
    this.#ws = ws;
    this.#log = log;
    this.#preAuthMax = preAuthMax;
    this.#reserved = data.reserved;
  }

  welcomed(): void {
    this.#welcomed = true;
    this.#reserved.release();
  }

  attach(acceptor: PeerAcceptor): void {
    try {
      this.#handler = acceptor.attach(this);
    } catch (error) {
      this.#log.error({ peer: this.info.peer, err: error }, 'websocket: attach failed');
      this.end(CLOSE_INTERNAL_ERROR, 'internal error');
    }
  }

  receive(message: ArrayBuffer, isBinary: boolean): void {
    if (this.#closed) return;
    // The spec fixes the frame type per serializer: text for JSON, binary otherwise.
    if (isBinary !== this.serializer.binary) {
      this.end(CLOSE_UNSUPPORTED_DATA, `expected ${this.serializer.binary ? 'binary' : 'text'} frames`);
      return;
    }
    if (!this.#welcomed && message.byteLength > this.#preAuthMax) {
      this.#log.info(
        { peer: this.info.peer, size: message.byteLength, limit: this.#preAuthMax },
        'websocket: message too big before login, closing',
      );
      this.end(CLOSE_MESSAGE_TOO_BIG, 'message too big before login');
      return;
    }
    // uWS reuses `message` once this callback returns, so the core gets its own copy: in a
    // Buffer, which small messages take from Node's pool (a new ArrayBuffer each costs ~10x more).
    const frame = Buffer.allocUnsafe(message.byteLength);
    frame.set(new Uint8Array(message));
    try {
      this.#handler?.receive(frame);
    } catch (error) {
      this.#log.error({ peer: this.info.peer, err: error }, 'websocket: handler.receive threw');
      this.end(CLOSE_INTERNAL_ERROR, 'internal error');
    }
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    if (this.#queue.length === 0) flushAfterCallbacks(this);
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
  }

  bufferedAmount(): number {
    if (this.#closed) return 0;
    if (this.#queue.length === 0) this.#backlog = this.#ws.getBufferedAmount();
    return this.#backlog + this.#queuedBytes;
  }

  octetsSent(): number {
    return this.#flushedBytes + this.#queuedBytes;
  }

  close(reason: CloseReason = 'normal'): void {
    if (reason === 'slow_consumer') this.end(CLOSE_POLICY_VIOLATION, 'slow consumer');
    else this.end(CLOSE_NORMAL, '');
  }

  end(code: number, reason: string): void {
    if (this.#closed) return;
    this.flush();
    // flush() may have hit the backpressure cap and closed us already.
    if (!this.#closed) this.#ws.end(code, reason);
  }

  /** uWS's close handler: the WebSocket is unusable from here on. */
  wsClosed(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#log.debug({ peer: this.info.peer, code }, 'websocket closed');
    // uWS runs the close handler synchronously inside end()/send(); deferring keeps closed()
    // from re-entering the core in the middle of its own peer.close() or send() call, as with
    // RawSocket, where 'close' is always a later event.
    const handler = this.#handler;
    if (handler) queueMicrotask(() => handler.closed());
  }

  flush(): void {
    if (this.#closed || this.#queue.length === 0) return;
    const queue = this.#queue;
    this.#queue = [];
    this.#flushedBytes += this.#queuedBytes;
    this.#queuedBytes = 0;
    const binary = this.serializer.binary;
    this.#ws.cork(() => {
      for (const frame of queue) {
        if (this.#closed) return; // the backpressure cap closed us mid-batch
        this.#ws.send(frame, binary);
      }
    });
  }
}
