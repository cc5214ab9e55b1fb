// The security configuration in SQLite, one concept a module: realms.ts, users.ts (with
// credentials.ts, the derivation from a password), groups.ts, grants.ts (grants and sources),
// apis.ts (HTTP gateway specs), transfer.ts (export and import of the whole document), on the
// statements of tables.ts and the transactions of transactions.ts. This class is their one
// face: what the admin API, the authenticator, the authorizer and replication call.
//
// Inputs are `unknown` on purpose: the admin API passes WAMP arguments straight in, and the
// schemas (schemas.ts) check them before anything is written. Every write runs in one
// transaction (all or nothing); listeners hear of a change only after its commit.
//
// Deletions cascade: deleting a group removes it from users, from groups nested in it and
// from the principals of grants and sources (a grant or source left without principals is
// deleted); a user's `role` naming it is cleared. Deleting a user does the same for
// "user:<authid>". Deleting a realm deletes everything in it.
//
// Changes that must end sessions are announced as such ('user.deleted', 'user.revoked',
// 'realm.deleted'), whether they came from the admin API, an import or mesh replication.

import type { ApiSpec } from '../gateway/spec.ts';
import type { Db } from '../store/database.ts';
import * as apis from './apis.ts';
import * as grants from './grants.ts';
import * as groups from './groups.ts';
import { defaultHashing, type HashingParams } from './hash.ts';
import * as realms from './realms.ts';
import type {
  GrantRecord,
  GroupRecord,
  RealmRecord,
  SecurityDocument,
  SourceRecord,
  UserRecord,
  UserView,
} from './records.ts';
import { prepareStatements, type StoreContext } from './tables.ts';
import { Transactions, type SecurityListener } from './transactions.ts';
import * as transfer from './transfer.ts';
import * as users from './users.ts';

export interface SecurityStoreOptions {
  /** Cost parameters for new hashes (tests lower them). */
  hashing?: HashingParams;
  /** Realms that cannot be deleted, nor left out of an import (the admin realm). */
  protectedRealms?: readonly string[];
}

export class SecurityStore {
  readonly db: Db;
  readonly hashing: HashingParams;
  readonly protectedRealms: ReadonlySet<string>;
  readonly #tx: Transactions;
  readonly #s: StoreContext;

  constructor(db: Db, options: SecurityStoreOptions = {}) {
    this.db = db;
    this.hashing = options.hashing ?? defaultHashing;
    this.protectedRealms = new Set(options.protectedRealms ?? []);
    this.#tx = new Transactions(db);
    this.#s = { q: prepareStatements(db), tx: this.#tx, hashing: this.hashing, protectedRealms: this.protectedRealms };
  }

  /** Called after each committed change (synchronously, before the write call returns). */
  subscribe(listener: SecurityListener): () => void {
    return this.#tx.subscribe(listener);
  }

  /** Incremented by every committed write: a cheap staleness check for caches. */
  get version(): number {
    return this.#tx.version;
  }

  /**
   * Runs several writes as one transaction: all or nothing, and listeners hear of them only
   * after the commit. Writes made inside are savepoints of it.
   */
  batch<T>(fn: () => T): T {
    return this.#tx.batch(fn);
  }

  /** Per-database secret that keys the mock challenges for unknown users. */
  mockSecret(): Buffer {
    return this.#tx.read(() => Buffer.from((this.#s.q.mockSecret.get() as { value: Uint8Array }).value));
  }

  // Realms

  listRealms(): RealmRecord[] {
    return realms.listRealms(this.#s);
  }
  getRealm(uri: string): RealmRecord | undefined {
    return realms.getRealm(this.#s, uri);
  }
  createRealm(input: unknown): RealmRecord {
    return realms.createRealm(this.#s, input);
  }
  updateRealm(uri: string, patch: unknown): RealmRecord {
    return realms.updateRealm(this.#s, uri, patch);
  }
  deleteRealm(uri: string): void {
    realms.deleteRealm(this.#s, uri);
  }

  // Users

  listUsers(realm: string): UserView[] {
    return users.listUsers(this.#s, realm);
  }
  getUser(realm: string, authid: string): UserView | undefined {
    const record = users.userRecord(this.#s, realm, authid);
    return record === undefined ? undefined : users.userView(record);
  }
  /** The user with its credentials (hashes and derived keys): for the authenticator only. */
  userRecord(realm: string, authid: string): UserRecord | undefined {
    return users.userRecord(this.#s, realm, authid);
  }
  /** The authid a cryptosign public key (hex, lower case) belongs to. */
  userByPubkey(realm: string, pubkey: string): string | undefined {
    return users.userByPubkey(this.#s, realm, pubkey);
  }
  createUser(realm: string, input: unknown): UserView {
    return users.createUser(this.#s, realm, input);
  }
  updateUser(realm: string, authid: string, patch: unknown): UserView {
    return users.updateUser(this.#s, realm, authid, patch);
  }
  deleteUser(realm: string, authid: string): void {
    users.deleteUser(this.#s, realm, authid);
  }

  // Groups

  listGroups(realm: string): GroupRecord[] {
    return groups.listGroups(this.#s, realm);
  }
  getGroup(realm: string, name: string): GroupRecord | undefined {
    return groups.getGroup(this.#s, realm, name);
  }
  /** The groups given and every group they are nested in, each once (breadth first). */
  groupClosure(realm: string, names: readonly string[]): string[] {
    return groups.groupClosure(this.#s, realm, names);
  }
  createGroup(realm: string, input: unknown): GroupRecord {
    return groups.createGroup(this.#s, realm, input);
  }
  updateGroup(realm: string, name: string, patch: unknown): GroupRecord {
    return groups.updateGroup(this.#s, realm, name, patch);
  }
  deleteGroup(realm: string, name: string): void {
    groups.deleteGroup(this.#s, realm, name);
  }

  // Grants and sources

  listGrants(realm: string): GrantRecord[] {
    return grants.listGrants(this.#s, realm);
  }
  getGrant(realm: string, id: number): GrantRecord | undefined {
    return grants.getGrant(this.#s, realm, id);
  }
  createGrant(realm: string, input: unknown): GrantRecord {
    return grants.createGrant(this.#s, realm, input);
  }
  deleteGrant(realm: string, id: number): void {
    grants.deleteGrant(this.#s, realm, id);
  }
  listSources(realm: string): SourceRecord[] {
    return grants.listSources(this.#s, realm);
  }
  getSource(realm: string, id: number): SourceRecord | undefined {
    return grants.getSource(this.#s, realm, id);
  }
  createSource(realm: string, input: unknown): SourceRecord {
    return grants.createSource(this.#s, realm, input);
  }
  deleteSource(realm: string, id: number): void {
    grants.deleteSource(this.#s, realm, id);
  }

  // HTTP API gateway specs

  /** The specs of `realm`, or of every realm. */
  listApis(realm?: string): ApiSpec[] {
    return apis.listApis(this.#s, realm);
  }
  getApi(realm: string, name: string): ApiSpec | undefined {
    return apis.getApi(this.#s, realm, name);
  }
  /** Adds a spec; one by that name in its realm is replaced only with `replace`. */
  putApi(input: unknown, options: { replace?: boolean } = {}): ApiSpec {
    return apis.putApi(this.#s, input, options);
  }
  deleteApi(realm: string, name: string): void {
    apis.deleteApi(this.#s, realm, name);
  }

  // Export and import

  /** The whole configuration. It holds password hashes and derived keys: keep it private. */
  exportDocument(): SecurityDocument {
    return transfer.exportDocument(this.#s);
  }
  /**
   * Replaces the whole configuration with `document`, in one transaction. Nothing changes
   * when any part is invalid; the error names the field ("realms[0].users[2].password").
   */
  importDocument(document: unknown): void {
    transfer.importDocument(this.#s, document);
  }
}
