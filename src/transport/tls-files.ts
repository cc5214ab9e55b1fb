// Certificate and key files of a TLS client listener. Read and checked by Node before any
// server sees them: uWebSockets.js takes file names and, given a bad pair, fails later and
// without saying which file, so every problem is found here and named by its config field.

import crypto from 'node:crypto';
import fs from 'node:fs';

export interface TlsFiles {
  /** PEM certificate, optionally followed by its chain. */
  readonly cert: string;
  /** PEM private key of the certificate. */
  readonly key: string;
  /** For an encrypted key. */
  readonly passphrase?: string;
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
}

export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
  /** Config field the problem belongs to, relative to the listener: "tls.cert" or "tls.key". */
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

/** Reads the pair and checks that it is a certificate, a key, and that they belong together. */
export function loadTls(files: TlsFiles): LoadedTls {
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
        ? `${files.key} is encrypted: give tls.passphrase`
        : `${files.key} holds no usable private key (${why})`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsFileError('tls.key', `${files.key} is not the key of the certificate in ${files.cert}`);
  }
  return {
    files,
    cert,
    key,
    fingerprint: x509.fingerprint256,
    subject: x509.subject.replaceAll('\n', ', '),
    validTo: new Date(x509.validTo).toISOString(),
  };
}

/** Options for node:tls servers (createServer, setSecureContext). */
export function secureContextOptions(loaded: LoadedTls): {
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
  minVersion: 'TLSv1.2';
} {
  return {
    cert: loaded.cert,
    key: loaded.key,
    ...(loaded.files.passphrase !== undefined && { passphrase: loaded.files.passphrase }),
    minVersion: 'TLSv1.2',
  };
}
