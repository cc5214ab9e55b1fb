// WAMP-over-RawSocket on node:net, for TCP and Unix domain sockets. The byte rules live in
// rawsocket-framing.ts; this file owns sockets, timers and the Peer handed to the core.

import { chmod } from 'node:fs/promises';
import type net from 'node:net';
import tls from 'node:tls';
import { silentLogger, type Logger } from '../log.ts';
import type { Peer, PeerAcceptor, PeerHandler, TransportInfo } from '../router/peer.ts';
import { serializers as allSerializers } from '../serializers/index.ts';
import type { Serializer } from '../serializers/serializer.ts';
import { ErrorUri } from '../wamp/uris.ts';
import { MessageType } from '../wamp/messages.ts';
import { encodeMessage } from '../wamp/marshal.ts';
import { FrameWriter } from '../net/frame-writer.ts';
import { formatHostPort, isLoopback, unmapIPv4 } from '../net/address.ts';
import { clientDefaults } from '../net/client-limits.ts';
import { AcceptErrorLog } from './accept-errors.ts';
import { PreAuthBudget } from './pre-auth-budget.ts';
import { tlsInfo } from './client-certificate.ts';
import type { LoadedTls } from './tls-files.ts';
import { createClientServer, reloadClientServer } from './tcp-server.ts';
import { checkUnixSocketPath, parseMode, removeStaleSocket } from './unix-socket-path.ts';
import {
  FrameDecoder,
  FrameType,
  HANDSHAKE_SIZE,
  HandshakeErrorCode,
  MAGIC,
  MAX_PAYLOAD,
  buildHandshakeError,
  buildHandshakeReply,
  encodeHeader,
  exponentForMaxLength,
  maxLengthFromExponent,
  parseHandshake,
} from './rawsocket-framing.ts';

export { SocketPathInUseError, UnixSocketPathError } from './unix-socket-path.ts';
export { isLoopback, unmapIPv4 } from '../net/address.ts';

export type RawSocketTarget =
  | { readonly host?: string; readonly port: number }
  /** mode: file mode for the socket, a number or an octal string such as "0660". */
  | { readonly path: string; readonly mode?: number | string };

export interface RawSocketOptions {
  /** The largest message we accept; announced rounded down to a power of two. Default 16 MiB. */
  maxMessageSize?: number;
  /** Time allowed for the 4-octet RawSocket handshake. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Largest message before WELCOME (see pre-auth-budget.ts). Default 64 KiB. */
  preAuthMaxMessageSize?: number;
  /** Shared by every listener of the router; default: one of this listener's own. */
  preAuthBudget?: PreAuthBudget;
  /** Established connections beyond this get handshake error 4. Default unlimited. */
  maxConnections?: number;
  /** Serializers offered to clients. Default: all the router has. */
  serializers?: readonly Serializer[];
  /** RawSocket inside TLS (TCP only): the handshake timeout covers the TLS handshake too. */
  tls?: LoadedTls;
  logger?: Logger;
}

export interface RawSocketListener {
  /** Printable listen address: "127.0.0.1:8081", "[::]:8081" or "unix:/run/wampmesh.sock". */
  readonly address: string;
  /** The bound TCP port (the real one when 0 was asked for); absent for Unix sockets. */
  readonly port?: number;
  /** Stops accepting and destroys every open connection. */
  close(): Promise<void>;
  /** New certificate for connections accepted from now on (TLS listeners only). */
  reloadTls?(loaded: LoadedTls): void;
}

const DEFAULT_MAX_MESSAGE = clientDefaults.maxMessageSize;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = clientDefaults.handshakeTimeoutMs;
const LINGER_MS = clientDefaults.lingerMs;

interface Context {
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

export async function listenRawSocket(
  target: RawSocketTarget,
  acceptor: PeerAcceptor,
  options: RawSocketOptions = {},
): Promise<RawSocketListener> {
  const lengthExponent = exponentForMaxLength(options.maxMessageSize ?? DEFAULT_MAX_MESSAGE);
  const unixPath = 'path' in target ? target.path : undefined;
  // Checked before listening, so a bad mode cannot leave a listener behind.
  const mode = 'path' in target && target.mode !== undefined ? parseMode(target.mode) : undefined;
  const log = (options.logger ?? silentLogger).child({ transport: 'rawsocket' });
  const maxIncoming = Math.min(maxLengthFromExponent(lengthExponent), MAX_PAYLOAD);
  const ctx: Context = {
    acceptor,
    serializers: options.serializers ?? allSerializers,
    lengthExponent,
    maxIncoming,
    // The handshake announces maxIncoming, what a logged-in session may send; before WELCOME
    // the smaller limit applies on top (RawSocket has no way to announce two).
    preAuthMax: Math.min(options.preAuthMaxMessageSize ?? clientDefaults.preAuthMaxMessageSize, maxIncoming),
    budget: options.preAuthBudget ?? new PreAuthBudget({ logger: log }),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxConnections: options.maxConnections ?? Infinity,
    log,
    unixPath,
    established: 0,
  };

  const sockets = new Set<net.Socket>();
  const secure = options.tls !== undefined && unixPath === undefined ? options.tls : undefined;
  const server = createClientServer(secure, ctx.handshakeTimeoutMs, ctx.log, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    acceptConnection(socket, ctx);
  });
  if (unixPath !== undefined) {
    await checkUnixSocketPath(unixPath);
    await removeStaleSocket(unixPath);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in target) server.listen({ path: target.path }, done);
    else server.listen({ host: target.host, port: target.port }, done);
  });

  let address: string;
  let port: number | undefined;
  if ('path' in target) {
    address = `unix:${target.path}`;
    if (mode !== undefined) await chmod(target.path, mode);
  } else {
    const bound = server.address() as net.AddressInfo;
    port = bound.port;
    address = formatHostPort(bound.address, bound.port);
  }
  // Accept errors (EMFILE...) are logged, not fatal: the listener keeps serving the others.
  const acceptErrors = new AcceptErrorLog(ctx.log, address);
  server.on('error', (error) => acceptErrors.report(error));
  ctx.log.info({ address }, 'rawsocket listening');

  return {
    address,
    ...(port !== undefined ? { port } : {}),
    ...(secure !== undefined && {
      reloadTls: (loaded: LoadedTls) => reloadClientServer(server, loaded),
    }),
    // Resolves once every connection's 'close' has run, so the core has had all its closed().
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve())); // also unlinks a Unix socket file
      const gone = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
      for (const socket of sockets) socket.destroy();
      await Promise.all([stopped, ...gone]);
    },
  };
}

/** Runs the handshake, then hands the socket to a RawSocketPeer. */
function acceptConnection(socket: net.Socket, ctx: Context): void {
  const info = transportInfo(socket, ctx.unixPath);
  const request = new Uint8Array(HANDSHAKE_SIZE);
  let received = 0;
  let peer: RawSocketPeer | null = null;

  // Absolute deadline rather than socket.setTimeout (an idle timer): dripping one byte at a
  // time must not keep a handshake alive. Unref'd so stalled clients never hold the process.
  const timer = setTimeout(() => {
    ctx.log.debug({ peer: info.peer }, 'rawsocket handshake timeout');
    socket.destroy();
  }, ctx.handshakeTimeoutMs).unref();

  const refuse = (code: HandshakeErrorCode, why: string): void => {
    ctx.log.info({ peer: info.peer, code }, `rawsocket handshake refused: ${why}`);
    linger(socket);
    socket.end(buildHandshakeError(code));
  };

  const onHandshakeData = (chunk: Buffer): void => {
    const n = Math.min(HANDSHAKE_SIZE - received, chunk.length);
    request.set(chunk.subarray(0, n), received);
    received += n;
    // Fail a non-RawSocket client (an HTTP request, a scanner) on its first octet.
    if (request[0] !== MAGIC) {
      ctx.log.debug({ peer: info.peer }, 'rawsocket: bad magic octet, closing');
      socket.destroy();
      return;
    }
    if (received < HANDSHAKE_SIZE) return;

    clearTimeout(timer);
    socket.off('data', onHandshakeData);
    const parsed = parseHandshake(request);
    if (!parsed.ok) {
      if (parsed.badMagic) socket.destroy();
      else refuse(parsed.error, parsed.error === HandshakeErrorCode.RESERVED_BITS ? 'reserved bits' : 'serializer 0');
      return;
    }
    const serializer = ctx.serializers.find((s) => s.rawsocketId === parsed.serializerId);
    if (!serializer) return refuse(HandshakeErrorCode.SERIALIZER_UNSUPPORTED, `serializer ${parsed.serializerId}`);
    if (ctx.established >= ctx.maxConnections) return refuse(HandshakeErrorCode.MAX_CONNECTIONS, 'connection limit');

    socket.write(buildHandshakeReply(serializer.rawsocketId, ctx.lengthExponent));
    ctx.established++;
    peer = new RawSocketPeer(socket, serializer, info, parsed.maxLength, ctx);
    peer.start(ctx.acceptor, chunk.subarray(n));
  };

  socket.on('data', onHandshakeData);
  // ECONNRESET and friends are routine; 'close' always follows and does the bookkeeping.
  socket.on('error', (error) => ctx.log.debug({ peer: info.peer, err: error }, 'rawsocket socket error'));
  socket.once('close', () => {
    clearTimeout(timer);
    if (peer) {
      ctx.established--;
      peer.socketClosed();
    }
  });
}

class RawSocketPeer implements Peer {
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
    if (this.#state !== 'open') return;
    if (frame.length > this.#maxOutgoing) {
      // The spec forbids sending it; a truncated or skipped message would silently break the
      // session's request/response pairing, so the connection goes instead.
      this.#log.warn(
        { peer: this.info.peer, size: frame.length, limit: this.#maxOutgoing },
        "rawsocket: outgoing message exceeds the client's maximum, closing",
      );
      this.close();
      return;
    }
    this.#write(FrameType.MESSAGE, frame);
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
function linger(socket: net.Socket): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

function transportInfo(socket: net.Socket, unixPath: string | undefined): TransportInfo {
  if (unixPath !== undefined) return { type: 'rawsocket', peer: `unix:${unixPath}`, local: true };
  const address = unmapIPv4(socket.remoteAddress ?? 'unknown');
  const info = { type: 'rawsocket', peer: formatHostPort(address, socket.remotePort), local: isLoopback(address) };
  return socket instanceof tls.TLSSocket ? { ...info, ...tlsInfo(socket) } : info;
}
