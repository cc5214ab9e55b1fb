// Security on the SQLite store, wired in two steps (see README.md):
//
//   const security = createSecurity(db, { logger });          // before the Router
//   const router = new Router({ realms: [...configRealms, ...security.realmConfigs()],
//                               authenticator: security.authenticator, authorizer: security.authorizer });
//   attachSecurity(router, security, { logger });              // admin API + live effects

import type { Logger } from '../log.ts';
import type { Authenticator, Authorizer } from '../router/auth.ts';
import type { RealmConfig } from '../router/realm.ts';
import type { Router } from '../router/router.ts';
import type { Db } from '../store/database.ts';
import { ADMIN_REALM, ensureAdminRealm, installAdminApi } from './admin.ts';
import { StoreAuthenticator } from './authenticator.ts';
import { StoreAuthorizer } from './authorizer.ts';
import { bindSecurityEvents, routerSecurityEvents, toRealmConfig } from './events.ts';
import type { HashingParams } from './hash.ts';
import type { RealmRecord } from './records.ts';
import { SecurityStore } from './store.ts';
import type { ThrottleOptions } from './throttle.ts';

export * from './admin.ts';
export * from './authenticator.ts';
export * from './authorizer.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './records.ts';
export * from './schemas.ts';
export * from './store.ts';
export * from './throttle.ts';
export type { SecurityChange, SecurityListener } from './transactions.ts';
export { userView } from './users.ts';
export { defaultHashing, type HashingParams } from './hash.ts';

export interface SecurityOptions {
  /** The admin realm (created on first start, cannot be deleted). Default "wampmesh.admin". */
  adminRealm?: string;
  /** Trust the first administrator from loopback too, not only the Unix socket. */
  trustLoopback?: boolean;
  now?: () => number;
  hashing?: HashingParams;
  throttle?: ThrottleOptions;
  /** Failed logins per account, whatever the address (see AccountGuard). */
  accountThrottle?: ThrottleOptions;
  /** For realms the store does not know (those of the config file); default: refuse them. */
  fallbackAuthenticator?: Authenticator;
  fallbackAuthorizer?: Authorizer;
}

export interface Security {
  readonly store: SecurityStore;
  readonly authenticator: StoreAuthenticator;
  readonly authorizer: StoreAuthorizer;
  readonly adminRealm: string;
  /** The store's realms as RealmConfigs, for `new Router({ realms })`. */
  realmConfigs(base?: (realm: RealmRecord) => Partial<RealmConfig>): RealmConfig[];
}

export function createSecurity(db: Db, options: SecurityOptions = {}): Security {
  const adminRealm = options.adminRealm ?? ADMIN_REALM;
  const store = new SecurityStore(db, {
    protectedRealms: [adminRealm],
    ...(options.hashing && { hashing: options.hashing }),
  });
  ensureAdminRealm(store, {
    uri: adminRealm,
    ...(options.trustLoopback !== undefined && { trustLoopback: options.trustLoopback }),
  });
  const authenticator = new StoreAuthenticator(store, {
    ...(options.now && { now: options.now }),
    ...(options.throttle && { throttle: options.throttle }),
    ...(options.accountThrottle && { accountThrottle: options.accountThrottle }),
    ...(options.fallbackAuthenticator && { fallback: options.fallbackAuthenticator }),
  });
  const authorizer = new StoreAuthorizer(store, {
    ...(options.fallbackAuthorizer && { fallback: options.fallbackAuthorizer }),
  });
  return {
    store,
    authenticator,
    authorizer,
    adminRealm,
    realmConfigs: (base) => store.listRealms().map((r) => toRealmConfig(r, base?.(r))),
  };
}

/** Installs the admin API in the admin realm and makes store changes take effect live. Returns a detach function. */
export function attachSecurity(
  router: Router,
  security: Security,
  options: { logger?: Logger; realmConfig?: (realm: RealmRecord) => RealmConfig } = {},
): () => void {
  const { store, adminRealm } = security;
  const realmConfig = options.realmConfig ?? ((r: RealmRecord) => toRealmConfig(r));
  const admin = router.realms.get(adminRealm) ?? router.addRealm(realmConfig(store.getRealm(adminRealm)!));
  installAdminApi(admin, store, options.logger ? { logger: options.logger } : {});
  return bindSecurityEvents(store, routerSecurityEvents(router, { realmConfig }));
}
