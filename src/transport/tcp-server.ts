// The listening socket of a TCP client listener (RawSocket, MQTT), plain or inside TLS.
// node:tls is loaded only for a TLS listener (see tlsModule in tls-files.ts).
//
// A TLS listener reads each connection's first octet before TLS sees it. A TLS connection opens
// with a handshake record; anything else is closed at once, and the log line says what it looked
// like. OpenSSL alone would hold a plain RawSocket client (its handshake is 4 octets, less than
// the 5-octet record header OpenSSL needs to fail) unanswered until the handshake timeout.

import net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from '../log.ts';
import { clientDefaults } from '../net/client-limits.ts';
import { refusedCertificate } from './client-certificate.ts';
import { secureContextOptions, tlsModule, type LoadedTls } from './tls-files.ts';

const socketOptions = {
  noDelay: true, // we batch per tick ourselves; Nagle would only add latency to RPC
  keepAlive: true, // TCP keepalive finds dead peers; the router sends no RawSocket PINGs
  keepAliveInitialDelay: clientDefaults.keepAliveDelayMs,
};

/** TLS record type "handshake" (RFC 8446 5.1): a TLS client's first record carries its ClientHello. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** How a client of the listener's own protocol starts in plain TCP, to tell it from a stranger on a TLS port. */
export interface PlainClient {
  /** 0x7F for RawSocket, 0x10 (CONNECT) for MQTT. */
  readonly firstOctet: number;
  /** What the refusal's log line calls it: "plain WAMP RawSocket on a TLS port". */
  readonly name: string;
  /** Written before closing, so that the client's library reports a refusal rather than a reset. */
  readonly reply?: Uint8Array;
}

export interface ClientServerOptions {
  readonly tls?: LoadedTls;
  /** From accept to the first octet, and from the first octet to the end of the TLS handshake. */
  readonly handshakeTimeoutMs: number;
  readonly log: Logger;
  readonly plain: PlainClient;
}

// The node:tls server behind each TLS listener, for reloadClientServer.
const tlsServers = new WeakMap<net.Server, tls.Server>();

/**
 * A server (not listening yet) calling `onSocket` for each connection: at accept for plain TCP,
 * after the TLS handshake with `options.tls`, which must finish within `handshakeTimeoutMs` (and,
 * where it has a client CA, check the client's certificate: src/transport/client-certificate.ts).
 */
export function createClientServer(options: ClientServerOptions, onSocket: (socket: net.Socket) => void): net.Server {
  const server = net.createServer(socketOptions);
  if (options.tls === undefined) {
    server.on('connection', onSocket);
    return server;
  }
  const tlsServer = createTlsServer(options, options.tls, onSocket);
  tlsServers.set(server, tlsServer);
  server.on('connection', (socket: net.Socket) => awaitFirstOctet(socket, tlsServer, options));
  return server;
}

/** Never listens: `server` hands it the connections whose first octet opens a TLS record. */
function createTlsServer(
  { handshakeTimeoutMs, log }: ClientServerOptions,
  secure: LoadedTls,
  onSocket: (socket: net.Socket) => void,
): tls.Server {
  const clients = secure.clients;
  const server = tlsModule().createServer({
    ...secureContextOptions(secure),
    handshakeTimeout: handshakeTimeoutMs,
    // Client certificates: asked for when a CA is configured; "required" refuses, during the
    // handshake, every client without one that verifies.
    requestCert: clients !== undefined,
    rejectUnauthorized: clients?.mode === 'required',
  });
  if (clients === undefined) server.on('secureConnection', onSocket);
  else
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const refused = refusedCertificate(socket);
      if (refused === undefined) return onSocket(socket);
      log.debug({ from: socket.remoteAddress, err: refused }, 'TLS client certificate refused');
      socket.destroy();
    });
  // A failed TLS handshake (a scanner, a client trusting another certificate) concerns that client only.
  server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    log.debug({ from: socket.remoteAddress, err: error.message }, 'TLS handshake failed');
    socket.destroy();
  });
  return server;
}

/** Gives `socket` to `tlsServer` if its first octet opens a TLS record; closes it otherwise. */
function awaitFirstOctet(socket: net.Socket, tlsServer: tls.Server, options: ClientServerOptions): void {
  const { log, plain } = options;
  const fail = (why: string) => log.debug({ from: socket.remoteAddress, err: why }, 'TLS handshake failed');
  const timer = setTimeout(() => {
    fail('TLS handshake timeout');
    socket.destroy();
  }, options.handshakeTimeoutMs).unref();
  // ECONNRESET and friends: 'close' follows. Once TLS has the socket, the TLSSocket listens.
  const onError = (error: Error) => fail(error.message);
  socket.on('error', onError);
  socket.once('close', () => clearTimeout(timer));
  socket.once('data', (chunk: Buffer) => {
    clearTimeout(timer);
    const first = chunk[0];
    if (first === TLS_HANDSHAKE_RECORD) {
      socket.off('error', onError);
      // Put back and paused: the TLSSocket made on 'connection' feeds OpenSSL what the socket
      // holds (socket.read() until empty) on the next tick, before anything else is read, so a
      // ClientHello is whole whether it came in this chunk or comes one octet at a time.
      socket.pause();
      socket.unshift(chunk);
      tlsServer.emit('connection', socket);
      return;
    }
    if (first !== plain.firstOctet) {
      fail(`not TLS (first octet 0x${first?.toString(16).padStart(2, '0')})`);
      socket.destroy();
      return;
    }
    fail(plain.name);
    if (plain.reply === undefined) {
      socket.destroy();
      return;
    }
    // The socket still flows, so what else the client sends is read and dropped: the reply is
    // followed by a FIN, not by a reset that could discard it before the client reads it.
    socket.end(plain.reply);
    const linger = setTimeout(() => socket.destroy(), clientDefaults.lingerMs).unref();
    socket.once('close', () => clearTimeout(linger));
  });
}

/** New certificate for connections `server` (made by createClientServer with TLS) accepts from now on. */
export function reloadClientServer(server: net.Server, loaded: LoadedTls): void {
  tlsServers.get(server)?.setSecureContext(secureContextOptions(loaded));
}
