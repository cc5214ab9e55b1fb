// What a TLS connection tells the router about its client: that it runs inside TLS and, where
// the listener asks for client certificates, the certificate that was verified. node:tls has
// verified the chain (and the revocation list) by the time a connection is secure; with
// `clientCertificate: "required"` it refused every client without a good one during the handshake.

import type tls from 'node:tls';
import type { ClientCertificate } from '../router/peer.ts';

export interface TlsInfo {
  readonly tls: true;
  readonly certificate?: ClientCertificate;
}

/** The verified certificate of `socket`'s client, if it showed one. */
export function tlsInfo(socket: tls.TLSSocket): TlsInfo {
  if (!socket.authorized) return { tls: true };
  const x509 = socket.getPeerX509Certificate();
  if (x509 === undefined) return { tls: true };
  // Node gives a repeated attribute as a list: a subject naming two users names none.
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  return { tls: true, certificate: { cn: typeof cn === 'string' ? cn : undefined, fingerprint: x509.fingerprint256 } };
}

/**
 * Why a connection that completed its handshake must still go (optional client certificates:
 * node:tls lets every client through and only records its verdict): a client that showed a
 * certificate that does not verify is refused rather than served as if it had shown none.
 */
export function refusedCertificate(socket: tls.TLSSocket): string | undefined {
  if (socket.authorized || socket.getPeerX509Certificate() === undefined) return undefined;
  return String(socket.authorizationError ?? 'certificate not verified');
}
