// The files a bridge's config names (secrets, TLS), read and checked once at start so that a
// bad one stops the router with its field named (`bridges[0].tls.key: ...`), as a listener's
// TLS files do. The sinks read them again when they are built; what they would have found
// only at the first connection (a key not of its certificate, a CA file holding no
// certificate) or never (an empty password file: an HMAC under an empty key) is found here.

import fs from 'node:fs';
import { loadTls, readCaFile, TlsFileError } from '../transport/tls-files.ts';
import type { BridgeConfig } from './config.ts';

/** A bridge file that cannot be used; the message starts with the field, e.g. "bridges[0].passwordFile: ". */
export class BridgeFileError extends Error {
  override readonly name = 'BridgeFileError';
}

/** Throws BridgeFileError for the first unusable file of `bridges` (as listed in the config). */
export function checkBridgeFiles(bridges: readonly BridgeConfig[]): void {
  bridges.forEach((b, i) => {
    const at = `bridges[${i}]`;
    const secrets: Array<[string, string | undefined]> = [];
    if (b.type === 'mqtt') {
      secrets.push(['passwordFile', b.passwordFile]);
      if (b.tls !== undefined) checkTls(at, b.tls);
    } else if (b.type === 'webhook') {
      secrets.push(['hmacSecretFile', b.hmacSecretFile]);
    } else if (b.remote !== undefined) {
      secrets.push(['remote.ticketFile', b.remote.ticketFile]);
      secrets.push(['remote.wampcraSecretFile', b.remote.wampcraSecretFile]);
      secrets.push(['remote.cryptosignKeyFile', b.remote.cryptosignKeyFile]);
    }
    if (b.type !== 'webhook') secrets.push(['as.ticketFile', b.as?.ticketFile]);
    for (const [field, file] of secrets) if (file !== undefined) checkSecret(`${at}.${field}`, file);
  });
}

function checkSecret(field: string, file: string): void {
  const text = readSecret(field, file);
  // src/bridge/client-auth.ts reads it as the Ed25519 seed, as Autobahn and Crossbar keep it.
  if (field.endsWith('.cryptosignKeyFile') && !/^[0-9a-fA-F]{64}$/.test(text))
    throw new BridgeFileError(`${field}: ${file}: expected 64 hex digits (an Ed25519 seed)`);
}

/** The sinks use the file's text without surrounding whitespace: nothing left is no secret. */
function readSecret(field: string, file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new BridgeFileError(
      `${field}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (text.trim() === '')
    throw new BridgeFileError(`${field}: ${file} is empty (or only whitespace): expected the secret`);
  return text.trim();
}

function checkTls(at: string, tls: { ca?: string; cert?: string; key?: string }): void {
  try {
    if (tls.ca !== undefined) readCaFile('tls.ca', tls.ca);
    // The schema has made sure that cert and key come together.
    if (tls.cert !== undefined && tls.key !== undefined)
      loadTls({ cert: tls.cert, key: tls.key }, 'a bridge takes an unencrypted key file');
  } catch (e) {
    if (e instanceof TlsFileError) throw new BridgeFileError(`${at}.${e.field}: ${e.message}`);
    throw e;
  }
}
