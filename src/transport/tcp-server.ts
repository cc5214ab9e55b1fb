// The listening socket of a TCP client listener (RawSocket, MQTT), plain or inside TLS.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.ts';
import { clientDefaults } from '../net/client-limits.ts';
import { secureContextOptions, type LoadedTls } from './tls-files.ts';

const socketOptions = {
  noDelay: true, // we batch per tick ourselves; Nagle would only add latency to RPC
  keepAlive: true, // TCP keepalive finds dead peers; the router sends no RawSocket PINGs
  keepAliveInitialDelay: clientDefaults.keepAliveDelayMs,
};

/**
 * A server (not listening yet) calling `onSocket` for each connection: at accept for plain TCP,
 * after the TLS handshake with `secure`, which must finish within `handshakeTimeoutMs`.
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
  const server = tls.createServer({
    ...socketOptions,
    ...secureContextOptions(secure),
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.on('secureConnection', onSocket);
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
