// Users of a realm: their groups and role, cryptosign public keys (each with one owner in the
// realm) and credentials. A change that must end the user's sessions is announced with it
// ('user.revoked', see revocation.ts); deleting a user takes "user:<authid>" out of grants and sources.

import { deriveCredentials } from './credentials.ts';
import { exists, invalid, joinField, notFound } from './errors.ts';
import { dropPrincipal } from './grants.ts';
import { requireRealm, requireRealmRecord } from './realms.ts';
import { AUTH_METHODS, authroleOf, type Credentials, type Dict, type UserRecord, type UserView } from './records.ts';
import { revocationOf } from './revocation.ts';
import { parse, userCreateSchema, userUpdateSchema, type UserUpdate } from './schemas.ts';
import type { Statements, StoreContext } from './tables.ts';
import type { SecurityChange } from './transactions.ts';

interface UserRow {
  authid: string;
  role: string | null;
  meta: string;
  disabled: number;
}

/** What decides whether a user's sessions survive a change (see revocation.ts). */
export type LoginState = Pick<UserRecord, 'authid' | 'credentials' | 'pubkeys' | 'disabled'>;

export function listUsers(s: StoreContext, realm: string): UserView[] {
  return s.tx.read(() => {
    requireRealm(s.q, realm);
    return (s.q.users.all(realm) as UserRow[]).map((row) => userView(userRecordOf(s.q, realm, row)));
  });
}

/** The user with its credentials (hashes and derived keys): for the authenticator only. */
export function userRecord(s: StoreContext, realm: string, authid: string): UserRecord | undefined {
  return s.tx.read(() => {
    const row = s.q.user.get(realm, authid) as UserRow | undefined;
    return row === undefined ? undefined : userRecordOf(s.q, realm, row);
  });
}

/** Every user of the realm with its credentials, for the export. */
export function userRecords(q: Statements, realm: string): UserRecord[] {
  return (q.users.all(realm) as UserRow[]).map((row) => userRecordOf(q, realm, row));
}

/** The authid a cryptosign public key (hex, lower case) belongs to. */
export function userByPubkey(s: StoreContext, realm: string, pubkey: string): string | undefined {
  return s.tx.read(() => (s.q.pubkeyOwner.get(realm, pubkey.toLowerCase()) as { authid: string } | undefined)?.authid);
}

export function createUser(s: StoreContext, realm: string, input: unknown): UserView {
  const u = parse(userCreateSchema(), input);
  const realmRecord = requireRealmRecord(s, realm);
  const credentials = deriveCredentials(s.hashing, realmRecord, u, '') ?? {};
  const record: UserRecord = {
    authid: u.authid,
    groups: u.groups,
    pubkeys: u.pubkeys,
    meta: u.meta,
    credentials,
    ...(u.role !== undefined && { role: u.role }),
    ...(u.disabled === true && { disabled: true }),
  };
  s.tx.write([{ kind: 'user.created', realm, authid: u.authid }], () => {
    requireRealm(s.q, realm);
    if (s.q.user.get(realm, u.authid) !== undefined)
      throw exists('authid', `user '${u.authid}' exists already in realm '${realm}'`);
    checkUser(s.q, realm, record, '');
    insertUser(s.q, realm, record);
  });
  return userView(record);
}

export function updateUser(s: StoreContext, realm: string, authid: string, patch: unknown): UserView {
  const u: UserUpdate = parse(userUpdateSchema(), patch);
  const realmRecord = requireRealmRecord(s, realm);
  const current = userRecord(s, realm, authid);
  if (current === undefined) throw notFound('authid', `no user '${authid}' in realm '${realm}'`);
  const derived = deriveCredentials(s.hashing, realmRecord, u, '');
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
  s.tx.write(changes, () => {
    if (s.q.user.get(realm, authid) === undefined) throw notFound('authid', `no user '${authid}' in realm '${realm}'`);
    checkUser(s.q, realm, record, '');
    s.q.updateUser.run(record.role ?? null, JSON.stringify(record.meta), +(record.disabled === true), realm, authid);
    s.q.deleteUserGroups.run(realm, authid);
    s.q.deletePubkeys.run(realm, authid);
    s.q.deleteCredentials.run(realm, authid);
    insertUserParts(s.q, realm, record);
  });
  return userView(record);
}

export function deleteUser(s: StoreContext, realm: string, authid: string): void {
  s.tx.write(
    [
      { kind: 'user.deleted', realm, authid },
      { kind: 'policy', realm },
    ],
    () => {
      requireRealm(s.q, realm);
      if (s.q.deleteUser.run(realm, authid).changes === 0)
        throw notFound('authid', `no user '${authid}' in realm '${realm}'`);
      dropPrincipal(s.q, realm, `user:${authid}`);
    },
  );
}

export function insertUser(q: Statements, realm: string, u: UserRecord): void {
  q.insertUser.run(realm, u.authid, u.role ?? null, JSON.stringify(u.meta), +(u.disabled === true));
  insertUserParts(q, realm, u);
}

/** Each user's login state in the realm: three queries per realm, not per user. */
export function loginStates(q: Statements, realm: string): LoginState[] {
  const users = new Map<string, { authid: string; credentials: Dict; pubkeys: string[]; disabled?: boolean }>();
  for (const row of q.users.all(realm) as UserRow[]) {
    users.set(row.authid, {
      authid: row.authid,
      credentials: {},
      pubkeys: [],
      ...(row.disabled === 1 && { disabled: true }),
    });
  }
  for (const c of q.realmCredentials.all(realm) as { authid: string; method: string; data: string }[])
    users.get(c.authid)!.credentials[c.method] = JSON.parse(c.data);
  for (const k of q.realmPubkeys.all(realm) as { authid: string; pubkey: string }[])
    users.get(k.authid)!.pubkeys.push(k.pubkey);
  return [...users.values()] as LoginState[];
}

/** A user as the admin API shows it: no credentials, only the methods they enable. */
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

function checkUser(q: Statements, realm: string, u: UserRecord, prefix: string): void {
  u.groups.forEach((g, i) => {
    if (q.group.get(realm, g) === undefined)
      throw notFound(joinField(prefix, `groups[${i}]`), `no group '${g}' in realm '${realm}'`);
  });
  if (u.role !== undefined && !u.groups.includes(u.role))
    throw invalid(joinField(prefix, 'role'), `must be one of the user's groups (${u.groups.join(', ') || 'none'})`);
  u.pubkeys.forEach((k, i) => {
    const owner = (q.pubkeyOwner.get(realm, k) as { authid: string } | undefined)?.authid;
    if (owner !== undefined && owner !== u.authid)
      throw exists(joinField(prefix, `pubkeys[${i}]`), `public key already belongs to user '${owner}'`);
  });
}

function insertUserParts(q: Statements, realm: string, u: UserRecord): void {
  u.groups.forEach((g, i) => q.insertUserGroup.run(realm, u.authid, g, i));
  u.pubkeys.forEach((k, i) => q.insertPubkey.run(realm, k, u.authid, i));
  for (const [method, data] of Object.entries(u.credentials)) {
    if (data !== undefined) q.insertCredential.run(realm, u.authid, method, JSON.stringify(data));
  }
}

function userRecordOf(q: Statements, realm: string, row: UserRow): UserRecord {
  const credentials: Record<string, unknown> = {};
  for (const c of q.credentials.all(realm, row.authid) as { method: string; data: string }[])
    credentials[c.method] = JSON.parse(c.data);
  return {
    authid: row.authid,
    groups: (q.userGroups.all(realm, row.authid) as { grp: string }[]).map((g) => g.grp),
    pubkeys: (q.pubkeys.all(realm, row.authid) as { pubkey: string }[]).map((k) => k.pubkey),
    meta: JSON.parse(row.meta) as Dict,
    credentials: credentials as Credentials,
    ...(row.role !== null && { role: row.role }),
    ...(row.disabled === 1 && { disabled: true }),
  };
}
