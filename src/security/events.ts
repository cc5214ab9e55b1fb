// Live effects of security changes on a running router. The store announces each committed
// change, whoever made it (admin API, import, mesh replication); bindSecurityEvents turns
// those into the calls of a SecurityEvents, and routerSecurityEvents implements SecurityEvents
// on the Router's public API. The authorizer's decision cache needs none of this: it follows
// the store by itself, which is also why grant and group changes end no session.

import type { Router } from '../router/router.ts';
import type { RealmConfig } from '../router/realm.ts';
import { CloseUri } from '../wamp/uris.ts';
import type { RealmRecord } from './records.ts';
import type { Revocation } from './revocation.ts';
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
  /** Credentials replaced or removed, or the user disabled: end the user's sessions in that realm. */
  userRevoked(realm: string, authid: string, why: Revocation): void;
  /** Groups, grants or sources of the realm changed (informational; caches follow by themselves). */
  policyChanged?(realm: string): void;
}

/** Forwards the store's committed changes to `events`; returns the unsubscribe function. */
export function bindSecurityEvents(store: SecurityStore, events: SecurityEvents): () => void {
  return store.subscribe((change) => {
    switch (change.kind) {
      case 'realm.created':
        return events.realmCreated(change.record);
      case 'realm.updated':
        return events.realmUpdated(change.record);
      case 'realm.deleted':
        return events.realmDeleted(change.realm);
      case 'user.deleted':
        return events.userDeleted(change.realm, change.authid);
      case 'user.revoked':
        return events.userRevoked(change.realm, change.authid, change.why);
      case 'policy':
        return events.policyChanged?.(change.realm);
      default:
        return undefined;
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

const revoked: Record<Revocation, (realm: string, authid: string) => string> = {
  credentials: (realm, authid) => `credentials changed for user '${authid}' in realm '${realm}'`,
  disabled: (realm, authid) => `user '${authid}' was disabled in realm '${realm}'`,
};

/** SecurityEvents on a Router: addRealm / removeRealm / Realm.killByAuthid. */
export function routerSecurityEvents(router: Router, options: RouterEventsOptions = {}): SecurityEvents {
  const config = options.realmConfig ?? ((r: RealmRecord) => toRealmConfig(r));
  // wamp.close.killed: the reason wamp.session.kill gives, so clients treat it the same way.
  const kill = (realm: string, authid: string, message: string) =>
    void router.realms.get(realm)?.killByAuthid(authid, CloseUri.KILLED, message);
  return {
    realmCreated: (r) => void router.addRealm(config(r)),
    // addRealm on an existing realm reconfigures it and keeps its sessions and routes.
    realmUpdated: (r) => void router.addRealm(config(r)),
    realmDeleted: (uri) => void router.removeRealm(uri, CloseUri.CLOSE_REALM, `realm '${uri}' was deleted`),
    userDeleted: (realm, authid) => kill(realm, authid, `user '${authid}' was deleted from realm '${realm}'`),
    userRevoked: (realm, authid, why) => kill(realm, authid, revoked[why](realm, authid)),
  };
}
