// Password hashing and key derivation for the four secret-based WAMP methods, and the
// constant-time comparisons that check them. Nothing here keeps or logs a clear secret: the
// store only ever sees the outputs (salted hashes, derived keys, public keys).
//
// Parameters (see README.md in this folder for the reasoning):
// - ticket: Argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's first choice), 16-byte random salt, in
//   PHC string form so older hashes keep verifying when the defaults change. PBKDF2-SHA256
//   (600 000 iterations) only where Node lacks argon2 (before 24.7).
// - wampcra: PBKDF2-SHA256 as WAMP-CRA defines it (the salt string's UTF-8 bytes, the
//   base64 text of the derived key is the HMAC key); 100 000 iterations, keylen 32.
// - wamp-scram: Argon2id (m = 19 MiB, t = 2) or PBKDF2-SHA256 (600 000); only StoredKey and
//   ServerKey are kept, for both the spec's and Autobahn|Crossbar's variant (see deriveScram).

import crypto from 'node:crypto';

export interface Argon2Params {
  readonly memory: number;
  readonly iterations: number;
}

export interface HashingParams {
  /** Argon2id cost for ticket hashes (memory in KiB). */
  readonly ticket: Argon2Params;
  readonly wampcra: { readonly iterations: number; readonly keylen: number };
  readonly scram: {
    readonly kdf: ScramKdf;
    /** Argon2id cost (memory in KiB) when kdf is argon2id. */
    readonly argon2: Argon2Params;
    /** PBKDF2 iterations when kdf is pbkdf2. */
    readonly pbkdf2Iterations: number;
  };
}

export const defaultHashing: HashingParams = {
  ticket: { memory: 19456, iterations: 2 },
  wampcra: { iterations: 100_000, keylen: 32 },
  scram: { kdf: 'argon2id', argon2: { memory: 19456, iterations: 2 }, pbkdf2Iterations: 600_000 },
};

const PBKDF2_TICKET_ITERATIONS = 600_000;
const SALT_BYTES = 16;

export const hasArgon2 = typeof (crypto as { argon2Sync?: unknown }).argon2Sync === 'function';

// Parallelism 1: WAMP-SCRAM fixes it (the client computes the hash) and it keeps the cost
// of a ticket check on one core.
const argon2Parameters = (message: Uint8Array, salt: Uint8Array, p: Argon2Params, length: number) => ({
  message,
  nonce: salt,
  parallelism: 1,
  tagLength: length,
  memory: p.memory,
  passes: p.iterations,
});

export function argon2id(message: Uint8Array, salt: Uint8Array, p: Argon2Params, length = 32): Buffer {
  return crypto.argon2Sync('argon2id', argon2Parameters(message, salt, p, length));
}

/** argon2id on libuv's thread pool: a login's hash (~1 s on a slow board) must not stall every other session. */
function argon2idAsync(message: Uint8Array, salt: Uint8Array, p: Argon2Params, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.argon2('argon2id', argon2Parameters(message, salt, p, length), (err, derived) =>
      err === null ? resolve(derived) : reject(err),
    ),
  );
}

export function pbkdf2(
  password: Uint8Array | string,
  salt: Uint8Array | string,
  iterations: number,
  keylen = 32,
): Buffer {
  return crypto.pbkdf2Sync(password, salt, iterations, keylen, 'sha256');
}

function pbkdf2Async(password: Uint8Array, salt: Uint8Array, iterations: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.pbkdf2(password, salt, iterations, keylen, 'sha256', (err, derived) =>
      err === null ? resolve(derived) : reject(err),
    ),
  );
}

export function hmacSha256(key: Uint8Array | string, data: Uint8Array | string): Buffer {
  return crypto.createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Uint8Array | string): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

/** Constant time in the contents; a length mismatch is answered without comparing bytes. */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    crypto.timingSafeEqual(a, a);
    return false;
  }
  return crypto.timingSafeEqual(a, b);
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const b64raw = (b: Uint8Array) => Buffer.from(b).toString('base64').replace(/=+$/, '');

/** Canonical base64 (RFC 4648 with padding), or undefined. */
export function fromBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function fromBase64Loose(text: string): Buffer | undefined {
  // PHC strings use base64 without padding.
  if (!/^[A-Za-z0-9+/]*$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

export function fromHex(text: string, bytes: number): Buffer | undefined {
  if (text.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

export function randomBase64(bytes = SALT_BYTES): string {
  return b64(crypto.randomBytes(bytes));
}

// ---------------------------------------------------------------------------------------------
// ticket

/** A PHC-format hash: $argon2id$v=19$m=..,t=..,p=1$salt$hash (or $pbkdf2-sha256$i=..$salt$hash). */
export function hashTicket(ticket: string, p: Argon2Params = defaultHashing.ticket): string {
  const salt = crypto.randomBytes(SALT_BYTES);
  const secret = Buffer.from(ticket, 'utf8');
  if (hasArgon2)
    return `$argon2id$v=19$m=${p.memory},t=${p.iterations},p=1$${b64raw(salt)}$${b64raw(argon2id(secret, salt, p))}`;
  return `$pbkdf2-sha256$i=${PBKDF2_TICKET_ITERATIONS}$${b64raw(salt)}$${b64raw(pbkdf2(secret, salt, PBKDF2_TICKET_ITERATIONS))}`;
}

interface ParsedTicketHash {
  kind: 'argon2id' | 'pbkdf2-sha256';
  memory: number;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

/** Bounds keep a hostile import from turning each login into a denial of service. */
export const ticketHashLimits = {
  maxMemory: 1 << 20,
  maxArgon2Iterations: 64,
  maxPbkdf2Iterations: 10_000_000,
} as const;

export function parseTicketHash(phc: string): ParsedTicketHash | undefined {
  let m = /^\$argon2id\$v=19\$m=(\d{1,9}),t=(\d{1,4}),p=1\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{22,})$/.exec(phc);
  if (m) {
    const memory = Number(m[1]);
    const iterations = Number(m[2]);
    if (
      memory < 8 ||
      memory > ticketHashLimits.maxMemory ||
      iterations < 1 ||
      iterations > ticketHashLimits.maxArgon2Iterations
    )
      return undefined;
    return { kind: 'argon2id', memory, iterations, salt: fromBase64Loose(m[3]!)!, hash: fromBase64Loose(m[4]!)! };
  }
  m = /^\$pbkdf2-sha256\$i=(\d{1,9})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{22,})$/.exec(phc);
  if (m) {
    const iterations = Number(m[1]);
    if (iterations < 1000 || iterations > ticketHashLimits.maxPbkdf2Iterations) return undefined;
    return {
      kind: 'pbkdf2-sha256',
      memory: 0,
      iterations,
      salt: fromBase64Loose(m[2]!)!,
      hash: fromBase64Loose(m[3]!)!,
    };
  }
  return undefined;
}

/**
 * A PHC string of the current kind and cost whose hash no ticket gives (random bytes): checking
 * a ticket against it costs what checking against a real one does, for users that do not exist.
 */
export function dummyTicketHash(p: Argon2Params = defaultHashing.ticket): string {
  const salt = b64raw(crypto.randomBytes(SALT_BYTES));
  const hash = b64raw(crypto.randomBytes(32));
  if (hasArgon2) return `$argon2id$v=19$m=${p.memory},t=${p.iterations},p=1$${salt}$${hash}`;
  return `$pbkdf2-sha256$i=${PBKDF2_TICKET_ITERATIONS}$${salt}$${hash}`;
}

/** What a ticket check needs, or undefined when the hash cannot be checked here. */
function ticketCheck(phc: string): ParsedTicketHash | undefined {
  const parsed = parseTicketHash(phc);
  return parsed?.kind === 'argon2id' && !hasArgon2 ? undefined : parsed;
}

/** Whether `ticket` gives the hash in `phc`, computed on libuv's thread pool so the event loop keeps serving. */
export async function verifyTicket(ticket: string, phc: string): Promise<boolean> {
  const parsed = ticketCheck(phc);
  if (parsed === undefined) return false;
  const secret = Buffer.from(ticket, 'utf8');
  const derived =
    parsed.kind === 'argon2id'
      ? await argon2idAsync(secret, parsed.salt, parsed, parsed.hash.length)
      : await pbkdf2Async(secret, parsed.salt, parsed.iterations, parsed.hash.length);
  return safeEqual(derived, parsed.hash);
}

// ---------------------------------------------------------------------------------------------
// wampcra

export interface WampcraCredential {
  /** Sent in CHALLENGE.extra.salt; clients use its UTF-8 bytes (Autobahn, AutobahnJS). */
  readonly salt: string;
  readonly iterations: number;
  readonly keylen: number;
  /** base64 of PBKDF2-SHA256(password, salt, iterations, keylen): the shared secret of WAMP-CRA. */
  readonly key: string;
}

export function deriveWampcra(
  password: string,
  p: { iterations: number; keylen: number },
  salt = randomBase64(),
): WampcraCredential {
  return {
    salt,
    iterations: p.iterations,
    keylen: p.keylen,
    key: b64(pbkdf2(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), p.iterations, p.keylen)),
  };
}

/** What the client sends in AUTHENTICATE: base64(HMAC-SHA256(key = base64 text of the derived key, challenge)). */
export function wampcraSignature(key: string, challenge: string): Buffer {
  return hmacSha256(Buffer.from(key, 'utf8'), Buffer.from(challenge, 'utf8'));
}

export function verifyWampcra(key: string, challenge: string, signature: string): boolean {
  const given = fromBase64(signature.trim());
  const expected = wampcraSignature(key, challenge);
  return given !== undefined && safeEqual(given, expected);
}

// ---------------------------------------------------------------------------------------------
// wamp-scram

export type ScramKdf = 'argon2id' | 'pbkdf2';

/** StoredKey and ServerKey, base64. */
export interface ScramKeys {
  readonly stored_key: string;
  readonly server_key: string;
}

export interface ScramCredential {
  readonly kdf: ScramKdf;
  /** base64 of the random per-user salt octets. */
  readonly salt: string;
  readonly iterations: number;
  /** KiB; argon2id only. */
  readonly memory?: number;
  /** The spec's SCRAM (authmethod "wamp-scram"): SaltedPassword = KDF(Normalize(password)). */
  readonly spec: ScramKeys;
  /**
   * Autobahn|Python and Crossbar.io (authmethod "scram", kdf "argon2id-13"): SaltedPassword is
   * the unpadded base64 *text* of the Argon2id output, over the password not normalized.
   */
  readonly autobahn: ScramKeys;
}

function scramKeys(saltedPassword: Uint8Array): ScramKeys {
  const clientKey = hmacSha256(saltedPassword, 'Client Key');
  return { stored_key: b64(sha256(clientKey)), server_key: b64(hmacSha256(saltedPassword, 'Server Key')) };
}

/** SASLprep is approximated by Unicode NFKC (identical for ASCII, which is what clients use). */
export function saslprep(s: string): string {
  return s.normalize('NFKC');
}

export function deriveScram(
  password: string,
  kdf: ScramKdf,
  p: { iterations: number; memory?: number },
  salt = randomBase64(),
): ScramCredential {
  const saltBytes = Buffer.from(salt, 'base64');
  const normalized = Buffer.from(saslprep(password), 'utf8');
  const raw = Buffer.from(password, 'utf8');
  if (kdf === 'argon2id') {
    const params = { memory: p.memory ?? defaultHashing.scram.argon2.memory, iterations: p.iterations };
    const specSalted = argon2id(normalized, saltBytes, params);
    const rawSalted = normalized.equals(raw) ? specSalted : argon2id(raw, saltBytes, params);
    return {
      kdf,
      salt,
      iterations: p.iterations,
      memory: params.memory,
      spec: scramKeys(specSalted),
      autobahn: scramKeys(Buffer.from(b64raw(rawSalted), 'ascii')),
    };
  }
  const specSalted = pbkdf2(normalized, saltBytes, p.iterations);
  const rawSalted = normalized.equals(raw) ? specSalted : pbkdf2(raw, saltBytes, p.iterations);
  return { kdf, salt, iterations: p.iterations, spec: scramKeys(specSalted), autobahn: scramKeys(rawSalted) };
}

export type ScramDialect = 'spec' | 'autobahn';

export interface ScramExchange {
  readonly authid: string;
  readonly clientNonce: string;
  readonly serverNonce: string;
  readonly salt: string;
  readonly iterations: number;
}

function escapeScram(s: string): string {
  return s.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/** RFC 5802 AuthMessage as each dialect builds it (no channel binding). */
export function scramAuthMessage(x: ScramExchange, dialect: ScramDialect): string {
  const user = dialect === 'spec' ? escapeScram(saslprep(x.authid)) : saslprep(x.authid);
  // The spec: c = base64("n,,") = "biws"; Autobahn and Crossbar write the (empty) binding name.
  const cbind = dialect === 'spec' ? 'biws' : '';
  return `n=${user},r=${x.clientNonce},r=${x.serverNonce},s=${x.salt},i=${x.iterations},c=${cbind},r=${x.serverNonce}`;
}

/** Checks a ClientProof against StoredKey; on success returns the base64 ServerSignature. */
export function verifyScramProof(keys: ScramKeys, authMessage: string, proofB64: string): string | undefined {
  const proof = fromBase64(proofB64.trim());
  const storedKey = Buffer.from(keys.stored_key, 'base64');
  const clientSignature = hmacSha256(storedKey, authMessage);
  // Compare even when the proof is malformed, so both paths cost the same.
  const wellFormed = proof !== undefined && proof.length === clientSignature.length;
  const p = wellFormed ? proof : Buffer.alloc(clientSignature.length);
  const clientKey = Buffer.alloc(clientSignature.length);
  for (let i = 0; i < clientKey.length; i++) clientKey[i] = clientSignature[i]! ^ p[i]!;
  const ok = safeEqual(sha256(clientKey), storedKey) && wellFormed;
  return ok ? b64(hmacSha256(Buffer.from(keys.server_key, 'base64'), authMessage)) : undefined;
}

// ---------------------------------------------------------------------------------------------
// cryptosign

const publicKeys = new Map<string, crypto.KeyObject>();

/** An Ed25519 public key from its 32 bytes in hex (cached: keys are public and few). */
export function ed25519PublicKey(hex: string): crypto.KeyObject | undefined {
  const cached = publicKeys.get(hex);
  if (cached !== undefined) return cached;
  const raw = fromHex(hex, 32);
  if (raw === undefined) return undefined;
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return undefined;
  }
  if (publicKeys.size >= 10_000) publicKeys.clear();
  publicKeys.set(hex, key);
  return key;
}

/**
 * WAMP-Cryptosign: AUTHENTICATE carries the 64-byte Ed25519 signature in hex, followed (as
 * Autobahn and the spec do) by the 32 signed bytes; some clients send the signature only.
 */
export function verifyCryptosign(pubkeyHex: string, challenge: Uint8Array, signature: string): boolean {
  const key = ed25519PublicKey(pubkeyHex.toLowerCase());
  if (key === undefined) return false;
  let sig: Buffer | undefined;
  if (signature.length === 192) {
    sig = fromHex(signature.slice(0, 128), 64);
    const signed = fromHex(signature.slice(128), 32);
    if (signed === undefined || !safeEqual(signed, challenge)) return false;
  } else {
    sig = fromHex(signature, 64);
  }
  if (sig === undefined) return false;
  try {
    return crypto.verify(null, challenge, key, sig);
  } catch {
    return false;
  }
}
