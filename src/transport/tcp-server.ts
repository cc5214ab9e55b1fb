// The listening socket of a TCP client listener (RawSocket, MQTT), plain or inside TLS.
// node:tls is loaded only for a TLS listener (see tlsModule in tls-files.ts).

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

/**
 * A server (not listening yet) calling `onSocket` for each connection: at accept for plain TCP,
 * after the TLS handshake with `secure`, which must finish within `handshakeTimeoutMs` (and,
 * where `secure` has a client CA, check the client's certificate: src/transport/client-certificate.ts).
 */
export function createClientServer(
  secure: LoadedTls | undefined,
  handshakeTimeoutMs: number,
  log: Logger,
  onSocket: (socket: net.Socket) => void,
): net.Server {
  if (secure === undefined) {
    const server = net.createServer(socketOptions);
    server.on('connection', onSocket);
    return server;
  }
  const clients = secure.clients;
  const server = tlsModule().createServer({
    ...socketOptions,
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
  // A failed TLS handshake (plain RawSocket on the TLS port, a scanner) concerns that client only.
  server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    log.debug({ from: socket.remoteAddress, err: error.message }, 'TLS handshake failed');
    socket.destroy();
  });
  return server;
}

/** New certificate for connections `server` (made by createClientServer with TLS) accepts from now on. */
export function reloadClientServer(server: net.Server, loaded: LoadedTls): void {
  (server as tls.Server).setSecureContext(secureContextOptions(loaded));
}
