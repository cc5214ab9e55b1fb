// The HTTP API gateway as `serve` starts it: the specs of the store (replicated) and of the
// config file (this node's own), and the store's users for webhooks.

import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { PeerAcceptor } from '../router/peer.ts';
import { authroleOf, type Security } from '../security/index.ts';
import type { BearerVerifier } from '../gateway/bearer.ts';
import { Gateway } from '../gateway/gateway.ts';
import type { ApiSpec } from '../gateway/spec.ts';

export function startGateway(
  config: Config,
  router: PeerAcceptor,
  security: Security,
  logger: Logger,
  bearer?: BearerVerifier,
): Gateway | undefined {
  if (!config.listeners.http.some((h) => h.serve.includes('gateway'))) return undefined;
  const fromFile = config.gateway.apis;
  let cache: { version: number; specs: readonly ApiSpec[] } = { version: -1, specs: [] };
  const store = security.store;
  return new Gateway({
    acceptor: router,
    specs: () => {
      // The store's version moves on every committed change, replicated ones included.
      if (cache.version !== store.version) {
        const stored = store.listApis();
        const taken = new Set(stored.map((a) => `${a.realm}|${a.name}`));
        cache = {
          version: store.version,
          specs: [...stored, ...fromFile.filter((a) => !taken.has(`${a.realm}|${a.name}`))],
        };
      }
      return cache;
    },
    webhookUser: (realm, authid) => {
      const user = store.getRealm(realm) === undefined ? undefined : store.getUser(realm, authid);
      return user === undefined || user.disabled === true ? undefined : { authrole: authroleOf(user) };
    },
    limits: {
      maxInFlight: config.gateway.maxInFlight,
      maxStreams: config.gateway.maxStreams,
      bodyReadTimeoutMs: config.gateway.bodyReadTimeoutMs,
    },
    logger,
    ...(bearer !== undefined && { bearer }),
  });
}
