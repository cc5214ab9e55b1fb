// Live effects of security changes on a running router. The store announces each committed
// change; bindSecurityEvents turns those into the calls of a SecurityEvents, and
// routerSecurityEvents implements SecurityEvents on the Router's public API. The authorizer's
// decision cache needs none of this: it follows the store by itself.

import type { Router } from '../router/router.ts';
import type { RealmConfig } from '../router/realm.ts';
import { CloseUri } from '../wamp/uris.ts';
import type { RealmRecord } from './model.ts';
import type { SecurityStore } from './store.ts';

export interface SecurityEvents {
  /** A realm was created (admin API or import): the router should serve it. */
  realmCreated(realm: RealmRecord): void;
  /** Its settings changed (authmethods, allow_connections...): reconfigure it. */
  realmUpdated(realm: RealmRecord): void;
  /** Deleted: end its sessions and stop serving it. */
  realmDeleted(uri: string): void;
  /** Deleted: end the user's sessions in that realm. */
  userDeleted(realm: string, authid: string): void;
  /** Groups, grants or sources of the realm changed (informational; caches follow by themselves). */
  policyChanged?(realm: string): void;
}

/** Forwards the store's committed changes to `events`; returns the unsubscribe function. */
export function bindSecurityEvents(store: SecurityStore, events: SecurityEvents): () => void {
  return store.subscribe((change) => {
    switch (change.kind) {
      case 'realm.created': return events.realmCreated(change.record);
      case 'realm.updated': return events.realmUpdated(change.record);
      case 'realm.deleted': return events.realmDeleted(change.realm);
      case 'user.deleted': return events.userDeleted(change.realm, change.authid);
      case 'policy': return events.policyChanged?.(change.realm);
      default: return undefined;
    }
  });
}

/** The router's view of a store realm. `base` adds the routing options the store does not hold. */
export function toRealmConfig(realm: RealmRecord, base: Partial<RealmConfig> = {}): RealmConfig {
  return { ...base, uri: realm.uri, anonymous: realm.authmethods.includes('anonymous') };
}

export interface RouterEventsOptions {
  /** Routing options (uriCheck, disclosure, history) per realm; by default none. */
  realmConfig?: (realm: RealmRecord) => RealmConfig;
}

/** SecurityEvents on a Router: addRealm / removeRealm / killSessions. */
export function routerSecurityEvents(router: Router, options: RouterEventsOptions = {}): SecurityEvents {
  const config = options.realmConfig ?? ((r: RealmRecord) => toRealmConfig(r));
  return {
    realmCreated: (r) => void router.addRealm(config(r)),
    // addRealm on an existing realm reconfigures it and keeps its sessions and routes.
    realmUpdated: (r) => void router.addRealm(config(r)),
    realmDeleted: (uri) => void router.removeRealm(uri, CloseUri.CLOSE_REALM, `realm '${uri}' was deleted`),
    userDeleted: (realm, authid) => void router.killSessions(
      (s) => s.realm?.uri === realm && s.authid === authid, CloseUri.KILLED, `user '${authid}' was deleted from realm '${realm}'`),
  };
}
