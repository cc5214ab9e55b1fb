// One WAMP-over-RawSocket connection after its handshake: the Peer the core talks to. It hands
// the core each MESSAGE frame's payload, answers PINGs, and frames what the core sends, with the
// limits that apply before and after WELCOME.

import type net from 'node:net';
import type { Logger } from '../log.ts';
import type { Peer, PeerAcceptor, PeerHandler, TransportInfo } from '../router/peer.ts';
import type { Serializer } from '../serializers/serializer.ts';
import { ErrorUri } from '../wamp/uris.ts';
import { MessageType } from '../wamp/messages.ts';
import { encodeMessage } from '../wamp/marshal.ts';
import { FrameWriter } from '../net/frame-writer.ts';
import { clientDefaults } from '../net/client-limits.ts';
import type { PreAuthBudget } from './pre-auth-budget.ts';
import { FrameDecoder, FrameType, MAX_PAYLOAD, encodeHeader } from './rawsocket-framing.ts';

const LINGER_MS = clientDefaults.lingerMs;

export interface Context {
  readonly acceptor: PeerAcceptor;
  readonly serializers: readonly Serializer[];
  readonly lengthExponent: number;
  readonly maxIncoming: number;
  readonly preAuthMax: number;
  readonly budget: PreAuthBudget;
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly log: Logger;
  readonly unixPath: string | undefined;
  established: number;
}

export class RawSocketPeer implements Peer {
  readonly serializer: Serializer;
  readonly info: TransportInfo;
  readonly #socket: net.Socket;
  readonly #decoder: FrameDecoder;
  /** What the client announced it can receive (capped by the 24-bit length field). */
  readonly #maxOutgoing: number;
  readonly #maxIncoming: number;
  readonly #log: Logger;
  #welcomed = false;
  #handler: PeerHandler | null = null;
  #state: 'open' | 'closing' | 'closed' = 'open';
  // Frames go out batched per tick: a burst (an EVENT fan-out, a batch of results) leaves in
  // one write instead of two per frame.
  readonly #writer: FrameWriter;

  constructor(socket: net.Socket, serializer: Serializer, info: TransportInfo, clientMax: number, ctx: Context) {
    this.serializer = serializer;
    this.info = info;
    this.#socket = socket;
    this.#maxOutgoing = Math.min(clientMax, MAX_PAYLOAD);
    this.#maxIncoming = ctx.maxIncoming;
    const { budget } = ctx;
    this.#decoder = new FrameDecoder(ctx.maxIncoming, {
      initialLimit: ctx.preAuthMax,
      budget: { reserve: (bytes) => budget.reserve(bytes, info.peer), release: (bytes) => budget.release(bytes) },
    });
    this.#log = ctx.log;
    // A callee's INVOCATIONs, a subscriber's EVENTs are caused by other connections' input
    // (HTTP requests, other clients' calls): flushed after the round's I/O callbacks, the
    // frames caused by all of them leave in one write. The writer holds back less than one
    // write's worth, so the slow-consumer rules still see what the socket does not take.
    this.#writer = new FrameWriter(socket, { flush: 'afterCallbacks' });
  }

  /** Attaches to the core, then processes bytes that came in the handshake's chunk. */
  start(acceptor: PeerAcceptor, rest: Uint8Array): void {
    try {
      this.#handler = acceptor.attach(this);
    } catch (error) {
      this.#log.error({ peer: this.info.peer, err: error }, 'rawsocket: attach failed');
      this.#socket.destroy();
      return;
    }
    this.#log.debug({ peer: this.info.peer, serializer: this.serializer.name }, 'rawsocket session transport open');
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    if (rest.length > 0) this.#onData(rest);
  }

  send(frame: Uint8Array): void {
    if (this.#state !== 'open' || !this.#fits(frame.length)) return;
    this.#write(FrameType.MESSAGE, frame);
  }

  sendParts(parts: readonly Uint8Array[]): void {
    if (this.#state !== 'open') return;
    let length = 0;
    for (const part of parts) length += part.length;
    if (!this.#fits(length) || !this.#socket.writable) return;
    this.#writer.frameParts(FrameType.MESSAGE, parts, length);
  }

  #fits(length: number): boolean {
    if (length <= this.#maxOutgoing) return true;
    // The spec forbids sending it; a truncated or skipped message would silently break the
    // session's request/response pairing, so the connection goes instead.
    this.#log.warn(
      { peer: this.info.peer, size: length, limit: this.#maxOutgoing },
      "rawsocket: outgoing message exceeds the client's maximum, closing",
    );
    this.close();
    return false;
  }

  bufferedAmount(): number {
    return this.#socket.writableLength + this.#writer.queuedBytes;
  }

  /** The handful of PING/PONG payload octets are in it too. */
  octetsSent(): number {
    return this.#writer.payloadOctets;
  }

  /** RawSocket has no close codes: whatever the core's reason (Peer.close), the connection just ends. */
  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    linger(this.#socket);
    this.#writer.flush(); // what was queued goes out before the FIN
    this.#socket.end();
  }

  welcomed(): void {
    this.#welcomed = true;
    this.#decoder.lift();
  }

  /** Called once by the connection's 'close' listener. */
  socketClosed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#decoder.dispose();
    this.#writer.drop();
    this.#handler?.closed();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state !== 'open') return;
    for (const event of this.#decoder.feed(chunk)) {
      // receive() or a PONG may have closed us in the middle of a chunk.
      if (this.#state !== 'open') return;
      switch (event.type) {
        case 'message':
          this.#deliver(event.payload);
          break;
        case 'ping':
          this.#pong(event.payload);
          break;
        case 'pong':
          break; // we send no PINGs, so any PONG is unsolicited; harmless
        case 'error':
          if (!this.#welcomed && (event.error.reason === 'too-large' || event.error.reason === 'over-budget')) {
            this.#abort(event.error.message);
          } else {
            this.#fail(event.error.message);
          }
          return;
      }
    }
  }

  #deliver(frame: Uint8Array): void {
    try {
      this.#handler?.receive(frame);
    } catch (error) {
      // The core promises not to throw; if it does, this connection is in an unknown state.
      this.#log.error({ peer: this.info.peer, err: error }, 'rawsocket: handler.receive threw');
      this.#fail('handler error');
    }
  }

  #pong(payload: Uint8Array): void {
    // A peer that PINGs without reading would make us queue PONGs without bound.
    if (this.bufferedAmount() > this.#maxIncoming) return this.#fail('PINGs while not reading');
    if (payload.length > this.#maxOutgoing) return this.#fail('PING larger than the client accepts back');
    this.#write(FrameType.PONG, payload);
  }

  /**
   * A stranger's frame too big for before login, or no budget left to buffer it: ABORT says
   * why (the client gets an answer rather than a reset), then the connection ends. Reading
   * stops: the rest of a 16 MiB frame stays in the kernel's bounded buffer until the client
   * hangs up or the linger ends, instead of being read only to be dropped.
   */
  #abort(why: string): void {
    this.#log.info({ peer: this.info.peer }, `rawsocket: refusing frame before login: ${why}`);
    this.#state = 'closing';
    this.#writer.drop();
    this.#socket.pause();
    const abort = encodeMessage(
      { type: MessageType.ABORT, details: { message: why }, reason: ErrorUri.PAYLOAD_SIZE_EXCEEDED },
      this.serializer,
    );
    linger(this.#socket);
    if (this.#socket.writable && abort.length <= this.#maxOutgoing)
      this.#socket.end(Buffer.concat([encodeHeader(FrameType.MESSAGE, abort.length), abort]));
    else this.#socket.end();
  }

  #fail(why: string): void {
    this.#log.info({ peer: this.info.peer }, `rawsocket: failing connection: ${why}`);
    this.#state = 'closing';
    this.#writer.drop();
    this.#socket.destroy();
  }

  #write(type: FrameType, payload: Uint8Array): void {
    // Not writable once the remote hung up (we end our side too) even before 'close' arrives.
    if (!this.#socket.writable) return;
    this.#writer.frame(type, payload);
  }
}

/** end() with a deadline: destroy if the other side does not finish closing in time. */
export function linger(socket: net.Socket): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}
