// Groups of a realm and their nesting (a group lists the groups it is nested in; no cycles).
// Deleting a group removes it from users, from groups nested in it (foreign keys) and from the
// principals of grants and sources; a user's `role` naming it is cleared.

import { findCycle } from './document.ts';
import { exists, invalid, notFound } from './errors.ts';
import { dropPrincipal } from './grants.ts';
import { requireRealm } from './realms.ts';
import type { Dict, GroupRecord } from './records.ts';
import { groupCreateSchema, groupUpdateSchema, parse } from './schemas.ts';
import type { Statements, StoreContext } from './tables.ts';

interface GroupRow {
  name: string;
  description: string;
  meta: string;
}

export function listGroups(s: StoreContext, realm: string): GroupRecord[] {
  return s.tx.read(() => {
    requireRealm(s.q, realm);
    return (s.q.groups.all(realm) as GroupRow[]).map((row) => groupRecord(s.q, realm, row));
  });
}

export function getGroup(s: StoreContext, realm: string, name: string): GroupRecord | undefined {
  return s.tx.read(() => {
    const row = s.q.group.get(realm, name) as GroupRow | undefined;
    return row === undefined ? undefined : groupRecord(s.q, realm, row);
  });
}

/** The groups given and every group they are nested in, each once (breadth first). */
export function groupClosure(s: StoreContext, realm: string, groups: readonly string[]): string[] {
  return s.tx.read(() => {
    const parents = parentGraph(s.q, realm);
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

export function createGroup(s: StoreContext, realm: string, input: unknown): GroupRecord {
  const g = parse(groupCreateSchema(), input);
  const record: GroupRecord = { ...g };
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    if (s.q.group.get(realm, g.name) !== undefined)
      throw exists('name', `group '${g.name}' exists already in realm '${realm}'`);
    checkParents(s.q, realm, g.name, g.groups, 'groups');
    insertGroup(s.q, realm, record);
  });
  return record;
}

export function updateGroup(s: StoreContext, realm: string, name: string, patch: unknown): GroupRecord {
  const g = parse(groupUpdateSchema(), patch);
  let record: GroupRecord | undefined;
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    const row = s.q.group.get(realm, name) as GroupRow | undefined;
    if (row === undefined) throw notFound('name', `no group '${name}' in realm '${realm}'`);
    const current = groupRecord(s.q, realm, row);
    record = {
      name,
      description: g.description ?? current.description,
      groups: g.groups ?? current.groups,
      meta: g.meta ?? current.meta,
    };
    checkParents(s.q, realm, name, record.groups, 'groups');
    s.q.updateGroup.run(record.description, JSON.stringify(record.meta), realm, name);
    s.q.deleteParents.run(realm, name);
    record.groups.forEach((parent, i) => s.q.insertParent.run(realm, name, parent, i));
  });
  return record!;
}

export function deleteGroup(s: StoreContext, realm: string, name: string): void {
  s.tx.write([{ kind: 'policy', realm }], () => {
    requireRealm(s.q, realm);
    s.q.clearRole.run(realm, name);
    // Foreign keys remove its memberships and nesting.
    if (s.q.deleteGroup.run(realm, name).changes === 0)
      throw notFound('name', `no group '${name}' in realm '${realm}'`);
    dropPrincipal(s.q, realm, `group:${name}`);
  });
}

export function insertGroup(q: Statements, realm: string, g: GroupRecord): void {
  q.insertGroup.run(realm, g.name, g.description, JSON.stringify(g.meta));
  g.groups.forEach((parent, i) => q.insertParent.run(realm, g.name, parent, i));
}

/** Each group of the realm to the groups it is nested in. */
function parentGraph(q: Statements, realm: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const { name, parent } of q.allParents.all(realm) as { name: string; parent: string }[]) {
    let list = graph.get(name);
    if (list === undefined) graph.set(name, (list = []));
    list.push(parent);
  }
  return graph;
}

/** `name` nested in `parents`: each must exist (or be `name`, which then makes a cycle), and no cycle. */
function checkParents(q: Statements, realm: string, name: string, parents: readonly string[], field: string): void {
  const graph = parentGraph(q, realm);
  parents.forEach((p, i) => {
    if (p !== name && q.group.get(realm, p) === undefined)
      throw notFound(`${field}[${i}]`, `no group '${p}' in realm '${realm}'`);
  });
  graph.set(name, [...parents]);
  const cycle = findCycle(graph, name);
  if (cycle !== undefined) throw invalid(field, `nesting would make a cycle: ${cycle.join(' -> ')}`);
}

function groupRecord(q: Statements, realm: string, row: GroupRow): GroupRecord {
  return {
    name: row.name,
    description: row.description,
    meta: JSON.parse(row.meta) as Dict,
    groups: (q.parents.all(realm, row.name) as { parent: string }[]).map((p) => p.parent),
  };
}
