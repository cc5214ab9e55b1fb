// OAuth2 state in SQLite (migration 6): replicated records in `oauth2_record` (records.ts), and
// this node's signing keys in `oauth2_signing_key`, which replication never reads. The store is
// also the replication source of its records (RecordSource): local writes are announced to the
// replicator after their commit; remote ones arrive through apply().

import type { KeyObject } from 'node:crypto';
import crypto from 'node:crypto';
import type { RecordSource } from '../mesh/replication/source.ts';
import type { Db } from '../store/database.ts';
import {
  checkRecord,
  expiryOf,
  keyKey,
  KEY_PREFIX,
  REFRESH_PREFIX,
  refreshKey,
  revokedKey,
  thumbprint,
  type PublicKeyRecord,
  type RefreshRecord,
  type RevokedRecord,
} from './records.ts';

type Value = Record<string, unknown>;

export class OAuth2Store {
  readonly db: Db;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  readonly #keys = new Map<string, KeyObject>();
  readonly #q;

  constructor(db: Db, options: { now?: () => number } = {}) {
    this.db = db;
    this.#now = options.now ?? Date.now;
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      get: p('SELECT value FROM oauth2_record WHERE key = ?'),
      put: p('INSERT OR REPLACE INTO oauth2_record (key, value, expires_at) VALUES (?, ?, ?)'),
      delete: p('DELETE FROM oauth2_record WHERE key = ?'),
      // Keys sharing a prefix: a range, so the primary key index serves it.
      range: p('SELECT key, value FROM oauth2_record WHERE key >= ? AND key < ? ORDER BY key'),
      live: p('SELECT key, value FROM oauth2_record WHERE expires_at IS NULL OR expires_at > ?'),
      prune: p('DELETE FROM oauth2_record WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      signingKey: p('SELECT kid, private_jwk FROM oauth2_signing_key ORDER BY created_at DESC LIMIT 1'),
      insertSigningKey: p('INSERT INTO oauth2_signing_key (kid, private_jwk, created_at) VALUES (?, ?, ?)'),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Signing keys

  /** This node's signing key: created (ES256) and published on first use; never replicated. */
  signingKey(node: string): { kid: string; key: KeyObject } {
    const row = this.#q.signingKey.get() as { kid: string; private_jwk: string } | undefined;
    if (row !== undefined) {
      const key = crypto.createPrivateKey({ key: JSON.parse(row.private_jwk) as crypto.JsonWebKey, format: 'jwk' });
      if (this.publicKeyRecord(row.kid) === undefined) this.#publish(row.kid, node, key);
      return { kid: row.kid, key };
    }
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
    const kid = thumbprint(pub);
    this.#write(() => {
      this.#q.insertSigningKey.run(kid, JSON.stringify(privateKey.export({ format: 'jwk' })), this.#now());
      this.#put(keyKey(kid), this.#publicRecord(kid, node, privateKey));
    });
    return { kid, key: privateKey };
  }

  #publish(kid: string, node: string, key: KeyObject): void {
    this.#write(() => this.#put(keyKey(kid), this.#publicRecord(kid, node, key)));
  }

  #publicRecord(kid: string, node: string, privateKey: KeyObject): PublicKeyRecord {
    const pub = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
    return {
      kid,
      node,
      created: this.#now(),
      jwk: { kty: 'EC', crv: 'P-256', x: pub.x!, y: pub.y!, alg: 'ES256', use: 'sig', kid },
    };
  }

  /** Every node's public key: the JWKS. */
  publicKeys(): PublicKeyRecord[] {
    return this.#range(KEY_PREFIX).map(([, v]) => v as unknown as PublicKeyRecord);
  }

  publicKeyRecord(kid: string): PublicKeyRecord | undefined {
    return this.#get(keyKey(kid)) as PublicKeyRecord | undefined;
  }

  /** The verification key for `kid`, from any node (cached: keys never change under a kid). */
  publicKey(kid: string): KeyObject | undefined {
    let key = this.#keys.get(kid);
    if (key !== undefined) return key;
    const rec = this.publicKeyRecord(kid);
    if (rec === undefined) return undefined;
    key = crypto.createPublicKey({ key: rec.jwk as crypto.JsonWebKey, format: 'jwk' });
    if (this.#keys.size >= 1024) this.#keys.clear();
    this.#keys.set(kid, key);
    return key;
  }

  // -------------------------------------------------------------------------------------------
  // Refresh token families

  family(realm: string, family: string): RefreshRecord | undefined {
    return this.#get(refreshKey(realm, family)) as RefreshRecord | undefined;
  }

  /** Every live family of a user in a realm, oldest first. */
  userFamilies(realm: string, authid: string): RefreshRecord[] {
    return this.#range(`${REFRESH_PREFIX}${realm}|`)
      .map(([, v]) => v as unknown as RefreshRecord)
      .filter((r) => r.realm === realm && r.authid === authid && r.expires > this.#now())
      .sort((a, b) => a.issued - b.issued);
  }

  /**
   * Writes a family (new or rotated) and deletes `drop` (families over the per-user limit), in
   * one transaction announced after it.
   */
  putFamily(record: RefreshRecord, drop: readonly RefreshRecord[] = []): void {
    this.#write(() => {
      for (const d of drop) this.#q.delete.run(refreshKey(d.realm, d.family));
      this.#put(refreshKey(record.realm, record.family), record);
    });
  }

  /** Revokes a family and the last access token issued from it. */
  revokeFamily(record: RefreshRecord): void {
    this.#write(() => {
      this.#put(refreshKey(record.realm, record.family), { ...record, state: 'revoked' });
      if (record.jti !== undefined && record.jtiExpires !== undefined && record.jtiExpires > this.#now())
        this.#put(revokedKey(record.realm, record.jti), {
          realm: record.realm,
          jti: record.jti,
          expires: record.jtiExpires,
        });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Revoked access tokens

  isRevoked(realm: string, jti: string): boolean {
    return this.#get(revokedKey(realm, jti)) !== undefined;
  }

  revokeAccessToken(record: RevokedRecord): void {
    this.#write(() => this.#put(revokedKey(record.realm, record.jti), record));
  }

  /** Forgets expired records (the replicator forgets their versions by itself). */
  prune(): void {
    this.#q.prune.run(this.#now());
  }

  // -------------------------------------------------------------------------------------------
  // Replication

  readonly source: RecordSource = {
    owns: (key) => key.startsWith('oauth2.'),
    snapshot: () => {
      this.prune();
      const rows = this.#q.live.all(this.#now()) as { key: string; value: string }[];
      return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as Value]));
    },
    apply: (changes) => {
      const after = new Map<string, Value | undefined>();
      this.db.transaction(() => {
        for (const [key, value] of changes) {
          if (value === undefined) {
            this.#q.delete.run(key);
            after.set(key, undefined);
            continue;
          }
          // A malformed record (or a key under another's kid) changes nothing here.
          const checked = checkRecord(key, value);
          if (checked !== undefined) this.#put(key, checked);
          after.set(key, checked ?? this.#get(key));
        }
      })();
      this.#keys.clear();
      return after;
    },
    subscribe: (listener) => {
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    },
    expiresAt: (value) => expiryOf(value),
  };

  // -------------------------------------------------------------------------------------------
  // Internals

  #get(key: string): Value | undefined {
    const row = this.#q.get.get(key) as { value: string } | undefined;
    if (row === undefined) return undefined;
    const value = JSON.parse(row.value) as Value;
    const expires = expiryOf(value);
    return expires !== undefined && expires <= this.#now() ? undefined : value;
  }

  #range(prefix: string): [string, Value][] {
    const rows = this.#q.range.all(prefix, `${prefix}\uffff`) as { key: string; value: string }[];
    return rows.map((r) => [r.key, JSON.parse(r.value) as Value]);
  }

  #put(key: string, value: object): void {
    this.#q.put.run(key, JSON.stringify(value), expiryOf(value as Value) ?? null);
  }

  #write(fn: () => void): void {
    this.db.transaction(fn).immediate();
    for (const listener of [...this.#listeners]) listener();
  }
}
