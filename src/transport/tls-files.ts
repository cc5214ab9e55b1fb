// Certificate and key files of a TLS client listener, and the CA and revocation list its
// clients' certificates are checked against (bridges check their client certificate and CA
// with the same functions: src/bridge/files.ts). Read and checked by Node before any server sees
// them: uWebSockets.js takes file names and, given a bad pair, fails later and without saying
// which file, and node:tls takes a CA file holding no certificate without a word (and then
// trusts nobody), so every problem is found here and named by its config field.

import crypto from 'node:crypto';
import fs from 'node:fs';
import type tls from 'node:tls';

/**
 * node:tls, loaded on first use: loading it sets up OpenSSL's TLS state, about 2.5 MB of a
 * router's idle RSS, which a router without TLS listeners never needs.
 */
export function tlsModule(): typeof tls {
  return process.getBuiltinModule('node:tls');
}

export interface TlsFiles {
  /** PEM certificate, optionally followed by its chain. */
  readonly cert: string;
  /** PEM private key of the certificate. */
  readonly key: string;
  /** For an encrypted key. */
  readonly passphrase?: string;
  /** PEM CA certificates that client certificates must chain to (node:tls listeners only). */
  readonly clientCa?: string;
  /** Whether a client must show a certificate; "required" when clientCa is given alone. */
  readonly clientCertificate?: ClientCertificateMode;
  /** PEM certificate revocation lists of the client CAs. */
  readonly clientCrl?: string;
}

export type ClientCertificateMode = 'optional' | 'required';

/** The CA (and revocation lists) client certificates are verified against. */
export interface ClientVerification {
  readonly mode: ClientCertificateMode;
  readonly ca: Buffer;
  readonly crl?: Buffer;
}

export interface LoadedTls {
  readonly files: TlsFiles;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 of the leaf certificate (DER), "AB:CD:..." as browsers and openssl print it. */
  readonly fingerprint: string;
  readonly subject: string;
  /** ISO 8601. */
  readonly validTo: string;
  readonly clients?: ClientVerification;
}

export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
  /** Config field the problem belongs to, relative to the listener: "tls.cert", "tls.key", "tls.clientCa"... */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

function read(field: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new TlsFileError(field, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Reads the pair and checks that it is a certificate, a key, and that they belong together.
 * `encrypted` is what to say of an encrypted key given no passphrase (bridges take none).
 */
export function loadTls(files: TlsFiles, encrypted = 'give tls.passphrase'): LoadedTls {
  const cert = read('tls.cert', files.cert);
  const key = read('tls.key', files.key);
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(cert);
  } catch (e) {
    throw new TlsFileError('tls.cert', `${files.cert} holds no PEM certificate (${(e as Error).message})`);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(files.passphrase === undefined ? key : { key, passphrase: files.passphrase });
  } catch (e) {
    const why = (e as Error).message;
    throw new TlsFileError(
      'tls.key',
      /passphrase|decrypt/i.test(why) && files.passphrase === undefined
        ? `${files.key} is encrypted: ${encrypted}`
        : `${files.key} holds no usable private key (${why})`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsFileError('tls.key', `${files.key} is not the key of the certificate in ${files.cert}`);
  }
  const clients = files.clientCa === undefined ? undefined : loadClientVerification(files, files.clientCa);
  return {
    files,
    cert,
    key,
    fingerprint: x509.fingerprint256,
    subject: x509.subject.replaceAll('\n', ', '),
    validTo: new Date(x509.validTo).toISOString(),
    ...(clients !== undefined && { clients }),
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Reads a file of PEM CA certificates; `field` names it in errors ("tls.clientCa", "tls.ca"). */
export function readCaFile(field: string, caFile: string): Buffer {
  const ca = read(field, caFile);
  const blocks = ca.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsFileError(field, `${caFile} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new crypto.X509Certificate(block);
    } catch (e) {
      throw new TlsFileError(field, `${caFile} holds a certificate that does not parse (${(e as Error).message})`);
    }
  }
  return ca;
}

function loadClientVerification(files: TlsFiles, caFile: string): ClientVerification {
  const ca = readCaFile('tls.clientCa', caFile);
  const crl = files.clientCrl === undefined ? undefined : read('tls.clientCrl', files.clientCrl);
  if (crl !== undefined) {
    try {
      tlsModule().createSecureContext({ ca, crl });
    } catch (e) {
      throw new TlsFileError('tls.clientCrl', `${files.clientCrl} holds no usable PEM CRL (${(e as Error).message})`);
    }
  }
  return {
    mode: files.clientCertificate ?? 'required',
    ca,
    ...(crl !== undefined && { crl }),
  };
}

/** Options for node:tls servers (createServer, setSecureContext). */
export function secureContextOptions(loaded: LoadedTls): {
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
  minVersion: 'TLSv1.2';
  ca?: Buffer;
  crl?: Buffer;
} {
  const clients = loaded.clients;
  return {
    cert: loaded.cert,
    key: loaded.key,
    ...(loaded.files.passphrase !== undefined && { passphrase: loaded.files.passphrase }),
    minVersion: 'TLSv1.2',
    // Replaces Node's public roots for client certificates: only the configured CA vouches for clients.
    ...(clients !== undefined && { ca: clients.ca }),
    ...(clients?.crl !== undefined && { crl: clients.crl }),
  };
}
