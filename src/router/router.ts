// The router: realms, and the sessions attached by transports. Transports see it only as a
// PeerAcceptor; the CLI drives its clock with tick().

import { randomId } from '../wamp/ids.ts';
import { errorFields, silentLogger, type Logger } from '../log.ts';
import { CloseUri } from '../wamp/uris.ts';
import { defaultLimits, type Limits } from './limits.ts';
import type { Peer, PeerAcceptor, PeerHandler } from './peer.ts';
import { allowAll, anonymousAuthenticator, type Authenticator, type Authorizer } from './auth.ts';
import { MemoryEventStore, type EventStore } from './event-store.ts';
import { Federation } from './federation.ts';
import { Realm, type RealmConfig, type RealmEnvironment } from './realm.ts';
import type { RouterMetrics } from './metrics.ts';
import { realScheduler, type Scheduler } from './scheduler.ts';
import { Session, type SessionContext } from './session.ts';

export interface RouterOptions {
  realms: readonly RealmConfig[];
  limits?: Partial<Limits>;
  logger?: Logger;
  /** Injected for deterministic tests. */
  now?: () => number;
  random?: () => number;
  scheduler?: Scheduler;
  /** Retained events and event history; in memory unless the CLI passes the SQLite store. */
  store?: EventStore;
  /** Who clients are; by default realms with `anonymous: true` admit anonymous sessions. */
  authenticator?: Authenticator;
  /** What sessions may do; by default everything. */
  authorizer?: Authorizer;
  /** Delay before a failed authentication is answered (default 1 s). */
  authFailureDelayMs?: number;
  /** Counters for /metrics; without it the hot path counts nothing. */
  metrics?: RouterMetrics;
}

export class Router implements PeerAcceptor {
  readonly realms = new Map<string, Realm>();
  readonly limits: Limits;
  readonly logger: Logger;
  readonly #sessions = new Set<Session>();
  readonly #ids = new Set<number>();
  readonly #context: SessionContext;
  readonly #env: RealmEnvironment;
  /** The one way in for everything that is not a local session (the mesh). */
  readonly federation: Federation;

  constructor(options: RouterOptions) {
    this.limits = { ...defaultLimits, ...options.limits };
    // One authorizer for all: sessions, the mesh's remote identities, testaments.
    const authorizer = options.authorizer ?? allowAll;
    this.federation = new Federation(this.realms, authorizer);
    this.logger = options.logger ?? silentLogger;
    const now = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    const env: RealmEnvironment = {
      now,
      random,
      scheduler: options.scheduler ?? realScheduler,
      store: options.store ?? new MemoryEventStore(),
      authorizer,
      observer: this.federation,
      logger: this.logger,
    };
    this.#env = env;
    for (const config of options.realms) this.addRealm(config);
    const ids = this.#ids;
    const sessions = this.#sessions;
    this.#context = {
      limits: this.limits,
      logger: this.logger,
      now,
      random,
      realm: (uri) => this.realms.get(uri),
      authenticator: options.authenticator ?? anonymousAuthenticator,
      authorizer,
      authFailureDelayMs: options.authFailureDelayMs ?? 1000,
      metrics: options.metrics,
      setTimeout: (fn, ms) => env.scheduler.setTimeout(fn, ms),
      allocateSessionId() {
        let id = randomId(random);
        while (ids.has(id)) id = randomId(random);
        ids.add(id);
        return id;
      },
      release(session) {
        sessions.delete(session);
        if (session.id !== 0) ids.delete(session.id);
      },
    };
  }

  /** Adds (or replaces the configuration of) a realm. Replacing keeps its sessions and routes. */
  addRealm(config: RealmConfig): Realm {
    const existing = this.realms.get(config.uri);
    if (existing !== undefined) {
      existing.reconfigure(config);
      return existing;
    }
    const realm = new Realm(config, this.#env);
    this.realms.set(config.uri, realm);
    // The mesh skips other routers' callees and subscribers in realms this router does not have;
    // a realm that arrives later (replicated after their advertisements) must be looked at again
    // then, not at their next refresh.
    this.federation.interestsChanged(config.uri);
    return realm;
  }

  /** Deletes a realm: its sessions get GOODBYE with the reason given. */
  removeRealm(uri: string, reason = 'wamp.close.close_realm', message = `realm '${uri}' was deleted`): boolean {
    const realm = this.realms.get(uri);
    if (realm === undefined) return false;
    this.realms.delete(uri);
    for (const session of [...realm.sessions.values()]) session.kill(reason, message);
    this.#context.metrics?.realmRemoved(realm.counters);
    return true;
  }

  /** Ends every session matching the predicate (a deleted user, a revoked source). */
  killSessions(predicate: (session: Session) => boolean, reason: string, message: string): number {
    let n = 0;
    for (const session of [...this.#sessions]) {
      if (session.state === 'established' && predicate(session)) {
        session.kill(reason, message);
        n++;
      }
    }
    return n;
  }

  attach(peer: Peer): PeerHandler {
    const session = new Session(this.#context, peer);
    this.#sessions.add(session);
    return session;
  }

  get now(): () => number {
    return this.#env.now;
  }
  get scheduler(): Scheduler {
    return this.#env.scheduler;
  }

  /** Live sessions, established or not. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  tick(now: number = this.#context.now()): void {
    for (const session of this.#sessions) {
      // Called from a timer: a throw would be an uncaught exception that ends the process, and
      // would skip the sessions after this one.
      try {
        session.tick(now);
      } catch (err) {
        this.logger.error({ session: session.id, ...errorFields(err) }, 'internal error in session upkeep');
      }
    }
  }

  /** GOODBYE wamp.close.system_shutdown to every session; transports close after that. */
  shutdown(message = 'router shutting down'): void {
    for (const session of [...this.#sessions]) session.goodbye(CloseUri.SYSTEM_SHUTDOWN, message);
  }
}
