// How an uplink logs in to the other router, as a WAMP client: ticket, WAMP-CRA (salted keys as
// Autobahn derives them) or cryptosign (Ed25519; the key file holds the 32-byte seed in hex, as
// Autobahn and Crossbar keep it).

import crypto from 'node:crypto';
import { deriveWampcra, wampcraSignature } from '../security/hash.ts';
import type { Dict } from '../wamp/messages.ts';
import { readBridgeFile, type WampBridgeConfig } from './config.ts';

export type RemoteCredential =
  | { readonly method: 'anonymous' }
  | { readonly method: 'ticket' | 'wampcra'; readonly authid: string; readonly secret: string }
  | { readonly method: 'cryptosign'; readonly authid: string; readonly key: crypto.KeyObject; readonly pubkey: string };

/** PKCS#8 DER of an Ed25519 private key, before its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Reads the configured credential's file; the error names the bridge and the field. */
export function remoteCredential(config: WampBridgeConfig): RemoteCredential {
  const r = config.remote;
  if (r === undefined) return { method: 'anonymous' };
  const text = (field: string, file: string) => readBridgeFile(config.name, field, file).toString('utf8').trim();
  if (r.ticketFile !== undefined)
    return { method: 'ticket', authid: r.authid, secret: text('remote.ticketFile', r.ticketFile) };
  if (r.wampcraSecretFile !== undefined)
    return { method: 'wampcra', authid: r.authid, secret: text('remote.wampcraSecretFile', r.wampcraSecretFile) };
  const seed = text('remote.cryptosignKeyFile', r.cryptosignKeyFile!);
  if (!/^[0-9a-fA-F]{64}$/.test(seed))
    throw new Error(`bridge ${config.name}: remote.cryptosignKeyFile: expected 64 hex digits (an Ed25519 seed)`);
  const key = crypto.createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.from(seed, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
  const pubkey = Buffer.from(crypto.createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  return { method: 'cryptosign', authid: r.authid, key, pubkey };
}

/** HELLO.Details for the credential. */
export function helloDetails(c: RemoteCredential): Dict {
  if (c.method === 'anonymous') return { authmethods: ['anonymous'] };
  return {
    authmethods: [c.method],
    authid: c.authid,
    ...(c.method === 'cryptosign' && { authextra: { pubkey: c.pubkey } }),
  };
}

/** AUTHENTICATE.Signature for a CHALLENGE, or why it cannot be answered. */
export function answer(c: RemoteCredential, authmethod: string, extra: Dict): string | Error {
  if (c.method === 'anonymous' || authmethod !== c.method)
    return new Error(`the other router asks for '${authmethod}', which is not configured`);
  if (c.method === 'ticket') return c.secret;
  if (c.method !== 'cryptosign') {
    if (typeof extra.challenge !== 'string') return new Error('WAMP-CRA challenge without a challenge string');
    let key = c.secret;
    if (typeof extra.salt === 'string') {
      const iterations = typeof extra.iterations === 'number' ? extra.iterations : 1000;
      const keylen = typeof extra.keylen === 'number' ? extra.keylen : 32;
      if (iterations > 10_000_000 || keylen > 1024) return new Error('WAMP-CRA key derivation parameters out of range');
      key = deriveWampcra(c.secret, { iterations, keylen }, extra.salt).key;
    }
    return wampcraSignature(key, extra.challenge).toString('base64');
  }
  if (typeof extra.challenge !== 'string' || !/^[0-9a-fA-F]{64}$/.test(extra.challenge))
    return new Error('cryptosign challenge is not 32 bytes of hex');
  const challenge = Buffer.from(extra.challenge, 'hex');
  return crypto.sign(null, challenge, c.key).toString('hex') + challenge.toString('hex');
}
