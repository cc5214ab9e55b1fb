// The admin API: procedures served by the router itself (like the meta API) in the protected
// admin realm. Calls to them pass the authorizer like any CALL, so who may administer is a
// grant in the admin realm (ensureAdminRealm sets up group "admin" with call on "wampmesh.").
//
// Procedures (positional arguments; the object argument may also be given as kwargs):
//   wampmesh.realm.create(realm)             wampmesh.realm.list()
//   wampmesh.realm.get(uri)                  wampmesh.realm.update(uri, patch)
//   wampmesh.realm.delete(uri)
//   wampmesh.user.create(realm, user)        wampmesh.user.list(realm)
//   wampmesh.user.get(realm, authid)         wampmesh.user.update(realm, authid, patch)
//   wampmesh.user.delete(realm, authid)
//   wampmesh.group.create(realm, group)      wampmesh.group.list(realm)
//   wampmesh.group.get(realm, name)          wampmesh.group.update(realm, name, patch)
//   wampmesh.group.delete(realm, name)
//   wampmesh.grant.create(realm, grant)      wampmesh.grant.list(realm)
//   wampmesh.grant.get(realm, id)            wampmesh.grant.delete(realm, id)   (= revoke)
//   wampmesh.source.create(realm, source)    wampmesh.source.list(realm)
//   wampmesh.source.get(realm, id)           wampmesh.source.delete(realm, id)
//   wampmesh.security.export()               wampmesh.security.import(document)
// Grants and sources have no update: delete and create (their ids are what revokes them).
// Every write may carry the kwarg `force: true` (see guardAdminAccess): a change that takes away
// a way into the admin realm is refused without it, and one that leaves none is refused always.
// Errors: ERROR with the SecurityError's URI, args [message, {field, problem}]; e.g.
// wamp.error.invalid_argument, ["password: must be at least 8 characters", {field: "password", ...}].

import type { Logger } from '../log.ts';
import type { LocalResult } from '../router/local-procedures.ts';
import type { Realm } from '../router/realm.ts';
import type { Dict } from '../wamp/messages.ts';
import { invalid, notFound, SecurityError, SecurityErrorUri } from './errors.ts';
import { waysIn } from './lockout.ts';
import type { SecurityStore } from './store.ts';

export const ADMIN_REALM = 'wampmesh.admin';
export const ADMIN_GROUP = 'admin';
/** wampmesh.mesh.status on a router whose config has mesh.enabled false. */
export const MESH_OFF = 'wampmesh.error.mesh_off';

type Handler = (args: unknown[], kwargs: Dict) => unknown;

/** Registers the admin procedures in `realm` (the admin realm of the router). */
export function installAdminApi(realm: Realm, store: SecurityStore, options: { logger?: Logger } = {}): void {
  const add = (name: string, handler: Handler, write = true) =>
    realm.dealer.addLocalProcedure(name, (_caller, args, kwargs) => {
      const { force, ...rest } = kwargs;
      if (force !== undefined && typeof force !== 'boolean')
        return {
          error: SecurityErrorUri.INVALID_ARGUMENT,
          args: ['force: expected true or false', { field: 'force', problem: 'expected true or false' }],
        };
      const guarded: Handler = write
        ? (a, k) => guardAdminAccess(store, realm.uri, force === true, () => handler(a, k))
        : handler;
      return run(guarded, args, rest, options.logger, name);
    });
  const read = (name: string, handler: Handler) => add(name, handler, false);
  const str = (args: unknown[], i: number, what: string): string => {
    const v = args[i];
    if (typeof v !== 'string' || v.length === 0)
      throw invalid(`args[${i}]`, v === undefined ? `required: the ${what}` : `expected the ${what} (a string)`);
    return v;
  };
  const id = (args: unknown[], i: number, what: string): number => {
    const v = args[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw invalid(
        `args[${i}]`,
        v === undefined ? `required: the ${what}` : `expected the ${what} (a positive integer)`,
      );
    return v;
  };
  // The object argument: positional, or the call's kwargs.
  const obj = (args: unknown[], i: number, kwargs: Dict): unknown =>
    args.length > i ? args[i] : Object.keys(kwargs).length > 0 ? kwargs : undefined;
  const found = <T>(v: T | undefined, field: string, what: string): T => {
    if (v === undefined) throw notFound(field, `no ${what}`);
    return v;
  };

  add('wampmesh.realm.create', (a, k) => store.createRealm(obj(a, 0, k)));
  read('wampmesh.realm.list', () => store.listRealms());
  read('wampmesh.realm.get', (a) =>
    found(store.getRealm(str(a, 0, 'realm URI')), 'args[0]', `realm '${String(a[0])}'`),
  );
  add('wampmesh.realm.update', (a, k) => store.updateRealm(str(a, 0, 'realm URI'), obj(a, 1, k)));
  add('wampmesh.realm.delete', (a) => store.deleteRealm(str(a, 0, 'realm URI')));

  add('wampmesh.user.create', (a, k) => store.createUser(str(a, 0, 'realm URI'), obj(a, 1, k)));
  read('wampmesh.user.list', (a) => store.listUsers(str(a, 0, 'realm URI')));
  read('wampmesh.user.get', (a) =>
    found(
      store.getUser(str(a, 0, 'realm URI'), str(a, 1, 'authid')),
      'args[1]',
      `user '${String(a[1])}' in realm '${String(a[0])}'`,
    ),
  );
  add('wampmesh.user.update', (a, k) => store.updateUser(str(a, 0, 'realm URI'), str(a, 1, 'authid'), obj(a, 2, k)));
  add('wampmesh.user.delete', (a) => store.deleteUser(str(a, 0, 'realm URI'), str(a, 1, 'authid')));

  add('wampmesh.group.create', (a, k) => store.createGroup(str(a, 0, 'realm URI'), obj(a, 1, k)));
  read('wampmesh.group.list', (a) => store.listGroups(str(a, 0, 'realm URI')));
  read('wampmesh.group.get', (a) =>
    found(
      store.getGroup(str(a, 0, 'realm URI'), str(a, 1, 'group name')),
      'args[1]',
      `group '${String(a[1])}' in realm '${String(a[0])}'`,
    ),
  );
  add('wampmesh.group.update', (a, k) =>
    store.updateGroup(str(a, 0, 'realm URI'), str(a, 1, 'group name'), obj(a, 2, k)),
  );
  add('wampmesh.group.delete', (a) => store.deleteGroup(str(a, 0, 'realm URI'), str(a, 1, 'group name')));

  add('wampmesh.grant.create', (a, k) => store.createGrant(str(a, 0, 'realm URI'), obj(a, 1, k)));
  read('wampmesh.grant.list', (a) => store.listGrants(str(a, 0, 'realm URI')));
  read('wampmesh.grant.get', (a) =>
    found(
      store.getGrant(str(a, 0, 'realm URI'), id(a, 1, 'grant id')),
      'args[1]',
      `grant ${String(a[1])} in realm '${String(a[0])}'`,
    ),
  );
  add('wampmesh.grant.delete', (a) => store.deleteGrant(str(a, 0, 'realm URI'), id(a, 1, 'grant id')));

  add('wampmesh.source.create', (a, k) => store.createSource(str(a, 0, 'realm URI'), obj(a, 1, k)));
  read('wampmesh.source.list', (a) => store.listSources(str(a, 0, 'realm URI')));
  read('wampmesh.source.get', (a) =>
    found(
      store.getSource(str(a, 0, 'realm URI'), id(a, 1, 'source id')),
      'args[1]',
      `source ${String(a[1])} in realm '${String(a[0])}'`,
    ),
  );
  add('wampmesh.source.delete', (a) => store.deleteSource(str(a, 0, 'realm URI'), id(a, 1, 'source id')));

  // HTTP API gateway specs (README "HTTP API gateway"): realm state, replicated with the rest.
  add('wampmesh.api.add', (a, k) => store.putApi(obj(a, 0, k)));
  add('wampmesh.api.replace', (a, k) => store.putApi(obj(a, 0, k), { replace: true }));
  read('wampmesh.api.list', (a) => store.listApis(a.length === 0 ? undefined : str(a, 0, 'realm URI')));
  read('wampmesh.api.get', (a) =>
    found(
      store.getApi(str(a, 0, 'realm URI'), str(a, 1, 'API name')),
      'args[1]',
      `API '${String(a[1])}' in realm '${String(a[0])}'`,
    ),
  );
  add('wampmesh.api.delete', (a) => store.deleteApi(str(a, 0, 'realm URI'), str(a, 1, 'API name')));

  read('wampmesh.security.export', () => store.exportDocument());
  add('wampmesh.security.import', (a, k) => store.importDocument(obj(a, 0, k)));
}

/**
 * Runs `write` in one transaction and commits it only if the administrators keep a way in (see
 * lockout.ts): a change that takes any way away needs `force`, and one that leaves none is
 * refused even so (the offline recovery is `wampmesh admin reset`). A realm that had no way in
 * already is not held hostage: changes that take nothing away pass.
 */
export function guardAdminAccess<T>(store: SecurityStore, adminRealm: string, force: boolean, write: () => T): T {
  return store.batch(() => {
    const before = waysIn(store, adminRealm);
    const result = write();
    const after = waysIn(store, adminRealm);
    const lost = before.filter((w) => !after.includes(w));
    if (lost.length === 0) return result;
    if (after.length === 0) {
      throw new SecurityError(
        SecurityErrorUri.NOT_ALLOWED,
        '',
        `refused: this change would leave no way into the admin realm '${adminRealm}' (it takes away: ${lost.join('; ')}), not even with force; add another administrator first`,
      );
    }
    if (!force) {
      throw new SecurityError(
        SecurityErrorUri.NOT_ALLOWED,
        '',
        `refused: this change takes away a way into the admin realm '${adminRealm}' (${lost.join('; ')}); repeat with --force (admin API: kwarg force: true) to do it anyway; what would remain: ${after.join('; ')}`,
      );
    }
    return result;
  });
}

function run(
  handler: Handler,
  args: unknown[],
  kwargs: Dict,
  logger: Logger | undefined,
  procedure: string,
): LocalResult {
  try {
    const result = handler(args, kwargs);
    return result === undefined ? {} : { args: [result] };
  } catch (err) {
    if (err instanceof SecurityError)
      return { error: err.uri, args: [err.message, { field: err.field, problem: err.problem }] };
    // Never the arguments: they may hold passwords.
    logger?.error({ procedure, err: (err as Error)?.message }, 'admin procedure failed');
    return { error: SecurityErrorUri.INTERNAL, args: ['the security store failed; nothing was changed'] };
  }
}

export interface AdminRealmOptions {
  uri?: string;
  /** The first administrator: a user without credentials, let in by "trust" on the Unix socket. */
  authid?: string;
  /** Also trust the administrator from loopback (any local user can reach 127.0.0.1). Default false. */
  trustLoopback?: boolean;
}

/**
 * Creates the admin realm on first start (one transaction): group "admin" with call on
 * "wampmesh." and call/subscribe on the meta API ("wamp."), user "admin" in it, trust from
 * the Unix socket and cryptosign/wamp-scram/ticket from anywhere for the group. Does nothing
 * when the realm exists. Pass the same URI to SecurityStore's `protectedRealms`.
 */
export function ensureAdminRealm(store: SecurityStore, options: AdminRealmOptions = {}): boolean {
  const uri = options.uri ?? ADMIN_REALM;
  if (store.getRealm(uri) !== undefined) return false;
  const authid = options.authid ?? 'admin';
  const to = [`group:${ADMIN_GROUP}`];
  store.batch(() => {
    store.createRealm({
      uri,
      description: 'wampmesh administration',
      authmethods: ['trust', 'cryptosign', 'wamp-scram', 'ticket'],
    });
    store.createGroup(uri, { name: ADMIN_GROUP, description: 'may call the admin API and the meta API' });
    store.createUser(uri, { authid, groups: [ADMIN_GROUP] });
    store.createGrant(uri, { permissions: ['call'], uri: 'wampmesh.', match: 'prefix', to });
    store.createGrant(uri, { permissions: ['call', 'subscribe'], uri: 'wamp.', match: 'prefix', to });
    store.createSource(uri, {
      cidr: 'unix',
      authmethods: ['trust'],
      to,
      description: 'local administrator on the Unix socket',
    });
    if (options.trustLoopback === true) {
      store.createSource(uri, { cidr: '127.0.0.0/8', authmethods: ['trust'], to });
      store.createSource(uri, { cidr: '::1/128', authmethods: ['trust'], to });
    }
    store.createSource(uri, { cidr: 'any', authmethods: ['cryptosign', 'wamp-scram', 'ticket'], to });
  });
  return true;
}
