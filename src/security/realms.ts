// Realms in the security store. Deleting a realm deletes everything in it (foreign keys); the
// protected realms (the admin realm) cannot be deleted.

import { exists, notFound, SecurityError, SecurityErrorUri } from './errors.ts';
import type { AuthMethod, RealmRecord } from './records.ts';
import { parse, realmCreateSchema, realmUpdateSchema } from './schemas.ts';
import type { Statements, StoreContext } from './tables.ts';

interface RealmRow {
  uri: string;
  description: string;
  authmethods: string;
  security_enabled: number;
  allow_connections: number;
}

export function listRealms(s: StoreContext): RealmRecord[] {
  return s.tx.read(() => (s.q.realms.all() as RealmRow[]).map(realmRecord));
}

export function getRealm(s: StoreContext, uri: string): RealmRecord | undefined {
  return s.tx.read(() => {
    const row = s.q.realm.get(uri) as RealmRow | undefined;
    return row === undefined ? undefined : realmRecord(row);
  });
}

export function createRealm(s: StoreContext, input: unknown): RealmRecord {
  const r = parse(realmCreateSchema(), input);
  const record: RealmRecord = { ...r };
  s.tx.write([{ kind: 'realm.created', realm: r.uri, record }], () => {
    if (s.q.realm.get(r.uri) !== undefined) throw exists('uri', `realm '${r.uri}' exists already`);
    insertRealm(s.q, record);
  });
  return record;
}

export function updateRealm(s: StoreContext, uri: string, patch: unknown): RealmRecord {
  const p = parse(realmUpdateSchema(), patch);
  const current = requireRealmRecord(s, uri);
  const record: RealmRecord = {
    uri,
    description: p.description ?? current.description,
    authmethods: p.authmethods ?? current.authmethods,
    security_enabled: p.security_enabled ?? current.security_enabled,
    allow_connections: p.allow_connections ?? current.allow_connections,
  };
  s.tx.write([{ kind: 'realm.updated', realm: uri, record }], () => {
    requireRealm(s.q, uri);
    s.q.updateRealm.run(
      record.description,
      JSON.stringify(record.authmethods),
      +record.security_enabled,
      +record.allow_connections,
      uri,
    );
  });
  return record;
}

export function deleteRealm(s: StoreContext, uri: string): void {
  if (s.protectedRealms.has(uri))
    throw new SecurityError(
      SecurityErrorUri.NOT_ALLOWED,
      'realm',
      `realm '${uri}' is protected (the admin realm) and cannot be deleted`,
    );
  s.tx.write([{ kind: 'realm.deleted', realm: uri }], () => {
    requireRealm(s.q, uri);
    s.q.deleteRealm.run(uri);
  });
}

/** Inside a read or write: the realm must exist. */
export function requireRealm(q: Statements, uri: string): void {
  if (q.realm.get(uri) === undefined) throw notFound('realm', `no realm '${uri}'`);
}

export function requireRealmRecord(s: StoreContext, uri: string): RealmRecord {
  const r = getRealm(s, uri);
  if (r === undefined) throw notFound('realm', `no realm '${uri}'`);
  return r;
}

export function insertRealm(q: Statements, r: RealmRecord): void {
  q.insertRealm.run(r.uri, r.description, JSON.stringify(r.authmethods), +r.security_enabled, +r.allow_connections);
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
