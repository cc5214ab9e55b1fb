// One mesh link connection: a TCP (or TLS) socket, the preamble, the authenticated handshake
// and then heartbeats and mesh frames. It decides nothing about which links to keep: that is
// MeshLinks' job (links/links.ts), reached through LinkHost.
//
// States: links/connection-state.ts.
//
// Integrity (links/integrity.ts, batched in links/tagged-frames.ts): without TLS, each side tags
// what it sends after its own proof ("auth"); what it receives after the peer's proof is held,
// unhandled, until the batch's TAG has been checked; a bad one closes the connection
// ('integrity') before any of its frames is used. Over TLS nothing is tagged: TLS authenticates
// every record already.

import type net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { NodeId } from '../routing/frames.ts';
import {
  HANDSHAKE_FRAME_LIMIT,
  LinkFrameDecoder,
  LinkFrameType,
  MAX_FRAME,
  MAX_PING_PAYLOAD,
  PREAMBLE,
  pingPayload,
  roundTripOf,
} from './framing.ts';
import { PreambleReader } from './preamble.ts';
import { decodeControl, encodeControl, type CloseCode, type Control, type Hello } from './auth.ts';
import { Handshake } from './handshake.ts';
import { TaggedFrameReader, TaggedFrameWriter } from './tagged-frames.ts';
import { decodeEnvelope } from './envelope.ts';
import type { ConnectionOwner, ConnectionState, Direction, LinkConnectionOptions } from './connection-state.ts';
import { certificateProblem, endLinkSocket } from './sockets.ts';

/** What a connection needs from its owner (MeshLinks). */
export type LinkHost = ConnectionOwner<LinkConnection>;

export class LinkConnection {
  readonly direction: Direction;
  /** host:port dialed, or the remote address of an inbound connection. */
  readonly address: string;
  /** The node a dial was for; undefined for inbound connections and seed dials. */
  expected: NodeId | undefined;
  /** A seed dial: any node id of this cluster is welcome (and learned from the hello). */
  readonly anyNode: boolean;
  state: ConnectionState;
  peer: NodeId | undefined;
  peerInstance: string | undefined;
  /** The largest payload the peer accepts (its hello's "max"). */
  peerMax = 0;
  /** The node key the peer's hello named (checked by its auth's signature). */
  peerKey: Uint8Array | undefined;
  readonly createdAt = performance.now();
  upAt = 0;
  lastReceived = performance.now();
  lastPingSent = 0;
  rttMs: number | undefined;
  bytesIn = 0;
  /** Resolves once the socket is fully closed. */
  readonly gone: Promise<void>;

  readonly #host: LinkHost;
  readonly #socket: net.Socket;
  readonly #decoder = new LinkFrameDecoder(HANDSHAKE_FRAME_LIMIT);
  readonly #preamble: PreambleReader;
  #spoken = false;
  readonly #writer: TaggedFrameWriter;
  readonly #handshake: Handshake;
  /** Set once the peer's proof checked out: everything received from then on must be tagged. */
  #reader: TaggedFrameReader | undefined;
  #socketError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #verifyPeer: boolean;
  /** Inbound: refuse once the dialer's preamble shows it speaks our protocol (so it hears why). */
  #refusal: { code: CloseCode; reason: string } | undefined;

  constructor(host: LinkHost, socket: net.Socket, options: LinkConnectionOptions) {
    this.#host = host;
    this.#socket = socket;
    this.#writer = new TaggedFrameWriter(socket);
    this.direction = options.direction;
    this.address = options.address;
    this.expected = options.expected;
    this.anyNode = options.anyNode ?? false;
    this.state = options.direction === 'out' ? 'connecting' : 'preamble';
    this.#verifyPeer = options.verifyPeer ?? false;
    this.#preamble = new PreambleReader(options.direction, options.address);
    this.#handshake = new Handshake(host, options.direction === 'out' ? 'dialer' : 'acceptor');
    this.gone = new Promise((resolve) => socket.once('close', () => resolve()));
    // An absolute deadline, not an idle timer: dripping octets must not keep a handshake alive.
    this.#timer = setTimeout(
      () => this.close('timeout', `handshake not completed within ${options.handshakeTimeoutMs} ms`, { destroy: true }),
      options.handshakeTimeoutMs,
    );
    this.#timer.unref();
    socket.setNoDelay(true); // writes are batched per tick already
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#onData(chunk);
      } catch (error) {
        // Never out of a socket callback: that would take the whole router down.
        this.close('protocol', `internal error handling peer data: ${(error as Error).message}`, { destroy: true });
      }
    });
    // ECONNRESET and friends: 'close' follows and reports; keep the message for the log line.
    socket.on('error', (error) => {
      this.#socketError ??= error.message;
    });
    socket.once('close', () => this.#onSocketClose());
    if (options.direction === 'out') socket.once(options.readyEvent ?? 'connect', () => this.#startDialer());
    else {
      this.#handshake.captureBinding(socket);
      const problem = certificateProblem(socket, this.#verifyPeer);
      if (problem !== undefined) this.#refusal = { code: 'tls', reason: `certificate not accepted: ${problem}` };
    }
  }

  get tls(): boolean {
    return this.#socket instanceof TLSSocket;
  }
  get queuedBytes(): number {
    return this.#socket.writableLength + this.#writer.queuedBytes;
  }
  get bytesOut(): number {
    return this.#writer.bytesOut;
  }

  // ---- sending ---------------------------------------------------------------------------

  /**
   * Sends an encoded mesh frame (envelope.ts encodeFrame) in this tick's MESH envelope; false if
   * it was not sent (closed, or the peer stopped reading).
   */
  sendMeshFrame(item: Uint8Array): boolean {
    if (this.state !== 'up') return false;
    if (!this.#writer.meshFrame(item, this.peerMax)) return false;
    return this.#checkQueue();
  }

  sendControl(message: Control): boolean {
    return this.#write(LinkFrameType.CONTROL, encodeControl(message));
  }

  ping(now: number): void {
    if (this.state !== 'up') return;
    this.lastPingSent = now;
    if (this.#write(LinkFrameType.PING, pingPayload(now))) this.#checkQueue();
  }

  /** Called by the host when this connection becomes the link to its peer. */
  markUp(): void {
    if (this.state === 'closed') return;
    this.state = 'up';
    this.upAt = performance.now();
    this.lastReceived = this.upAt;
    clearTimeout(this.#timer);
  }

  /**
   * Ends the connection, telling the peer why (unless `notify` is false or it cannot be told).
   * `destroy`: don't wait for queued data (a dead or non-reading peer would never take it).
   */
  close(code: CloseCode, reason: string, options: { notify?: boolean; destroy?: boolean } = {}): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.#timer);
    if ((options.notify ?? true) && !options.destroy && this.#spoken) this.sendControl({ c: 'close', code, reason });
    // Nothing worth flushing to a peer we have not spoken to (or are still connecting to).
    endLinkSocket(
      this.#socket,
      this.#writer,
      (options.destroy ?? false) || (!this.#spoken && this.#preamble.received === 0),
    );
    this.#host.closed(this, code, reason, false);
  }

  // ---- receiving -------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.state === 'connecting') return;
    this.bytesIn += chunk.length;
    this.lastReceived = performance.now();
    let rest: Uint8Array = chunk;
    if (this.state === 'preamble') {
      const outcome = this.#preamble.feed(chunk, this.#spoken);
      if (outcome.kind === 'more') return;
      if (outcome.kind === 'refused') {
        if (outcome.answer !== undefined) this.#writer.raw(outcome.answer);
        return this.close(outcome.code, outcome.reason, { notify: false });
      }
      rest = outcome.rest;
      this.state = 'hello';
      if (this.#refusal !== undefined) {
        this.#spoken = true;
        this.#writer.raw(PREAMBLE);
        this.close(this.#refusal.code, this.#refusal.reason);
        return;
      }
      if (this.direction === 'in') this.#sendPreambleAndHello();
    }
    const error = this.#decoder.feed(rest, (type, payload) => {
      if (this.#reader !== undefined) this.#onTaggedFrame(this.#reader, type, payload);
      else this.#onFrame(type, payload);
      return this.state !== 'closed';
    });
    if (error !== undefined) this.#protocolError(`framing: ${error}`);
  }

  /** A frame after the peer's proof: held until its batch's TAG has been checked. */
  #onTaggedFrame(reader: TaggedFrameReader, type: LinkFrameType, payload: Uint8Array): void {
    if (type !== LinkFrameType.TAG) {
      const tooLarge = reader.hold(type, payload, this.#decoder.limit);
      if (tooLarge !== undefined) this.#integrityFailure(reader, tooLarge);
      return;
    }
    const batch = reader.check(payload);
    if (typeof batch === 'string') return this.#integrityFailure(reader, batch);
    const { types, payloads } = batch;
    for (let i = 0; i < types.length && this.state !== 'closed'; i++)
      this.#onFrame(types[i] as LinkFrameType, payloads[i]!);
  }

  #integrityFailure(reader: TaggedFrameReader, reason: string): void {
    reader.clear();
    // The peer hears why (the notice is tagged: whoever tampered cannot forge one either).
    this.close('integrity', reason);
  }

  #onFrame(type: LinkFrameType, payload: Uint8Array): void {
    switch (type) {
      case LinkFrameType.TAG:
        return this.#protocolError(
          this.#handshake.macKeys === undefined
            ? 'TAG frame on a link that carries none (TLS)'
            : "TAG frame before the peer's proof",
        );
      case LinkFrameType.CONTROL:
        return this.#onControl(payload);
      case LinkFrameType.MESH:
        return this.#onMesh(payload);
      case LinkFrameType.PING:
        if (this.state !== 'up' && this.state !== 'decision') return this.#protocolError('PING before authentication');
        if (payload.length > MAX_PING_PAYLOAD) return this.#protocolError(`PING of ${payload.length} octets`);
        if (this.#write(LinkFrameType.PONG, payload)) this.#checkQueue();
        return;
      case LinkFrameType.PONG:
        this.rttMs = roundTripOf(payload, performance.now()) ?? this.rttMs;
        return;
    }
  }

  #onMesh(payload: Uint8Array): void {
    if (this.state !== 'up') return this.#protocolError(`mesh frame in state ${this.state}`);
    const frames = decodeEnvelope(payload, this.#host.nodeId);
    if (typeof frames === 'string') return this.close('invalid-frame', frames);
    this.#host.meshFrames(this, frames);
  }

  #onControl(payload: Uint8Array): void {
    const message = decodeControl(payload);
    if (typeof message === 'string') return this.#protocolError(message);
    if (message.c === 'close') return this.#closedByPeer(message.code, message.reason);
    switch (this.state) {
      case 'hello':
        if (message.c !== 'hello') break;
        return this.#onHello(message, payload);
      case 'auth':
        if (message.c !== 'auth') break;
        return this.#onAuth(message.proof, message.sig);
      case 'decision':
        if (message.c !== 'use') break;
        return this.#host.used(this);
      default:
        break;
    }
    this.#protocolError(`unexpected "${message.c}" in state ${this.state}`);
  }

  #onHello(hello: Hello, bytes: Uint8Array): void {
    const refusal = this.#handshake.receiveHello(
      hello,
      bytes,
      { expected: this.expected, anyNode: this.anyNode, address: this.address },
      this.tls,
    );
    if (refusal !== undefined) return this.close(refusal.code, refusal.reason);
    this.peer = hello.node;
    this.peerInstance = hello.inst;
    this.peerMax = Math.min(hello.max, MAX_FRAME);
    this.peerKey = hello.key;
    this.state = 'auth';
    // The acceptor answers the dialer's hello with its proof; the dialer proves itself only
    // after checking the acceptor's.
    if (this.direction === 'in') {
      this.#sendAuth();
    }
  }

  #onAuth(proof: Uint8Array, sig: Uint8Array): void {
    if (!this.#handshake.verify(proof)) {
      return this.close(
        'auth',
        'authentication failed: the cluster secrets differ (or the connection was tampered with)',
      );
    }
    if (!this.#handshake.verifyKey(this.peerKey!, sig))
      return this.close('auth', `authentication failed: node ${this.peer} does not hold the node key its hello names`);
    const refusal = this.#host.admit(this.peer!, this.peerKey!);
    if (refusal !== undefined) return this.close(refusal.code, refusal.reason);
    // From here on the peer tags what it sends; from our proof on, so do we.
    const macKeys = this.#handshake.macKeys;
    if (macKeys !== undefined) this.#reader = new TaggedFrameReader(macKeys.receive);
    if (this.direction === 'out') this.#sendAuth();
    this.state = 'decision';
    this.#decoder.limit = this.#host.maxFrameBytes;
    this.#host.authenticated(this);
  }

  #closedByPeer(code: string, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.#timer);
    endLinkSocket(this.#socket, this.#writer, false);
    this.#host.closed(this, code, `closed by the peer (${code}): ${reason}`, true);
  }

  #onSocketClose(): void {
    if (this.state === 'closed') return;
    const before = this.state;
    this.state = 'closed';
    clearTimeout(this.#timer);
    if (before === 'connecting' && this.#socket instanceof TLSSocket && this.#socketError !== undefined) {
      this.#host.closed(this, 'tls', `TLS handshake failed: ${this.#socketError}`, true);
      return;
    }
    let reason: string;
    if (this.#socketError !== undefined) reason = this.#socketError;
    else if (before === 'preamble' && this.direction === 'out' && this.#preamble.received === 0)
      reason = 'closed by the peer before answering the link preamble (is this a mesh link port? a TLS-only one?)';
    else reason = 'connection closed by the peer';
    this.#host.closed(this, this.#socketError !== undefined ? 'error' : 'eof', reason, true);
  }

  #protocolError(why: string): void {
    this.close('protocol', why);
  }

  // ---- handshake helpers -------------------------------------------------------------------

  #startDialer(): void {
    if (this.state !== 'connecting') return;
    this.state = 'preamble';
    this.lastReceived = performance.now();
    const problem = certificateProblem(this.#socket, this.#verifyPeer);
    if (problem !== undefined)
      return this.close('tls', `the peer's certificate was not accepted: ${problem}`, { notify: false });
    this.#handshake.captureBinding(this.#socket);
    this.#sendPreambleAndHello();
  }

  #sendAuth(): void {
    this.sendControl({ c: 'auth', proof: this.#handshake.proof(), sig: this.#handshake.keySignature() });
    this.#startTagging();
  }

  #sendPreambleAndHello(): void {
    const hello = this.#handshake.hello();
    this.#spoken = true;
    this.#writer.raw(PREAMBLE);
    this.#write(LinkFrameType.CONTROL, hello);
  }

  // ---- socket ------------------------------------------------------------------------------

  #write(type: LinkFrameType, payload: Uint8Array): boolean {
    return this.#writer.frame(type, payload);
  }

  /** Called right after this side's proof is queued: what follows it is tagged. */
  #startTagging(): void {
    const macKeys = this.#handshake.macKeys;
    if (macKeys !== undefined && this.state !== 'closed') this.#writer.startTagging(macKeys.send);
  }

  /** A peer that stops reading must not make us buffer without bound. */
  #checkQueue(): boolean {
    const queued = this.queuedBytes;
    if (queued <= this.#host.maxQueuedBytes) return true;
    this.close('slow', `the peer is not reading: ${queued} octets queued (limit ${this.#host.maxQueuedBytes})`, {
      destroy: true,
    });
    return false;
  }
}
