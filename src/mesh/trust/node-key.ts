// A node's Ed25519 identity: the key pair made on its first start and kept in its data folder
// (node-key.pem, mode 0600). The public key is what the mesh admits (trust/membership.ts); the
// private key signs the link handshake, the node's advertisements and its admissions.

import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const PUBLIC_KEY_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const NODE_KEY_FILE = 'node-key.pem';

export class NodeKey {
  readonly publicKey: Uint8Array;
  readonly #private: KeyObject;

  constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('a node key must be an Ed25519 key');
    this.#private = privateKey;
    const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
    this.publicKey = Buffer.from(jwk.x as string, 'base64url');
  }

  static generate(): NodeKey {
    return new NodeKey(crypto.generateKeyPairSync('ed25519').privateKey);
  }

  sign(data: Uint8Array): Uint8Array {
    return crypto.sign(null, data, this.#private);
  }

  /** PKCS#8 PEM, for the data folder. */
  pem(): string {
    return this.#private.export({ format: 'pem', type: 'pkcs8' }) as string;
  }
}

// Making a KeyObject from raw octets costs about as much as a verification: keep the few
// (one per admitted node) that are used again and again.
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 4096;

function publicKeyObject(raw: Uint8Array): KeyObject {
  const id = keyText(raw);
  let key = publicKeys.get(id);
  if (key === undefined) {
    key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/** Whether `signature` is `publicKey`'s over `data`; false for malformed keys or signatures. */
export function verifySignature(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_SIZE || signature.length !== SIGNATURE_SIZE) return false;
  try {
    return crypto.verify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** A public key as text (base64url, 43 characters): how logs, status and the admin API show it. */
export function keyText(publicKey: Uint8Array): string {
  return Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
}

/** The inverse of keyText; undefined when `text` is no public key. */
export function parseKeyText(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined;
  const raw = Buffer.from(text, 'base64url');
  return raw.length === PUBLIC_KEY_SIZE ? raw : undefined;
}

/** The node key kept in `dataDir`, made (and written with mode 0600) on the first start. */
export function loadOrCreateNodeKey(dataDir: string): NodeKey {
  const file = path.join(dataDir, NODE_KEY_FILE);
  let pem: string | undefined;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (pem !== undefined) {
    // Readable by others, the key is as good as published: refuse to start rather than use it.
    const mode = fs.statSync(file).mode & 0o077;
    if (mode !== 0 && process.platform !== 'win32')
      throw new Error(
        `${file} is readable by other users (mode ${(fs.statSync(file).mode & 0o777).toString(8)}); chmod 600 it`,
      );
    return new NodeKey(crypto.createPrivateKey(pem));
  }
  const key = NodeKey.generate();
  fs.writeFileSync(`${file}.tmp`, key.pem(), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return key;
}
