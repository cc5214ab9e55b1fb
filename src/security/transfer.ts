// Export and import of the whole security configuration as one document (shapes in records.ts,
// checks in document.ts). An import replaces everything in one transaction, and announces the
// changes that must end sessions: mesh replication applies remote changes through here too.

import { apisOf, insertApi } from './apis.ts';
import { deriveCredentials } from './credentials.ts';
import { parseDocument } from './document.ts';
import { insertGrant, insertSource, listGrants, listSources } from './grants.ts';
import { listGroups } from './groups.ts';
import { insertRealm, listRealms } from './realms.ts';
import type { RealmDocument, RealmRecord, SecurityDocument, UserRecord } from './records.ts';
import { revocationOf } from './revocation.ts';
import type { StoreContext } from './tables.ts';
import type { SecurityChange } from './transactions.ts';
import { insertUser, loginStates, userRecords } from './users.ts';

/** The whole configuration. It holds password hashes and derived keys: keep it private. */
export function exportDocument(s: StoreContext): SecurityDocument {
  return s.tx.read(() => ({
    version: 1,
    realms: listRealms(s).map(
      (r): RealmDocument => ({
        ...r,
        groups: listGroups(s, r.uri),
        users: userRecords(s.q, r.uri),
        grants: listGrants(s, r.uri),
        sources: listSources(s, r.uri),
        ...apisOf(s.q, r.uri),
      }),
    ),
  }));
}

/**
 * Replaces the whole configuration with `document`, in one transaction. Nothing changes
 * when any part is invalid; the error names the field ("realms[0].users[2].password").
 * Users may carry a clear `password` (derived here) or the `credentials` of an export.
 */
export function importDocument(s: StoreContext, document: unknown): void {
  const doc = parseDocument(document, s.protectedRealms);
  // Derive before the transaction: hashing is slow, and nothing is written yet.
  const realms = doc.realms.map((r, i) => ({
    ...r,
    users: r.users.map(
      (u, j): UserRecord => ({
        authid: u.authid,
        groups: u.groups,
        pubkeys: u.pubkeys,
        meta: u.meta,
        credentials: deriveCredentials(s.hashing, r, u, `realms[${i}].users[${j}]`) ?? {},
        ...(u.role !== undefined && { role: u.role }),
        ...(u.disabled === true && { disabled: true }),
      }),
    ),
  }));
  const before = new Map(listRealms(s).map((r) => [r.uri, loginStates(s.q, r.uri)]));
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
  const q = s.q;
  s.tx.write(changes, () => {
    q.deleteAllRealms.run();
    realms.forEach((r, i) => {
      insertRealm(q, r);
      // Groups first (all of them, then their nesting), so references resolve.
      for (const g of r.groups) q.insertGroup.run(r.uri, g.name, g.description, JSON.stringify(g.meta));
      for (const g of r.groups) g.groups.forEach((parent, k) => q.insertParent.run(r.uri, g.name, parent, k));
      for (const u of r.users) insertUser(q, r.uri, u);
      r.grants.forEach((g, k) => insertGrant(q, r.uri, g, `realms[${i}].grants[${k}].id`));
      r.sources.forEach((src, k) => insertSource(q, r.uri, src, `realms[${i}].sources[${k}].id`));
      for (const a of r.apis) insertApi(q, r.uri, a);
    });
  });
}
