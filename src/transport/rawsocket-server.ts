// WAMP-over-RawSocket on node:net, for TCP and Unix domain sockets. The byte rules live in
// rawsocket-framing.ts, the Peer handed to the core in rawsocket-peer.ts; this file owns the
// listening socket and each connection's handshake.

import type net from 'node:net';
import type tls from 'node:tls';
import { silentLogger, type Logger } from '../log.ts';
import type { PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { serializers as allSerializers } from '../serializers/index.ts';
import type { Serializer } from '../serializers/serializer.ts';
import { formatHostPort, isLoopback, unmapIPv4 } from '../net/address.ts';
import { clientDefaults } from '../net/client-limits.ts';
import { AcceptErrorLog } from './accept-errors.ts';
import { PreAuthBudget } from './pre-auth-budget.ts';
import { tlsInfo } from './client-certificate.ts';
import type { LoadedTls } from './tls-files.ts';
import { createClientServer, reloadClientServer } from './tcp-server.ts';
import { checkUnixSocketPath, parseMode, removeStaleSocket, setSocketMode } from './unix-socket-path.ts';
import {
  HANDSHAKE_SIZE,
  HandshakeErrorCode,
  MAGIC,
  MAX_PAYLOAD,
  buildHandshakeError,
  buildHandshakeReply,
  exponentForMaxLength,
  maxLengthFromExponent,
  parseHandshake,
} from './rawsocket-framing.ts';
import { linger, RawSocketPeer, type Context } from './rawsocket-peer.ts';

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

/**
 * A RawSocket client speaking plain TCP to a TLS listener. It is answered with handshake error 3,
 * "use of reserved bits (unsupported feature)": the spec has no code for "use TLS"; 0 must not be
 * used, and 1, 2 and 4 would have the client try another serializer, a smaller length or again
 * later, while 3 says the port does not support what the client asked for.
 */
const plainOnTls = {
  firstOctet: MAGIC,
  name: 'plain WAMP RawSocket on a TLS port',
  reply: buildHandshakeError(HandshakeErrorCode.RESERVED_BITS),
};

const DEFAULT_MAX_MESSAGE = clientDefaults.maxMessageSize;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = clientDefaults.handshakeTimeoutMs;

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
  const serverOptions = { tls: secure, handshakeTimeoutMs: ctx.handshakeTimeoutMs, log: ctx.log, plain: plainOnTls };
  const server = createClientServer(serverOptions, (socket) => {
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
    if (mode !== undefined) await setSocketMode(target.path, mode);
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

function transportInfo(socket: net.Socket, unixPath: string | undefined): TransportInfo {
  if (unixPath !== undefined) return { type: 'rawsocket', peer: `unix:${unixPath}`, local: true };
  const address = unmapIPv4(socket.remoteAddress ?? 'unknown');
  const info = { type: 'rawsocket', peer: formatHostPort(address, socket.remotePort), local: isLoopback(address) };
  // `encrypted` is how Node says to tell a TLS socket from a plain one, without loading node:tls.
  return 'encrypted' in socket ? { ...info, ...tlsInfo(socket as tls.TLSSocket) } : info;
}
