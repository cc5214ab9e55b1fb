// Shared setup for the security tests: a real SQLite store in a temp folder, the real Router
// with the store's authenticator and authorizer, and client-side proofs computed with
// node:crypto the way client libraries compute them.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from '../../src/router/router.ts';
import type { TransportInfo } from '../../src/router/peer.ts';
import { ManualScheduler } from '../../src/router/scheduler.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { attachSecurity, createSecurity, type Security, type SecurityOptions } from '../../src/security/index.ts';
import type { HashingParams } from '../../src/security/hash.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

/** Cheap but real parameters: the tests hash hundreds of passwords. */
export const testHashing: HashingParams = {
  ticket: { memory: 1024, iterations: 1 },
  wampcra: { iterations: 1000, keylen: 32 },
  scram: { kdf: 'argon2id', argon2: { memory: 1024, iterations: 1 }, pbkdf2Iterations: 4096 },
};

export const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-sec-'));

export interface World {
  dir: string;
  db: Db;
  security: Security;
  router: Router;
  scheduler: ManualScheduler;
  /** The clock the authenticator and throttle read. */
  clock: { now: number };
  /** `info`: more of the client's TransportInfo (a verified TLS certificate). */
  connect(peer?: string, info?: Partial<TransportInfo>): MemoryClient;
  close(): void;
}

export const FAILURE_DELAY = 1000;

export function world(options: Partial<SecurityOptions> & { dir?: string } = {}): World {
  const dir = options.dir ?? tmpDir();
  const db = openDatabase(dir);
  const clock = { now: 1_700_000_000_000 };
  const security = createSecurity(db, { hashing: testHashing, now: () => clock.now, ...options });
  const scheduler = new ManualScheduler();
  const router = new Router({
    realms: security.realmConfigs(),
    authenticator: security.authenticator,
    authorizer: security.authorizer,
    scheduler,
    now: () => clock.now,
    authFailureDelayMs: FAILURE_DELAY,
  });
  attachSecurity(router, security);
  return {
    dir,
    db,
    security,
    router,
    scheduler,
    clock,
    connect: (peer = '10.1.2.3:40000', info = {}) => new MemoryClient(router, undefined, peer, true, info),
    close: () => db.close(),
  };
}

export const ROLES = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

export function hello(realm: string, details: Record<string, unknown>): unknown[] {
  return [1, realm, { roles: ROLES, ...details }];
}

/** Sends HELLO; returns the first answer (CHALLENGE, WELCOME or ABORT — ABORT after the failure delay). */
export function sendHello(w: World, c: MemoryClient, realm: string, details: Record<string, unknown>): unknown[] {
  c.send(hello(realm, details));
  return answer(w, c);
}

export function answer(w: World, c: MemoryClient): unknown[] {
  let got = c.take();
  if (got.length === 0) {
    w.scheduler.advance(FAILURE_DELAY);
    got = c.take();
  }
  if (got.length !== 1) throw new Error(`expected one message, got ${JSON.stringify(got)}`);
  return got[0]!;
}

/**
 * Sends AUTHENTICATE; resolves with the answer. A ticket is checked on the thread pool, so its
 * answer comes some turns later (an ABORT then after the failure delay, once it is scheduled).
 */
export async function authenticate(
  w: World,
  c: MemoryClient,
  signature: string,
  extra: Record<string, unknown> = {},
): Promise<unknown[]> {
  c.send([5, signature, extra]);
  const deadline = Date.now() + 10_000;
  while (c.received.length === 0 && !c.closed && Date.now() < deadline) {
    w.scheduler.advance(FAILURE_DELAY);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return answer(w, c);
}

// ---------------------------------------------------------------------------------------------
// Client-side computations, as Autobahn|Python / AutobahnJS / the spec do them.

/** WAMP-CRA with salted passwords: key = base64(PBKDF2(password, salt utf8)), sig = base64(HMAC(key text, challenge)). */
export function wampcraSign(password: string, extra: Record<string, unknown>): string {
  let key: Buffer | string = password;
  if (typeof extra.salt === 'string') {
    key = crypto
      .pbkdf2Sync(password, extra.salt, extra.iterations as number, extra.keylen as number, 'sha256')
      .toString('base64');
  }
  return crypto
    .createHmac('sha256', key)
    .update(extra.challenge as string)
    .digest('base64');
}

export function ed25519Keys() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const pubkey = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  return { privateKey, pubkey };
}

/** Signature (64 bytes) followed by the 32 signed bytes, hex: what Autobahn sends. */
export function cryptosignSign(
  privateKey: crypto.KeyObject,
  extra: Record<string, unknown>,
  withMessage = true,
): string {
  const challenge = Buffer.from(extra.challenge as string, 'hex');
  const sig = crypto.sign(null, challenge, privateKey).toString('hex');
  return withMessage ? sig + challenge.toString('hex') : sig;
}

export interface ScramClient {
  nonce: string;
  proof(extra: Record<string, unknown>): string;
  /** The ServerSignature expected in WELCOME (base64). */
  expectedServerSignature(): string;
}

const hmac = (key: crypto.BinaryLike, data: crypto.BinaryLike) =>
  crypto.createHmac('sha256', key).update(data).digest();

/**
 * A SCRAM client: `spec` follows the WAMP spec (c=biws, escaped name, raw KDF output);
 * `autobahn` mimics Autobahn|Python 22.7.1 (c=, SaltedPassword = unpadded base64 text of Argon2id).
 */
export function scramClient(authid: string, password: string, dialect: 'spec' | 'autobahn'): ScramClient {
  const nonce = crypto.randomBytes(16).toString('base64');
  let authMessage = '';
  let salted: Buffer = Buffer.alloc(0);
  return {
    nonce,
    proof(extra) {
      const salt = extra.salt as string;
      const iterations = extra.iterations as number;
      const saltBytes = Buffer.from(salt, 'base64');
      const pw = Buffer.from(password, 'utf8');
      if (extra.kdf === 'argon2id13' || extra.kdf === 'argon2id-13') {
        const raw = crypto.argon2Sync('argon2id', {
          message: pw,
          nonce: saltBytes,
          parallelism: 1,
          tagLength: 32,
          memory: extra.memory as number,
          passes: iterations,
        });
        salted = dialect === 'spec' ? raw : Buffer.from(raw.toString('base64').replace(/=+$/, ''), 'ascii');
      } else {
        salted = crypto.pbkdf2Sync(pw, saltBytes, iterations, 32, 'sha256');
      }
      const name = dialect === 'spec' ? authid.replaceAll('=', '=3D').replaceAll(',', '=2C') : authid;
      const c = dialect === 'spec' ? 'biws' : '';
      authMessage = `n=${name},r=${nonce},r=${extra.nonce as string},s=${salt},i=${iterations},c=${c},r=${extra.nonce as string}`;
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = crypto.createHash('sha256').update(clientKey).digest();
      const signature = hmac(storedKey, authMessage);
      return Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64');
    },
    expectedServerSignature: () => hmac(hmac(salted, 'Server Key'), authMessage).toString('base64'),
  };
}

/** A session in the admin realm over the Unix socket (trusted), for admin calls. */
export function adminSession(w: World): {
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>): unknown[];
} {
  const c = w.connect('unix:/run/wampmesh.sock');
  const welcome = sendHello(w, c, w.security.adminRealm, { authmethods: ['trust'], authid: 'admin' });
  if (welcome[0] !== 2) throw new Error(`admin did not join: ${JSON.stringify(welcome)}`);
  let request = 0;
  return {
    call(procedure, args = [], kwargs) {
      c.send(
        kwargs === undefined ? [48, ++request, {}, procedure, args] : [48, ++request, {}, procedure, args, kwargs],
      );
      return c.take()[0]!;
    },
  };
}
