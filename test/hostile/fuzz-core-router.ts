// The router the core fuzz (fuzz-core.test.ts) attacks: three realms with different policies,
// a stub authenticator (ticket or anonymous), the appliance's event store, and a logger that
// records every error, since nothing the fuzz sends may be logged as one.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/log.ts';
import type { Authenticator } from '../../src/router/auth.ts';
import { Router } from '../../src/router/router.ts';
import type { Scheduler } from '../../src/router/scheduler.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.ts';
import { show } from '../helpers/fuzz-checks.ts';

export interface CoreRouter {
  readonly router: Router;
  readonly db: Db;
  readonly dataDir: string;
}

/** `errors` collects what the router logs at error level. */
export function coreRouter(o: {
  scheduler: Scheduler;
  now: () => number;
  random: () => number;
  errors: string[];
}): CoreRouter {
  let anonymous = 0;
  const authenticator: Authenticator = {
    hello: (info) => {
      if (info.authmethods.includes('ticket')) {
        return {
          type: 'challenge',
          authmethod: 'ticket',
          extra: {},
          pending: {
            authenticate: (m) =>
              m.signature === 'open sesame'
                ? {
                    type: 'welcome',
                    identity: {
                      authid: info.authid ?? 'ticket-user',
                      authrole: 'user',
                      authmethod: 'ticket',
                      authprovider: 'fuzz',
                    },
                  }
                : { type: 'abort', reason: 'wamp.error.authentication_failed', message: 'wrong ticket' },
          },
        };
      }
      if (!info.realm.anonymous || !info.authmethods.includes('anonymous')) {
        return { type: 'abort', reason: 'wamp.error.no_auth_method', message: 'anonymous or ticket' };
      }
      return {
        type: 'welcome',
        identity: {
          authid: `anonymous-${++anonymous}`,
          authrole: 'anonymous',
          authmethod: 'anonymous',
          authprovider: 'static',
        },
      };
    },
  };
  const record = (level: string) => (obj: object, msg?: string) => {
    o.errors.push(`${level}: ${msg ?? ''} ${show(obj, 1000)}`);
  };
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: record('error'),
    child: () => logger,
  };
  // The appliance's event store (retained events, history), as the router process uses it.
  const dataDir = mkdtempSync(join(tmpdir(), 'wampmesh-fuzz-'));
  const db = openDatabase(dataDir);
  db.pragma('synchronous = OFF'); // no fsync per retained event: the data is thrown away
  const router = new Router({
    store: new SqliteEventStore(db),
    realms: [
      { uri: 'realm1', anonymous: true },
      {
        uri: 'realm2',
        anonymous: true,
        uriCheck: 'strict',
        callerDisclosure: 'always',
        publisherDisclosure: 'never',
        history: [{ topic: 'com', match: 'prefix', limit: 5, maxAgeMs: 60_000 }],
      },
      { uri: 'realm.auth', anonymous: false },
    ],
    now: o.now,
    random: o.random,
    scheduler: o.scheduler,
    logger,
    authenticator,
    authFailureDelayMs: 500,
  });
  return { router, db, dataDir };
}
