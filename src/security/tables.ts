// The SQL of the security tables (migrations 2 and 4 in src/store/migrations.ts), prepared once
// per store, and what the store's parts share: the statements, its transactions and settings.
// Rows become records in the module of their concept (realms.ts, users.ts, groups.ts, grants.ts).

import type { Db } from '../store/database.ts';
import type { HashingParams } from './hash.ts';
import type { Transactions } from './transactions.ts';

export type Statements = ReturnType<typeof prepareStatements>;

export interface StoreContext {
  readonly q: Statements;
  readonly tx: Transactions;
  /** Cost parameters for new hashes. */
  readonly hashing: HashingParams;
  /** Realms that cannot be deleted, nor left out of an import. */
  readonly protectedRealms: ReadonlySet<string>;
}

export function prepareStatements(db: Db) {
  const p = (sql: string) => db.prepare(sql);
  return {
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
    source: p('SELECT id, cidr, authmethods, principals, description FROM security_source WHERE realm = ? AND id = ?'),
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
