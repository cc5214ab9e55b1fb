// The security configuration in SQLite (schema: migrations 2 and 4 in src/store/migrations.ts).
// Every write validates first, then runs in one transaction (all or nothing); listeners hear
// of a change only after its commit. Inputs are `unknown` on purpose: the admin API passes
// WAMP arguments straight in and this is the one place they are checked.
//
// Deletions cascade: deleting a group removes it from users, from groups nested in it and
// from the principals of grants and sources (a grant or source left without principals is
// deleted); a user's `role` naming it is cleared. Deleting a user does the same for
// "user:<authid>". Deleting a realm deletes everything in it.
//
// Changes that must end sessions are announced as such ('user.deleted', 'user.revoked',
// 'realm.deleted'), whether they came from the admin API, an import or mesh replication.

import { translate, type Db } from '../store/database.ts';
import type { Action } from '../router/auth.ts';
import type { MatchPolicy } from '../router/uri-table.ts';
import { exists, invalid, joinField, notFound, SecurityError, SecurityErrorUri } from './errors.ts';
import { findCycle, parseDocument } from './document.ts';
import { parseApiSpec, type ApiSpec } from '../gateway/spec.ts';
import { revocationOf, type Revocation } from './revocation.ts';
import {
  defaultHashing,
  deriveScram,
  deriveWampcra,
  hashTicket,
  type HashingParams,
  type ScramCredential,
  type WampcraCredential,
} from './hash.ts';
import {
  AUTH_METHODS,
  authroleOf,
  grantCreateSchema,
  groupCreateSchema,
  groupUpdateSchema,
  MAX_RECORD_ID,
  parse,
  PASSWORD_METHODS,
  realmCreateSchema,
  realmUpdateSchema,
  sourceCreateSchema,
  userCreateSchema,
  userUpdateSchema,
  type AuthMethod,
  type Credentials,
  type Dict,
  type GrantCreate,
  type GrantRecord,
  type GroupRecord,
  type PasswordMethod,
  type Principal,
  type RealmDocument,
  type RealmRecord,
  type SecurityDocument,
  type SourceCreate,
  type SourceRecord,
  type UserCreate,
  type UserRecord,
  type UserUpdate,
  type UserView,
} from './model.ts';

export type SecurityChange =
  | { readonly kind: 'realm.created' | 'realm.updated'; readonly realm: string; readonly record: RealmRecord }
  | { readonly kind: 'realm.deleted'; readonly realm: string }
  | { readonly kind: 'user.created' | 'user.updated' | 'user.deleted'; readonly realm: string; readonly authid: string }
  /** The user's sessions must end (see revocation.ts); comes with the change that caused it. */
  | { readonly kind: 'user.revoked'; readonly realm: string; readonly authid: string; readonly why: Revocation }
  /** Groups, grants or sources of the realm changed. */
  | { readonly kind: 'policy'; readonly realm: string }
  /** HTTP API gateway specs of the realm changed. */
  | { readonly kind: 'api'; readonly realm: string };

export type SecurityListener = (change: SecurityChange) => void;

export interface SecurityStoreOptions {
  /** Cost parameters for new hashes (tests lower them). */
  hashing?: HashingParams;
  /** Realms that cannot be deleted, nor left out of an import (the admin realm). */
  protectedRealms?: readonly string[];
}

interface RealmRow {
  uri: string;
  description: string;
  authmethods: string;
  security_enabled: number;
  allow_connections: number;
}
interface UserRow {
  authid: string;
  role: string | null;
  meta: string;
  disabled: number;
}
interface GroupRow {
  name: string;
  description: string;
  meta: string;
}
interface GrantRow {
  id: number;
  permissions: string;
  uri: string;
  match: string;
  principals: string;
}
interface SourceRow {
  id: number;
  cidr: string;
  authmethods: string;
  principals: string;
  description: string;
}

type Derivation = Pick<UserCreate, 'password' | 'password_methods' | 'wampcra' | 'scram' | 'credentials'>;
type LoginState = Pick<UserRecord, 'authid' | 'credentials' | 'pubkeys' | 'disabled'>;

export class SecurityStore {
  readonly db: Db;
  readonly hashing: HashingParams;
  readonly protectedRealms: ReadonlySet<string>;
  readonly #listeners = new Set<SecurityListener>();
  readonly #q;
  #version = 0;
  /** Changes of the batch in progress, announced at its commit. */
  #queued: SecurityChange[] | undefined;

  constructor(db: Db, options: SecurityStoreOptions = {}) {
    this.db = db;
    this.hashing = options.hashing ?? defaultHashing;
    this.protectedRealms = new Set(options.protectedRealms ?? []);
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      realms: p('SELECT * FROM security_realm ORDER BY uri'),
      realm: p('SELECT * FROM security_realm WHERE uri = ?'),
      insertRealm: p(
        'INSERT INTO security_realm (uri, description, authmethods, security_enabled, allow_connections) VALUES (?, ?, ?, ?, ?)',
      ),
      updateRealm: p(
        'UPDATE security_realm SET description = ?, authmethods = ?, security_enabled = ?, allow_connections = ? WHERE uri = ?',
      ),
      deleteRealm: p('DELETE FROM security_realm WHERE uri = ?'),
      deleteAllRealms: p('DELETE FROM security_realm'),

      users: p('SELECT authid, role, meta, disabled FROM security_user WHERE realm = ? ORDER BY authid'),
      user: p('SELECT authid, role, meta, disabled FROM security_user WHERE realm = ? AND authid = ?'),
      insertUser: p('INSERT INTO security_user (realm, authid, role, meta, disabled) VALUES (?, ?, ?, ?, ?)'),
      updateUser: p('UPDATE security_user SET role = ?, meta = ?, disabled = ? WHERE realm = ? AND authid = ?'),
      deleteUser: p('DELETE FROM security_user WHERE realm = ? AND authid = ?'),
      clearRole: p('UPDATE security_user SET role = NULL WHERE realm = ? AND role = ?'),
      userGroups: p('SELECT grp FROM security_user_group WHERE realm = ? AND authid = ? ORDER BY position'),
      deleteUserGroups: p('DELETE FROM security_user_group WHERE realm = ? AND authid = ?'),
      insertUserGroup: p('INSERT INTO security_user_group (realm, authid, grp, position) VALUES (?, ?, ?, ?)'),
      credentials: p('SELECT method, data FROM security_credential WHERE realm = ? AND authid = ?'),
      realmCredentials: p('SELECT authid, method, data FROM security_credential WHERE realm = ?'),
      realmPubkeys: p('SELECT authid, pubkey FROM security_pubkey WHERE realm = ?'),
      deleteCredentials: p('DELETE FROM security_credential WHERE realm = ? AND authid = ?'),
      insertCredential: p('INSERT INTO security_credential (realm, authid, method, data) VALUES (?, ?, ?, ?)'),
      pubkeys: p('SELECT pubkey FROM security_pubkey WHERE realm = ? AND authid = ? ORDER BY position'),
      pubkeyOwner: p('SELECT authid FROM security_pubkey WHERE realm = ? AND pubkey = ?'),
      deletePubkeys: p('DELETE FROM security_pubkey WHERE realm = ? AND authid = ?'),
      insertPubkey: p('INSERT INTO security_pubkey (realm, pubkey, authid, position) VALUES (?, ?, ?, ?)'),

      groups: p('SELECT name, description, meta FROM security_group WHERE realm = ? ORDER BY name'),
      group: p('SELECT name, description, meta FROM security_group WHERE realm = ? AND name = ?'),
      insertGroup: p('INSERT INTO security_group (realm, name, description, meta) VALUES (?, ?, ?, ?)'),
      updateGroup: p('UPDATE security_group SET description = ?, meta = ? WHERE realm = ? AND name = ?'),
      deleteGroup: p('DELETE FROM security_group WHERE realm = ? AND name = ?'),
      parents: p('SELECT parent FROM security_group_parent WHERE realm = ? AND name = ? ORDER BY position'),
      allParents: p('SELECT name, parent FROM security_group_parent WHERE realm = ? ORDER BY name, position'),
      deleteParents: p('DELETE FROM security_group_parent WHERE realm = ? AND name = ?'),
      insertParent: p('INSERT INTO security_group_parent (realm, name, parent, position) VALUES (?, ?, ?, ?)'),

      grants: p('SELECT id, permissions, uri, match, principals FROM security_grant WHERE realm = ? ORDER BY id'),
      grant: p('SELECT id, permissions, uri, match, principals FROM security_grant WHERE realm = ? AND id = ?'),
      grantById: p('SELECT realm FROM security_grant WHERE id = ?'),
      insertGrant: p(
        'INSERT INTO security_grant (id, realm, permissions, uri, match, principals) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setGrantPrincipals: p('UPDATE security_grant SET principals = ? WHERE id = ?'),
      deleteGrant: p('DELETE FROM security_grant WHERE realm = ? AND id = ?'),

      sources: p(
        'SELECT id, cidr, authmethods, principals, description FROM security_source WHERE realm = ? ORDER BY id',
      ),
      source: p(
        'SELECT id, cidr, authmethods, principals, description FROM security_source WHERE realm = ? AND id = ?',
      ),
      sourceById: p('SELECT realm FROM security_source WHERE id = ?'),
      insertSource: p(
        'INSERT INTO security_source (id, realm, cidr, authmethods, principals, description) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setSourcePrincipals: p('UPDATE security_source SET principals = ? WHERE id = ?'),
      deleteSource: p('DELETE FROM security_source WHERE realm = ? AND id = ?'),

      apis: p('SELECT spec FROM gateway_api WHERE realm = ? ORDER BY name'),
      allApis: p('SELECT spec FROM gateway_api ORDER BY realm, name'),
      api: p('SELECT spec FROM gateway_api WHERE realm = ? AND name = ?'),
      putApi: p('INSERT OR REPLACE INTO gateway_api (realm, name, spec) VALUES (?, ?, ?)'),
      deleteApi: p('DELETE FROM gateway_api WHERE realm = ? AND name = ?'),

      mockSecret: p("SELECT value FROM security_meta WHERE key = 'mock_secret'"),
    };
  }

  /** Called after each committed change (synchronously, before the write call returns). */
  subscribe(listener: SecurityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Incremented by every committed write: a cheap staleness check for caches. */
  get version(): number {
    return this.#version;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  listRealms(): RealmRecord[] {
    return this.#read(() => (this.#q.realms.all() as RealmRow[]).map(realmRecord));
  }

  getRealm(uri: string): RealmRecord | undefined {
    return this.#read(() => {
      const row = this.#q.realm.get(uri) as RealmRow | undefined;
      return row === undefined ? undefined : realmRecord(row);
    });
  }

  listUsers(realm: string): UserView[] {
    return this.#read(() => {
      this.#requireRealm(realm);
      return (this.#q.users.all(realm) as UserRow[]).map((row) => userView(this.#userRecord(realm, row)));
    });
  }

  getUser(realm: string, authid: string): UserView | undefined {
    const record = this.userRecord(realm, authid);
    return record === undefined ? undefined : userView(record);
  }

  /** The user with its credentials (hashes and derived keys): for the authenticator only. */
  userRecord(realm: string, authid: string): UserRecord | undefined {
    return this.#read(() => {
      const row = this.#q.user.get(realm, authid) as UserRow | undefined;
      return row === undefined ? undefined : this.#userRecord(realm, row);
    });
  }

  /** The authid a cryptosign public key (hex, lower case) belongs to. */
  userByPubkey(realm: string, pubkey: string): string | undefined {
    return this.#read(
      () => (this.#q.pubkeyOwner.get(realm, pubkey.toLowerCase()) as { authid: string } | undefined)?.authid,
    );
  }

  listGroups(realm: string): GroupRecord[] {
    return this.#read(() => {
      this.#requireRealm(realm);
      return (this.#q.groups.all(realm) as GroupRow[]).map((row) => this.#groupRecord(realm, row));
    });
  }

  getGroup(realm: string, name: string): GroupRecord | undefined {
    return this.#read(() => {
      const row = this.#q.group.get(realm, name) as GroupRow | undefined;
      return row === undefined ? undefined : this.#groupRecord(realm, row);
    });
  }

  /** The groups given and every group they are nested in, each once (breadth first). */
  groupClosure(realm: string, groups: readonly string[]): string[] {
    return this.#read(() => {
      const parents = new Map<string, string[]>();
      for (const { name, parent } of this.#q.allParents.all(realm) as { name: string; parent: string }[]) {
        let list = parents.get(name);
        if (list === undefined) parents.set(name, (list = []));
        list.push(parent);
      }
      const seen = new Set<string>();
      const queue = [...groups];
      while (queue.length > 0) {
        const g = queue.shift()!;
        if (seen.has(g)) continue;
        seen.add(g);
        queue.push(...(parents.get(g) ?? []));
      }
      return [...seen];
    });
  }

  listGrants(realm: string): GrantRecord[] {
    return this.#read(() => {
      this.#requireRealm(realm);
      return (this.#q.grants.all(realm) as GrantRow[]).map(grantRecord);
    });
  }

  getGrant(realm: string, id: number): GrantRecord | undefined {
    return this.#read(() => {
      const row = this.#q.grant.get(realm, id) as GrantRow | undefined;
      return row === undefined ? undefined : grantRecord(row);
    });
  }

  listSources(realm: string): SourceRecord[] {
    return this.#read(() => {
      this.#requireRealm(realm);
      return (this.#q.sources.all(realm) as SourceRow[]).map(sourceRecord);
    });
  }

  getSource(realm: string, id: number): SourceRecord | undefined {
    return this.#read(() => {
      const row = this.#q.source.get(realm, id) as SourceRow | undefined;
      return row === undefined ? undefined : sourceRecord(row);
    });
  }

  /** Per-database secret that keys the mock challenges for unknown users. */
  mockSecret(): Buffer {
    return this.#read(() => Buffer.from((this.#q.mockSecret.get() as { value: Uint8Array }).value));
  }

  // -------------------------------------------------------------------------------------------
  // Realms

  createRealm(input: unknown): RealmRecord {
    const r = parse(realmCreateSchema, input);
    const record: RealmRecord = { ...r };
    this.#write([{ kind: 'realm.created', realm: r.uri, record }], () => {
      if (this.#q.realm.get(r.uri) !== undefined) throw exists('uri', `realm '${r.uri}' exists already`);
      this.#insertRealm(record);
    });
    return record;
  }

  updateRealm(uri: string, patch: unknown): RealmRecord {
    const p = parse(realmUpdateSchema, patch);
    const current = this.#requireRealmRecord(uri);
    const record: RealmRecord = {
      uri,
      description: p.description ?? current.description,
      authmethods: p.authmethods ?? current.authmethods,
      security_enabled: p.security_enabled ?? current.security_enabled,
      allow_connections: p.allow_connections ?? current.allow_connections,
    };
    this.#write([{ kind: 'realm.updated', realm: uri, record }], () => {
      this.#requireRealm(uri);
      this.#q.updateRealm.run(
        record.description,
        JSON.stringify(record.authmethods),
        +record.security_enabled,
        +record.allow_connections,
        uri,
      );
    });
    return record;
  }

  deleteRealm(uri: string): void {
    if (this.protectedRealms.has(uri))
      throw new SecurityError(
        SecurityErrorUri.NOT_ALLOWED,
        'realm',
        `realm '${uri}' is protected (the admin realm) and cannot be deleted`,
      );
    this.#write([{ kind: 'realm.deleted', realm: uri }], () => {
      this.#requireRealm(uri);
      this.#q.deleteRealm.run(uri);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Users

  createUser(realm: string, input: unknown): UserView {
    const u = parse(userCreateSchema, input);
    const realmRecord = this.#requireRealmRecord(realm);
    const credentials = this.#derive(realmRecord, u, '') ?? {};
    const record: UserRecord = {
      authid: u.authid,
      groups: u.groups,
      pubkeys: u.pubkeys,
      meta: u.meta,
      credentials,
      ...(u.role !== undefined && { role: u.role }),
      ...(u.disabled === true && { disabled: true }),
    };
    this.#write([{ kind: 'user.created', realm, authid: u.authid }], () => {
      this.#requireRealm(realm);
      if (this.#q.user.get(realm, u.authid) !== undefined)
        throw exists('authid', `user '${u.authid}' exists already in realm '${realm}'`);
      this.#checkUser(realm, record, '');
      this.#insertUser(realm, record);
    });
    return userView(record);
  }

  updateUser(realm: string, authid: string, patch: unknown): UserView {
    const u: UserUpdate = parse(userUpdateSchema, patch);
    const realmRecord = this.#requireRealmRecord(realm);
    const current = this.userRecord(realm, authid);
    if (current === undefined) throw notFound('authid', `no user '${authid}' in realm '${realm}'`);
    const derived = this.#derive(realmRecord, u, '');
    const role = u.role === null ? undefined : (u.role ?? current.role);
    const record: UserRecord = {
      authid,
      groups: u.groups ?? current.groups,
      pubkeys: u.pubkeys ?? current.pubkeys,
      meta: u.meta ?? current.meta,
      // A new password replaces every password-derived credential: none keeps the old one.
      credentials: derived ?? current.credentials,
      ...(role !== undefined && { role }),
      ...((u.disabled ?? current.disabled) === true && { disabled: true }),
    };
    const why = revocationOf(current, record);
    const changes: SecurityChange[] = [{ kind: 'user.updated', realm, authid }];
    if (why !== undefined) changes.push({ kind: 'user.revoked', realm, authid, why });
    this.#write(changes, () => {
      if (this.#q.user.get(realm, authid) === undefined)
        throw notFound('authid', `no user '${authid}' in realm '${realm}'`);
      this.#checkUser(realm, record, '');
      this.#q.updateUser.run(
        record.role ?? null,
        JSON.stringify(record.meta),
        +(record.disabled === true),
        realm,
        authid,
      );
      this.#q.deleteUserGroups.run(realm, authid);
      this.#q.deletePubkeys.run(realm, authid);
      this.#q.deleteCredentials.run(realm, authid);
      this.#insertUserParts(realm, record);
    });
    return userView(record);
  }

  deleteUser(realm: string, authid: string): void {
    this.#write(
      [
        { kind: 'user.deleted', realm, authid },
        { kind: 'policy', realm },
      ],
      () => {
        this.#requireRealm(realm);
        if (this.#q.deleteUser.run(realm, authid).changes === 0)
          throw notFound('authid', `no user '${authid}' in realm '${realm}'`);
        this.#dropPrincipal(realm, `user:${authid}`);
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  createGroup(realm: string, input: unknown): GroupRecord {
    const g = parse(groupCreateSchema, input);
    const record: GroupRecord = { ...g };
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      if (this.#q.group.get(realm, g.name) !== undefined)
        throw exists('name', `group '${g.name}' exists already in realm '${realm}'`);
      this.#checkParents(realm, g.name, g.groups, 'groups');
      this.#insertGroup(realm, record);
    });
    return record;
  }

  updateGroup(realm: string, name: string, patch: unknown): GroupRecord {
    const g = parse(groupUpdateSchema, patch);
    let record: GroupRecord | undefined;
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      const row = this.#q.group.get(realm, name) as GroupRow | undefined;
      if (row === undefined) throw notFound('name', `no group '${name}' in realm '${realm}'`);
      const current = this.#groupRecord(realm, row);
      record = {
        name,
        description: g.description ?? current.description,
        groups: g.groups ?? current.groups,
        meta: g.meta ?? current.meta,
      };
      this.#checkParents(realm, name, record.groups, 'groups');
      this.#q.updateGroup.run(record.description, JSON.stringify(record.meta), realm, name);
      this.#q.deleteParents.run(realm, name);
      record.groups.forEach((parent, i) => this.#q.insertParent.run(realm, name, parent, i));
    });
    return record!;
  }

  deleteGroup(realm: string, name: string): void {
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      this.#q.clearRole.run(realm, name);
      // Foreign keys remove its memberships and nesting.
      if (this.#q.deleteGroup.run(realm, name).changes === 0)
        throw notFound('name', `no group '${name}' in realm '${realm}'`);
      this.#dropPrincipal(realm, `group:${name}`);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Grants and sources

  createGrant(realm: string, input: unknown): GrantRecord {
    const g = parse(grantCreateSchema, input);
    let record: GrantRecord | undefined;
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      this.#checkPrincipals(realm, g.to, 'to');
      record = this.#insertGrant(realm, g, 'id');
    });
    return record!;
  }

  deleteGrant(realm: string, id: number): void {
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      if (this.#q.deleteGrant.run(realm, id).changes === 0) throw notFound('id', `no grant ${id} in realm '${realm}'`);
    });
  }

  createSource(realm: string, input: unknown): SourceRecord {
    const s = parse(sourceCreateSchema, input);
    let record: SourceRecord | undefined;
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      this.#checkPrincipals(realm, s.to, 'to');
      record = this.#insertSource(realm, s, 'id');
    });
    return record!;
  }

  deleteSource(realm: string, id: number): void {
    this.#write([{ kind: 'policy', realm }], () => {
      this.#requireRealm(realm);
      if (this.#q.deleteSource.run(realm, id).changes === 0)
        throw notFound('id', `no source ${id} in realm '${realm}'`);
    });
  }

  // -------------------------------------------------------------------------------------------
  // HTTP API gateway specs (src/gateway/spec.ts): realm state, replicated like the rest.

  /** The specs of `realm`, or of every realm. */
  listApis(realm?: string): ApiSpec[] {
    return this.#read(() => {
      if (realm !== undefined) this.#requireRealm(realm);
      const rows = (realm === undefined ? this.#q.allApis.all() : this.#q.apis.all(realm)) as { spec: string }[];
      return rows.map((r) => JSON.parse(r.spec) as ApiSpec);
    });
  }

  getApi(realm: string, name: string): ApiSpec | undefined {
    return this.#read(() => {
      const row = this.#q.api.get(realm, name) as { spec: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.spec) as ApiSpec);
    });
  }

  /** Adds a spec; one by that name in its realm is replaced only with `replace`. */
  putApi(input: unknown, options: { replace?: boolean } = {}): ApiSpec {
    const spec = parseApiSpec(input);
    this.#write([{ kind: 'api', realm: spec.realm }], () => {
      this.#requireRealm(spec.realm);
      if (options.replace !== true && this.#q.api.get(spec.realm, spec.name) !== undefined)
        throw exists('name', `API '${spec.name}' exists in realm '${spec.realm}' (replace it with --replace)`);
      this.#q.putApi.run(spec.realm, spec.name, JSON.stringify(spec));
    });
    return spec;
  }

  deleteApi(realm: string, name: string): void {
    this.#write([{ kind: 'api', realm }], () => {
      this.#requireRealm(realm);
      if (this.#q.deleteApi.run(realm, name).changes === 0)
        throw notFound('name', `no API '${name}' in realm '${realm}'`);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Export and import

  /** The whole configuration. It holds password hashes and derived keys: keep it private. */
  exportDocument(): SecurityDocument {
    return this.#read(() => ({
      version: 1,
      realms: this.listRealms().map(
        (r): RealmDocument => ({
          ...r,
          groups: this.listGroups(r.uri),
          users: (this.#q.users.all(r.uri) as UserRow[]).map((row) => this.#userRecord(r.uri, row)),
          grants: this.listGrants(r.uri),
          sources: this.listSources(r.uri),
          ...this.#apisOf(r.uri),
        }),
      ),
    }));
  }

  /**
   * Replaces the whole configuration with `document`, in one transaction. Nothing changes
   * when any part is invalid; the error names the field ("realms[0].users[2].password").
   * Users may carry a clear `password` (derived here) or the `credentials` of an export.
   */
  importDocument(document: unknown): void {
    const doc = parseDocument(document, this.protectedRealms);
    // Derive before the transaction: hashing is slow, and nothing is written yet.
    const realms = doc.realms.map((r, i) => ({
      ...r,
      users: r.users.map(
        (u, j): UserRecord => ({
          authid: u.authid,
          groups: u.groups,
          pubkeys: u.pubkeys,
          meta: u.meta,
          credentials: this.#derive(r, u, `realms[${i}].users[${j}]`) ?? {},
          ...(u.role !== undefined && { role: u.role }),
          ...(u.disabled === true && { disabled: true }),
        }),
      ),
    }));
    // Replication applies remote changes through here too, so this is where they end sessions.
    const before = new Map(this.listRealms().map((r) => [r.uri, this.#loginState(r.uri)]));
    const changes: SecurityChange[] = [];
    for (const [uri, users] of before) {
      const after = realms.find((r) => r.uri === uri);
      if (after === undefined) {
        changes.push({ kind: 'realm.deleted', realm: uri });
        continue;
      }
      const kept = new Map(after.users.map((u) => [u.authid, u]));
      for (const user of users) {
        const next = kept.get(user.authid);
        const why = next === undefined ? undefined : revocationOf(user, next);
        if (next === undefined) changes.push({ kind: 'user.deleted', realm: uri, authid: user.authid });
        else if (why !== undefined) changes.push({ kind: 'user.revoked', realm: uri, authid: user.authid, why });
      }
    }
    for (const r of realms) {
      const record: RealmRecord = {
        uri: r.uri,
        description: r.description,
        authmethods: r.authmethods,
        security_enabled: r.security_enabled,
        allow_connections: r.allow_connections,
      };
      changes.push({ kind: before.has(r.uri) ? 'realm.updated' : 'realm.created', realm: r.uri, record });
      changes.push({ kind: 'policy', realm: r.uri });
      changes.push({ kind: 'api', realm: r.uri });
    }
    this.#write(changes, () => {
      this.#q.deleteAllRealms.run();
      realms.forEach((r, i) => {
        this.#insertRealm(r);
        // Groups first (all of them, then their nesting), so references resolve.
        for (const g of r.groups) this.#q.insertGroup.run(r.uri, g.name, g.description, JSON.stringify(g.meta));
        for (const g of r.groups) g.groups.forEach((parent, k) => this.#q.insertParent.run(r.uri, g.name, parent, k));
        for (const u of r.users) this.#insertUser(r.uri, u);
        r.grants.forEach((g, k) => this.#insertGrant(r.uri, g, `realms[${i}].grants[${k}].id`));
        r.sources.forEach((s, k) => this.#insertSource(r.uri, s, `realms[${i}].sources[${k}].id`));
        // Stored as checked (defaults filled in), so every node serves the same spec.
        for (const a of r.apis) {
          const spec = parseApiSpec(a);
          this.#q.putApi.run(r.uri, spec.name, JSON.stringify(spec));
        }
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SecurityError) throw err;
      throw translate(err, this.db.name);
    }
  }

  /**
   * Runs several writes as one transaction: all or nothing, and listeners hear of them only
   * after the commit. Writes made inside are savepoints of it.
   */
  batch<T>(fn: () => T): T {
    if (this.#queued !== undefined) return fn();
    const queued: SecurityChange[] = (this.#queued = []);
    let result: T;
    try {
      result = this.db.transaction(fn).immediate();
    } catch (err) {
      if (err instanceof SecurityError) throw err;
      throw translate(err, this.db.name);
    } finally {
      this.#queued = undefined;
    }
    this.#committed(queued);
    return result;
  }

  #write(changes: readonly SecurityChange[], fn: () => void): void {
    if (this.#queued !== undefined) {
      this.db.transaction(fn)();
      this.#queued.push(...changes);
      return;
    }
    try {
      this.db.transaction(fn).immediate();
    } catch (err) {
      if (err instanceof SecurityError) throw err;
      throw translate(err, this.db.name);
    }
    this.#committed(changes);
  }

  #committed(changes: readonly SecurityChange[]): void {
    this.#version++;
    for (const change of changes) {
      for (const listener of [...this.#listeners]) listener(change);
    }
  }

  #apisOf(realm: string): { apis?: Record<string, unknown>[] } {
    const rows = this.#q.apis.all(realm) as { spec: string }[];
    return rows.length === 0 ? {} : { apis: rows.map((r) => JSON.parse(r.spec) as Record<string, unknown>) };
  }

  #requireRealm(uri: string): void {
    if (this.#q.realm.get(uri) === undefined) throw notFound('realm', `no realm '${uri}'`);
  }

  #requireRealmRecord(uri: string): RealmRecord {
    const r = this.getRealm(uri);
    if (r === undefined) throw notFound('realm', `no realm '${uri}'`);
    return r;
  }

  #userRecord(realm: string, row: UserRow): UserRecord {
    const credentials: Record<string, unknown> = {};
    for (const c of this.#q.credentials.all(realm, row.authid) as { method: string; data: string }[])
      credentials[c.method] = JSON.parse(c.data);
    return {
      authid: row.authid,
      groups: (this.#q.userGroups.all(realm, row.authid) as { grp: string }[]).map((g) => g.grp),
      pubkeys: (this.#q.pubkeys.all(realm, row.authid) as { pubkey: string }[]).map((k) => k.pubkey),
      meta: JSON.parse(row.meta) as Dict,
      credentials: credentials as Credentials,
      ...(row.role !== null && { role: row.role }),
      ...(row.disabled === 1 && { disabled: true }),
    };
  }

  /** What decides whether each user's sessions survive a change: three queries per realm, not per user. */
  #loginState(realm: string): LoginState[] {
    const users = new Map<string, { authid: string; credentials: Dict; pubkeys: string[]; disabled?: boolean }>();
    for (const row of this.#q.users.all(realm) as UserRow[]) {
      users.set(row.authid, {
        authid: row.authid,
        credentials: {},
        pubkeys: [],
        ...(row.disabled === 1 && { disabled: true }),
      });
    }
    for (const c of this.#q.realmCredentials.all(realm) as { authid: string; method: string; data: string }[])
      users.get(c.authid)!.credentials[c.method] = JSON.parse(c.data);
    for (const k of this.#q.realmPubkeys.all(realm) as { authid: string; pubkey: string }[])
      users.get(k.authid)!.pubkeys.push(k.pubkey);
    return [...users.values()] as LoginState[];
  }

  #groupRecord(realm: string, row: GroupRow): GroupRecord {
    return {
      name: row.name,
      description: row.description,
      meta: JSON.parse(row.meta) as Dict,
      groups: (this.#q.parents.all(realm, row.name) as { parent: string }[]).map((p) => p.parent),
    };
  }

  /**
   * Credentials from a clear password (for `password_methods`, by default the password
   * methods the realm enables) or as given; undefined when the input names neither.
   */
  #derive(realm: Pick<RealmRecord, 'uri' | 'authmethods'>, u: Derivation, prefix: string): Credentials | undefined {
    if (u.credentials !== undefined) return u.credentials as Credentials;
    if (u.password === undefined) return undefined;
    const methods: readonly PasswordMethod[] =
      u.password_methods ??
      // The OAuth2 token endpoint checks passwords against the ticket hash.
      PASSWORD_METHODS.filter(
        (m) => realm.authmethods.includes(m) || (m === 'ticket' && realm.authmethods.includes('oauth2')),
      );
    if (methods.length === 0) {
      throw invalid(
        joinField(prefix, 'password_methods'),
        `realm '${realm.uri}' enables none of ${PASSWORD_METHODS.join(', ')}; name the methods to derive credentials for`,
      );
    }
    const h = this.hashing;
    let ticket: { hash: string } | undefined;
    let wampcra: WampcraCredential | undefined;
    let scram: ScramCredential | undefined;
    if (methods.includes('ticket')) ticket = { hash: hashTicket(u.password, h.ticket) };
    if (methods.includes('wampcra')) {
      wampcra = deriveWampcra(u.password, {
        iterations: u.wampcra?.iterations ?? h.wampcra.iterations,
        keylen: u.wampcra?.keylen ?? h.wampcra.keylen,
      });
    }
    if (methods.includes('wamp-scram')) {
      const kdf = u.scram?.kdf ?? h.scram.kdf;
      if (kdf === 'argon2id') {
        const iterations = u.scram?.iterations ?? h.scram.argon2.iterations;
        if (iterations > 64) throw invalid(joinField(prefix, 'scram.iterations'), 'expected at most 64 for argon2id');
        scram = deriveScram(u.password, kdf, { iterations, memory: u.scram?.memory ?? h.scram.argon2.memory });
      } else {
        if (u.scram?.memory !== undefined) throw invalid(joinField(prefix, 'scram.memory'), 'only for argon2id');
        const iterations = u.scram?.iterations ?? h.scram.pbkdf2Iterations;
        if (iterations < 4096)
          throw invalid(joinField(prefix, 'scram.iterations'), 'expected at least 4096 for pbkdf2 (RFC 7677)');
        scram = deriveScram(u.password, kdf, { iterations });
      }
    }
    return { ...(ticket && { ticket }), ...(wampcra && { wampcra }), ...(scram && { 'wamp-scram': scram }) };
  }

  #checkUser(realm: string, u: UserRecord, prefix: string): void {
    u.groups.forEach((g, i) => {
      if (this.#q.group.get(realm, g) === undefined)
        throw notFound(joinField(prefix, `groups[${i}]`), `no group '${g}' in realm '${realm}'`);
    });
    if (u.role !== undefined && !u.groups.includes(u.role))
      throw invalid(joinField(prefix, 'role'), `must be one of the user's groups (${u.groups.join(', ') || 'none'})`);
    u.pubkeys.forEach((k, i) => {
      const owner = (this.#q.pubkeyOwner.get(realm, k) as { authid: string } | undefined)?.authid;
      if (owner !== undefined && owner !== u.authid)
        throw exists(joinField(prefix, `pubkeys[${i}]`), `public key already belongs to user '${owner}'`);
    });
  }

  #checkParents(realm: string, name: string, parents: readonly string[], field: string): void {
    const graph = new Map<string, string[]>();
    for (const { name: n, parent } of this.#q.allParents.all(realm) as { name: string; parent: string }[]) {
      let list = graph.get(n);
      if (list === undefined) graph.set(n, (list = []));
      list.push(parent);
    }
    parents.forEach((p, i) => {
      if (p !== name && this.#q.group.get(realm, p) === undefined)
        throw notFound(`${field}[${i}]`, `no group '${p}' in realm '${realm}'`);
    });
    graph.set(name, [...parents]);
    const cycle = findCycle(graph, name);
    if (cycle !== undefined) throw invalid(field, `nesting would make a cycle: ${cycle.join(' -> ')}`);
  }

  #checkPrincipals(realm: string, principals: readonly Principal[], field: string): void {
    principals.forEach((p, i) => {
      if (p.startsWith('user:') && this.#q.user.get(realm, p.slice(5)) === undefined)
        throw notFound(`${field}[${i}]`, `no user '${p.slice(5)}' in realm '${realm}'`);
      if (p.startsWith('group:') && this.#q.group.get(realm, p.slice(6)) === undefined)
        throw notFound(`${field}[${i}]`, `no group '${p.slice(6)}' in realm '${realm}'`);
    });
  }

  /** Removes a deleted user or group from grants and sources; those left with no one go. */
  #dropPrincipal(realm: string, principal: Principal): void {
    for (const row of this.#q.grants.all(realm) as GrantRow[]) {
      const to = (JSON.parse(row.principals) as string[]).filter((p) => p !== principal);
      if (to.length === 0) this.#q.deleteGrant.run(realm, row.id);
      else this.#q.setGrantPrincipals.run(JSON.stringify(to), row.id);
    }
    for (const row of this.#q.sources.all(realm) as SourceRow[]) {
      const to = (JSON.parse(row.principals) as string[]).filter((p) => p !== principal);
      if (to.length === 0) this.#q.deleteSource.run(realm, row.id);
      else this.#q.setSourcePrincipals.run(JSON.stringify(to), row.id);
    }
  }

  #insertRealm(r: RealmRecord): void {
    this.#q.insertRealm.run(
      r.uri,
      r.description,
      JSON.stringify(r.authmethods),
      +r.security_enabled,
      +r.allow_connections,
    );
  }

  #insertUser(realm: string, u: UserRecord): void {
    this.#q.insertUser.run(realm, u.authid, u.role ?? null, JSON.stringify(u.meta), +(u.disabled === true));
    this.#insertUserParts(realm, u);
  }

  #insertUserParts(realm: string, u: UserRecord): void {
    u.groups.forEach((g, i) => this.#q.insertUserGroup.run(realm, u.authid, g, i));
    u.pubkeys.forEach((k, i) => this.#q.insertPubkey.run(realm, k, u.authid, i));
    for (const [method, data] of Object.entries(u.credentials)) {
      if (data !== undefined) this.#q.insertCredential.run(realm, u.authid, method, JSON.stringify(data));
    }
  }

  #insertGroup(realm: string, g: GroupRecord): void {
    this.#q.insertGroup.run(realm, g.name, g.description, JSON.stringify(g.meta));
    g.groups.forEach((parent, i) => this.#q.insertParent.run(realm, g.name, parent, i));
  }

  #insertGrant(realm: string, g: GrantCreate, idField: string): GrantRecord {
    if (g.id !== undefined && this.#q.grantById.get(g.id) !== undefined)
      throw exists(idField, `grant ${g.id} exists already`);
    const id = Number(
      this.#q.insertGrant.run(g.id ?? null, realm, JSON.stringify(g.permissions), g.uri, g.match, JSON.stringify(g.to))
        .lastInsertRowid,
    );
    if (id > MAX_RECORD_ID) throw idsExhausted(idField, 'grant'); // the transaction rolls back
    return { id, permissions: g.permissions, uri: g.uri, match: g.match, to: g.to };
  }

  #insertSource(realm: string, s: SourceCreate, idField: string): SourceRecord {
    if (s.id !== undefined && this.#q.sourceById.get(s.id) !== undefined)
      throw exists(idField, `source ${s.id} exists already`);
    const id = Number(
      this.#q.insertSource.run(
        s.id ?? null,
        realm,
        s.cidr,
        JSON.stringify(s.authmethods),
        JSON.stringify(s.to),
        s.description,
      ).lastInsertRowid,
    );
    if (id > MAX_RECORD_ID) throw idsExhausted(idField, 'source');
    return { id, cidr: s.cidr, authmethods: s.authmethods, to: s.to, description: s.description };
  }
}

/** SQLite would number a new grant or source past MAX_RECORD_ID (after one given near it). */
function idsExhausted(field: string, what: string): SecurityError {
  return invalid(
    field,
    `no ${what} id is left after the largest one used (at most ${MAX_RECORD_ID}); give an unused id explicitly`,
  );
}

function realmRecord(row: RealmRow): RealmRecord {
  return {
    uri: row.uri,
    description: row.description,
    authmethods: JSON.parse(row.authmethods) as AuthMethod[],
    security_enabled: row.security_enabled === 1,
    allow_connections: row.allow_connections === 1,
  };
}

function grantRecord(row: GrantRow): GrantRecord {
  return {
    id: row.id,
    permissions: JSON.parse(row.permissions) as Action[],
    uri: row.uri,
    match: row.match as MatchPolicy,
    to: JSON.parse(row.principals) as Principal[],
  };
}

function sourceRecord(row: SourceRow): SourceRecord {
  return {
    id: row.id,
    cidr: row.cidr,
    authmethods: JSON.parse(row.authmethods) as AuthMethod[],
    to: JSON.parse(row.principals) as Principal[],
    description: row.description,
  };
}

export function userView(u: UserRecord): UserView {
  const authmethods = AUTH_METHODS.filter((m) =>
    m === 'cryptosign' ? u.pubkeys.length > 0 : u.credentials[m as keyof Credentials] !== undefined,
  );
  return {
    authid: u.authid,
    groups: u.groups,
    authrole: authroleOf(u),
    pubkeys: u.pubkeys,
    meta: u.meta,
    authmethods,
    ...(u.role !== undefined && { role: u.role }),
    ...(u.disabled === true && { disabled: true }),
  };
}
