// The security configuration as independent records, the unit of replication: one record
// per realm, group, user, grant and source. Grants and sources have node-local numeric IDs,
// so their key is a hash of their content instead: the same grant made on two nodes is one record.

import crypto from 'node:crypto';
import type {
  GrantRecord,
  GroupRecord,
  RealmDocument,
  RealmRecord,
  SecurityDocument,
  SourceRecord,
  UserRecord,
} from '../../security/records.ts';

export type RecordValue = Record<string, unknown>;

/** JSON with the keys of every object sorted: the same value gives the same text on every node. */
export const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

export const hashValue = (v: unknown): string =>
  crypto.createHash('sha256').update(canonical(v)).digest('base64url').slice(0, 22);

export function toRecords(doc: SecurityDocument): Map<string, RecordValue> {
  const out = new Map<string, RecordValue>();
  for (const r of doc.realms) {
    const { groups, users, grants, sources, apis, ...realm } = r;
    out.set(`realm|${r.uri}`, realm as unknown as RecordValue);
    for (const g of groups) out.set(`group|${r.uri}|${g.name}`, g as unknown as RecordValue);
    for (const u of users) out.set(`user|${r.uri}|${u.authid}`, u as unknown as RecordValue);
    for (const { id: _id, ...g } of grants) out.set(`grant|${r.uri}|${hashValue(g)}`, g);
    for (const { id: _id, ...s } of sources) out.set(`source|${r.uri}|${hashValue(s)}`, s);
    for (const a of apis ?? []) out.set(`api|${r.uri}|${String(a.name)}`, a);
  }
  return out;
}

/**
 * Rebuilds a document from records. Concurrent edits on different nodes can leave references
 * dangling (a user added to a group another node deleted): those references are dropped, so
 * every node derives the same valid document from the same records.
 */
export function fromRecords(records: ReadonlyMap<string, RecordValue>): SecurityDocument {
  const byUri = new Map<
    string,
    {
      realm: RealmRecord;
      groups: GroupRecord[];
      users: UserRecord[];
      grants: Omit<GrantRecord, 'id'>[];
      sources: Omit<SourceRecord, 'id'>[];
      apis: Record<string, unknown>[];
    }
  >();
  for (const [key, value] of records) {
    if (key.startsWith('realm|'))
      byUri.set(value.uri as string, {
        realm: value as unknown as RealmRecord,
        groups: [],
        users: [],
        grants: [],
        sources: [],
        apis: [],
      });
  }
  for (const [key, value] of [...records].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [kind, uri] = key.split('|') as [string, string];
    const r = byUri.get(uri);
    if (r === undefined || kind === 'realm') continue;
    if (kind === 'group') r.groups.push(value as unknown as GroupRecord);
    else if (kind === 'user') r.users.push(value as unknown as UserRecord);
    else if (kind === 'grant') r.grants.push(value as unknown as Omit<GrantRecord, 'id'>);
    else if (kind === 'source') r.sources.push(value as unknown as Omit<SourceRecord, 'id'>);
    else if (kind === 'api') r.apis.push(value);
  }
  const docs: RealmDocument[] = [];
  for (const { realm, groups, users, grants, sources, apis } of byUri.values()) {
    const groupNames = new Set(groups.map((g) => g.name));
    const authids = new Set(users.map((u) => u.authid));
    const known = (p: string) =>
      p === 'all' ||
      p === 'anonymous' ||
      (p.startsWith('group:') && groupNames.has(p.slice(6))) ||
      (p.startsWith('user:') && authids.has(p.slice(5)));
    const fixedUsers = users.map((u) => {
      const userGroups = u.groups.filter((g) => groupNames.has(g));
      const { role, ...rest } = u;
      return {
        ...rest,
        groups: userGroups,
        ...(role !== undefined && userGroups.includes(role) && { role }),
      } as UserRecord;
    });
    const fixedGroups = groups.map((g) => ({ ...g, groups: g.groups.filter((p) => groupNames.has(p)) }));
    const fix = <T extends { to: readonly string[] }>(list: T[]) =>
      list.map((x) => ({ ...x, to: x.to.filter(known) })).filter((x) => x.to.length > 0);
    docs.push({
      ...realm,
      groups: fixedGroups,
      users: fixedUsers,
      grants: fix(grants) as unknown as GrantRecord[],
      sources: fix(sources) as unknown as SourceRecord[],
      ...(apis.length > 0 && { apis }),
    });
  }
  return { version: 1, realms: docs.sort((a, b) => (a.uri < b.uri ? -1 : 1)) };
}
