// The sockets of the mesh links: the listener, the dialer's socket, over plain TCP or TLS, and
// how a link's socket ends.
// Certificates are verified in the link layer (LinkConnection), not by OpenSSL, so that both
// ends log why one was refused; nothing is sent to an unverified peer either way.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../log.ts';
import { remoteAddress } from '../../net/address.ts';
import { meshDefaults } from '../defaults.ts';
import type { MeshLinksOptions } from './options.ts';
import type { TaggedFrameWriter } from './tagged-frames.ts';

type LinkTls = MeshLinksOptions['tls'];

/** The link port's server (not listening yet); `onSocket` gets each accepted connection. */
export function createLinkServer(
  options: LinkTls,
  handshakeTimeoutMs: number,
  log: Logger,
  onSocket: (socket: net.Socket) => void,
): net.Server {
  if (options === undefined) return net.createServer({ noDelay: true }, onSocket);
  const server = tls.createServer(
    {
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      requestCert: options.ca !== undefined,
      rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
      minVersion: 'TLSv1.2',
    },
    onSocket,
  );
  server.on('tlsClientError', (error, socket) => {
    log.info(
      { from: remoteAddress(socket), err: error.message },
      'mesh link port: TLS handshake failed (a plain-TCP mesh node, a WAMP client, or a certificate the CA did not sign?)',
    );
  });
  return server;
}

/** A socket dialing a node's link port. */
export function dialLinkSocket(host: string, port: number, options: LinkTls): net.Socket {
  if (options === undefined) return net.connect({ host, port, noDelay: true });
  return tls.connect({
    host,
    port,
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    minVersion: 'TLSv1.2',
    // Nodes are dialed by address and certificates seldom name it: with a CA the chain is
    // verified (in LinkConnection, to log why), and the cluster secret (bound to this TLS
    // session) proves membership.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
}

/** TLS with a CA (`verifyPeer`): why the peer's certificate did not verify, if it did not. */
export function certificateProblem(socket: net.Socket, verifyPeer: boolean): string | undefined {
  if (!verifyPeer || !(socket instanceof tls.TLSSocket) || socket.authorized) return undefined;
  return String(socket.authorizationError ?? 'no certificate');
}

// After end(), a peer that does not finish closing (a frozen process) must not pin the socket.
const LINGER_MS = meshDefaults.closeLingerMs;

/**
 * Ends a link's socket. `destroy`: at once, dropping what is queued (a dead or non-reading peer
 * would never take it); otherwise what is queued goes out sealed, then the FIN.
 */
export function endLinkSocket(socket: net.Socket, writer: TaggedFrameWriter, destroy: boolean): void {
  if (destroy) {
    writer.drop();
    socket.destroy();
    return;
  }
  writer.seal(); // the close notice and whatever else is queued, with their TAG
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  writer.flush(); // what was queued goes out before the FIN
  socket.end();
}
