// Offline recovery of the admin realm (`wampmesh admin reset`): puts back what the first start
// created (ensureAdminRealm) wherever it is missing, and gives the administrator a new
// password. Writes the store directly, not through the admin API: the point is to get in when
// the admin API cannot be reached. Everything else in the realm (other users, grants, sources)
// is left as it is.

import { ADMIN_GROUP, ADMIN_REALM, ensureAdminRealm } from './admin.ts';
import { covers } from './authorizer.ts';
import type { AuthMethod } from './records.ts';
import type { SecurityStore } from './store.ts';

/** The methods the first start enables in the admin realm; a reset enables them again. */
const ADMIN_METHODS: readonly AuthMethod[] = ['trust', 'cryptosign', 'wamp-scram', 'ticket'];
const NETWORK_METHODS: readonly AuthMethod[] = ['cryptosign', 'wamp-scram', 'ticket'];

export interface ResetOptions {
  realm?: string;
  authid?: string;
  /** The administrator's new password (at least 8 characters). */
  password: string;
}

/** Restores a working admin login in one transaction; returns what it changed, one line each. */
export function restoreAdminAccess(store: SecurityStore, options: ResetOptions): string[] {
  const realm = options.realm ?? ADMIN_REALM;
  const authid = options.authid ?? 'admin';
  const group = `group:${ADMIN_GROUP}`;
  const done: string[] = [];
  store.batch(() => {
    if (ensureAdminRealm(store, { uri: realm, authid })) done.push(`realm ${realm} created`);
    const r = store.getRealm(realm)!;
    const methods = [...r.authmethods, ...ADMIN_METHODS.filter((m) => !r.authmethods.includes(m))];
    if (!r.allow_connections || methods.length !== r.authmethods.length) {
      store.updateRealm(realm, { allow_connections: true, authmethods: methods });
      done.push(`realm ${realm}: allow_connections true, authmethods ${methods.join(',')}`);
    }
    if (store.getGroup(realm, ADMIN_GROUP) === undefined) {
      store.createGroup(realm, { name: ADMIN_GROUP, description: 'may call the admin API and the meta API' });
      done.push(`group ${ADMIN_GROUP} created`);
    }
    const user = store.getUser(realm, authid);
    if (user === undefined) {
      store.createUser(realm, { authid, groups: [ADMIN_GROUP] });
      done.push(`user ${authid} created in group ${ADMIN_GROUP}`);
    } else if (user.disabled === true || !user.groups.includes(ADMIN_GROUP)) {
      store.updateUser(realm, authid, {
        disabled: false,
        groups: user.groups.includes(ADMIN_GROUP) ? user.groups : [...user.groups, ADMIN_GROUP],
      });
      done.push(`user ${authid} enabled, in group ${ADMIN_GROUP}`);
    }
    const grants = store.listGrants(realm).filter((g) => g.to.includes(group));
    const granted = (action: 'call' | 'subscribe', uri: string) =>
      grants.some((g) => g.permissions.includes(action) && covers(g, { uri, match: 'prefix' }));
    if (!granted('call', 'wampmesh.')) {
      store.createGrant(realm, { permissions: ['call'], uri: 'wampmesh.', match: 'prefix', to: [group] });
      done.push(`grant of call on wampmesh. (prefix) to ${group} created`);
    }
    if (!granted('call', 'wamp.') || !granted('subscribe', 'wamp.')) {
      store.createGrant(realm, { permissions: ['call', 'subscribe'], uri: 'wamp.', match: 'prefix', to: [group] });
      done.push(`grant of call, subscribe on wamp. (prefix) to ${group} created`);
    }
    const sources = store.listSources(realm).filter((s) => s.to.includes(group));
    if (!sources.some((s) => s.cidr === 'unix' && s.authmethods.includes('trust'))) {
      store.createSource(realm, {
        cidr: 'unix',
        authmethods: ['trust'],
        to: [group],
        description: 'local administrator on the Unix socket',
      });
      done.push(`source: trust on the Unix socket for ${group} created`);
    }
    if (!sources.some((s) => s.cidr === 'any' && NETWORK_METHODS.every((m) => s.authmethods.includes(m)))) {
      store.createSource(realm, { cidr: 'any', authmethods: [...NETWORK_METHODS], to: [group] });
      done.push(`source: ${NETWORK_METHODS.join(', ')} from any address for ${group} created`);
    }
    store.updateUser(realm, authid, { password: options.password });
    done.push(`user ${authid}: new password`);
  });
  return done;
}
