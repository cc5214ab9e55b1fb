// Whether the administrators can still get in. A "way in" to the admin realm is a user that
// can log in and then call the whole admin API:
//   - the realm allows connections;
//   - the user is not disabled;
//   - a grant of "call" covering the prefix "wampmesh." is given to the user, one of its groups
//     (nested ones included) or "all", or the realm has security off;
//   - a method the realm enables, offered to the user by a source (or, in a realm without
//     sources, from anywhere except trust), that the user has what it needs for: trust needs
//     nothing, ticket / wampcra / wamp-scram their credential, cryptosign a public key; tls is
//     never one (whether it works depends on a listener's CA files, which the store cannot see).
// One way is (authid, method, source cidr); anonymous is never one (anonymous sessions are not
// administrators). A change to the admin realm is checked against the ways before and after it
// (see guardAdminAccess in admin.ts).

import { covers } from './authorizer.ts';
import type { SecurityStore } from './store.ts';

/** The admin API's namespace: a way in must be able to call all of it. */
const ADMIN_API = { uri: 'wampmesh.', match: 'prefix' } as const;

/** The ways into `realm`, as sorted strings "authid by method from cidr". */
export function waysIn(store: SecurityStore, realm: string): string[] {
  const r = store.getRealm(realm);
  if (r === undefined || !r.allow_connections) return [];
  const grants = store.listGrants(realm).filter((g) => g.permissions.includes('call') && covers(g, ADMIN_API));
  const sources = store.listSources(realm);
  const ways: string[] = [];
  for (const user of store.listUsers(realm)) {
    if (user.disabled === true) continue;
    const principals = new Set([
      'all',
      `user:${user.authid}`,
      ...store.groupClosure(realm, user.groups).map((g) => `group:${g}`),
    ]);
    if (r.security_enabled && !grants.some((g) => g.to.some((p) => principals.has(p)))) continue;
    for (const method of r.authmethods) {
      if (method === 'anonymous') continue;
      if (method !== 'trust' && !user.authmethods.includes(method)) continue;
      if (sources.length === 0) {
        if (method !== 'trust') ways.push(`${user.authid} by ${method} from any`);
        continue;
      }
      for (const s of sources) {
        if (s.authmethods.includes(method) && s.to.some((p) => principals.has(p)))
          ways.push(`${user.authid} by ${method} from ${s.cidr}`);
      }
    }
  }
  return [...new Set(ways)].sort();
}
