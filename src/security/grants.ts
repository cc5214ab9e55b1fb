// Grants (who may do what on which URIs) and sources (who may log in from where, and how):
// the records of a realm that name principals ("user:<authid>", "group:<name>", "all",
// "anonymous"). Deleting a user or group takes it out of them; one left naming no one is deleted.

import type { Action } from '../router/auth.ts';
import type { MatchPolicy } from '../router/uri-table.ts';
import { exists, invalid, notFound, type SecurityError } from './errors.ts';
import { requireRealm } from './realms.ts';
import type { AuthMethod, GrantRecord, Principal, SourceRecord } from './records.ts';
import {
  grantCreateSchema,
  MAX_RECORD_ID,
  parse,
  sourceCreateSchema,
  type GrantCreate,
  type SourceCreate,
} from './schemas.ts';
import type { Statements, StoreContext } from './tables.ts';

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

export function listGrants(s: StoreContext, realm: string): GrantRecord[] {
  return s.tx.read(() => {
    requireRealm(s.q, realm);
    return (s.q.grants.all(realm) as GrantRow[]).map(grantRecord);
  });
}

export function getGrant(s: StoreContext, realm: string, id: number): GrantRecord | undefined {
  return s.tx.read(() => {
    const row = s.q.grant.get(realm, id) as GrantRow | undefined;
    return row === undefined ? undefined : grantRecord(row);
  });
}

export function createGrant(s: StoreContext, realm: string, input: unknown): GrantRecord {
  const g = parse(grantCreateSchema(), input);
  let record: GrantRecord | undefined;
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    checkPrincipals(s.q, realm, g.to, 'to');
    record = insertGrant(s.q, realm, g, 'id');
  });
  return record!;
}

export function deleteGrant(s: StoreContext, realm: string, id: number): void {
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    if (s.q.deleteGrant.run(realm, id).changes === 0) throw notFound('id', `no grant ${id} in realm '${realm}'`);
  });
}

export function listSources(s: StoreContext, realm: string): SourceRecord[] {
  return s.tx.read(() => {
    requireRealm(s.q, realm);
    return (s.q.sources.all(realm) as SourceRow[]).map(sourceRecord);
  });
}

export function getSource(s: StoreContext, realm: string, id: number): SourceRecord | undefined {
  return s.tx.read(() => {
    const row = s.q.source.get(realm, id) as SourceRow | undefined;
    return row === undefined ? undefined : sourceRecord(row);
  });
}

export function createSource(s: StoreContext, realm: string, input: unknown): SourceRecord {
  const src = parse(sourceCreateSchema(), input);
  let record: SourceRecord | undefined;
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    checkPrincipals(s.q, realm, src.to, 'to');
    record = insertSource(s.q, realm, src, 'id');
  });
  return record!;
}

export function deleteSource(s: StoreContext, realm: string, id: number): void {
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    if (s.q.deleteSource.run(realm, id).changes === 0) throw notFound('id', `no source ${id} in realm '${realm}'`);
  });
}

/** Removes a deleted user or group from grants and sources; those left with no one go. */
export function dropPrincipal(q: Statements, realm: string, principal: Principal): void {
  for (const row of q.grants.all(realm) as GrantRow[]) {
    const to = (JSON.parse(row.principals) as string[]).filter((p) => p !== principal);
    if (to.length === 0) q.deleteGrant.run(realm, row.id);
    else q.setGrantPrincipals.run(JSON.stringify(to), row.id);
  }
  for (const row of q.sources.all(realm) as SourceRow[]) {
    const to = (JSON.parse(row.principals) as string[]).filter((p) => p !== principal);
    if (to.length === 0) q.deleteSource.run(realm, row.id);
    else q.setSourcePrincipals.run(JSON.stringify(to), row.id);
  }
}

/** Inserts a grant, numbered `g.id` or the next free id; `idField` names the id in errors. */
export function insertGrant(q: Statements, realm: string, g: GrantCreate, idField: string): GrantRecord {
  if (g.id !== undefined && q.grantById.get(g.id) !== undefined) throw exists(idField, `grant ${g.id} exists already`);
  const id = Number(
    q.insertGrant.run(g.id ?? null, realm, JSON.stringify(g.permissions), g.uri, g.match, JSON.stringify(g.to))
      .lastInsertRowid,
  );
  if (id > MAX_RECORD_ID) throw idsExhausted(idField, 'grant'); // the transaction rolls back
  return { id, permissions: g.permissions, uri: g.uri, match: g.match, to: g.to };
}

export function insertSource(q: Statements, realm: string, s: SourceCreate, idField: string): SourceRecord {
  if (s.id !== undefined && q.sourceById.get(s.id) !== undefined)
    throw exists(idField, `source ${s.id} exists already`);
  const id = Number(
    q.insertSource.run(s.id ?? null, realm, s.cidr, JSON.stringify(s.authmethods), JSON.stringify(s.to), s.description)
      .lastInsertRowid,
  );
  if (id > MAX_RECORD_ID) throw idsExhausted(idField, 'source');
  return { id, cidr: s.cidr, authmethods: s.authmethods, to: s.to, description: s.description };
}

function checkPrincipals(q: Statements, realm: string, principals: readonly Principal[], field: string): void {
  principals.forEach((p, i) => {
    if (p.startsWith('user:') && q.user.get(realm, p.slice(5)) === undefined)
      throw notFound(`${field}[${i}]`, `no user '${p.slice(5)}' in realm '${realm}'`);
    if (p.startsWith('group:') && q.group.get(realm, p.slice(6)) === undefined)
      throw notFound(`${field}[${i}]`, `no group '${p.slice(6)}' in realm '${realm}'`);
  });
}

/** SQLite would number a new grant or source past MAX_RECORD_ID (after one given near it). */
function idsExhausted(field: string, what: string): SecurityError {
  return invalid(
    field,
    `no ${what} id is left after the largest one used (at most ${MAX_RECORD_ID}); give an unused id explicitly`,
  );
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
