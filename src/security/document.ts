// An imported security document (the whole configuration, as wampmesh.security.export gives
// it; shapes in records.ts, schemas in schemas.ts), checked beyond its shape: names and ids unique,
// references resolving within the document, group nesting without a cycle, each public key with
// one owner, the protected realms kept. All of it is checked before anything is derived or
// written, so a rejected import changes nothing and the error names the field. The export, the
// import's transaction and the changes it announces are in transfer.ts: they need the database.

import { exists, invalid, notFound, SecurityError, SecurityErrorUri } from './errors.ts';
import { documentSchema, parse, type DocumentInput } from './schemas.ts';
import { parseApiSpec } from '../gateway/spec.ts';

/** An imported document, parsed and checked: a SecurityError names the field of the first problem. */
export function parseDocument(input: unknown, protectedRealms: ReadonlySet<string>): DocumentInput {
  const doc = parse(documentSchema(), input);
  validateDocument(doc, protectedRealms);
  return doc;
}

/** Everything an import must satisfy beyond its shape, with the field of the first problem. */
function validateDocument(doc: DocumentInput, protectedRealms: ReadonlySet<string>): void {
  const realmUris = new Set<string>();
  const grantIds = new Set<number>();
  const sourceIds = new Set<number>();
  doc.realms.forEach((r, i) => {
    const at = (field: string) => `realms[${i}].${field}`;
    if (realmUris.has(r.uri)) throw exists(at('uri'), `duplicate realm '${r.uri}'`);
    realmUris.add(r.uri);
    const groups = new Map<string, readonly string[]>();
    r.groups.forEach((g, j) => {
      if (groups.has(g.name)) throw exists(at(`groups[${j}].name`), `duplicate group '${g.name}'`);
      groups.set(g.name, g.groups);
    });
    r.groups.forEach((g, j) => {
      g.groups.forEach((p, k) => {
        if (!groups.has(p)) throw notFound(at(`groups[${j}].groups[${k}]`), `no group '${p}' in realm '${r.uri}'`);
      });
      const cycle = findCycle(groups, g.name);
      if (cycle !== undefined) throw invalid(at(`groups[${j}].groups`), `nesting makes a cycle: ${cycle.join(' -> ')}`);
    });
    const apis = new Set<string>();
    r.apis.forEach((a, j) => {
      const spec = parseApiSpec(a, at(`apis[${j}]`));
      if (spec.realm !== r.uri) throw invalid(at(`apis[${j}].realm`), `must be the realm it is in ('${r.uri}')`);
      if (apis.has(spec.name)) throw exists(at(`apis[${j}].name`), `duplicate API '${spec.name}'`);
      apis.add(spec.name);
    });
    const users = new Set<string>();
    const pubkeys = new Map<string, string>();
    r.users.forEach((u, j) => {
      if (users.has(u.authid)) throw exists(at(`users[${j}].authid`), `duplicate user '${u.authid}'`);
      users.add(u.authid);
      u.groups.forEach((g, k) => {
        if (!groups.has(g)) throw notFound(at(`users[${j}].groups[${k}]`), `no group '${g}' in realm '${r.uri}'`);
      });
      if (u.role !== undefined && !u.groups.includes(u.role))
        throw invalid(at(`users[${j}].role`), `must be one of the user's groups (${u.groups.join(', ') || 'none'})`);
      u.pubkeys.forEach((k, n) => {
        const owner = pubkeys.get(k);
        if (owner !== undefined)
          throw exists(at(`users[${j}].pubkeys[${n}]`), `public key already belongs to user '${owner}'`);
        pubkeys.set(k, u.authid);
      });
    });
    const checkPrincipals = (list: readonly string[], field: string) =>
      list.forEach((p, k) => {
        if (p.startsWith('user:') && !users.has(p.slice(5)))
          throw notFound(at(`${field}[${k}]`), `no user '${p.slice(5)}' in realm '${r.uri}'`);
        if (p.startsWith('group:') && !groups.has(p.slice(6)))
          throw notFound(at(`${field}[${k}]`), `no group '${p.slice(6)}' in realm '${r.uri}'`);
      });
    r.grants.forEach((g, j) => {
      if (g.id !== undefined) {
        if (grantIds.has(g.id)) throw exists(at(`grants[${j}].id`), `duplicate grant id ${g.id}`);
        grantIds.add(g.id);
      }
      checkPrincipals(g.to, `grants[${j}].to`);
    });
    r.sources.forEach((s, j) => {
      if (s.id !== undefined) {
        if (sourceIds.has(s.id)) throw exists(at(`sources[${j}].id`), `duplicate source id ${s.id}`);
        sourceIds.add(s.id);
      }
      checkPrincipals(s.to, `sources[${j}].to`);
    });
  });
  for (const uri of protectedRealms) {
    if (!realmUris.has(uri))
      throw new SecurityError(
        SecurityErrorUri.NOT_ALLOWED,
        'realms',
        `the import must keep the protected realm '${uri}' (the admin realm)`,
      );
  }
}

/** A path start -> ... -> start through the parent graph, if there is one. The store checks group creates and updates with it too. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>, start: string): string[] | undefined {
  const path: string[] = [];
  const done = new Set<string>();
  const visit = (node: string): string[] | undefined => {
    if (node === start && path.length > 0) return [...path, node];
    if (done.has(node)) return undefined;
    done.add(node);
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const found = visit(next);
      if (found !== undefined) return found;
    }
    path.pop();
    return undefined;
  };
  return visit(start);
}
