// A realm is a routing and administrative domain: sessions in one realm never see another's
// registrations or events. Each realm owns its Dealer, its Broker and its meta API.

import type { Logger } from '../log.ts';
import type { Authorizer } from './authorization.ts';
import type { UriCheck } from '../wamp/uris.ts';
import { Broker, type EventRouting, type Publisher } from './broker.ts';
import type { HistoryRule } from './history-rules.ts';
import { Dealer } from './dealer.ts';
import type { Disclosure } from './call-options.ts';
import type { EventStore, StoredEvent } from './event-store.ts';
import { MetaApi, type LeaveReason } from './meta.ts';
import { RealmCounters } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';
import type { Target } from './target.ts';
import { defaultRealmLimits, type LimitKind, type RealmLimits } from './limits.ts';

export interface RealmConfig {
  readonly uri: string;
  /** Whether sessions may join without authenticating (authmethod "anonymous"). */
  readonly anonymous: boolean;
  /**
   * Where anonymous sessions may come from: 'loopback' (and Unix sockets; the default, so an
   * appliance never serves unauthenticated clients on the network by accident) or 'anywhere'.
   */
  readonly anonymousFrom?: 'loopback' | 'anywhere';
  /** URI rules applied to procedures and topics (spec "Relaxed/Loose URIs"); loose by default. */
  readonly uriCheck?: UriCheck;
  /** Caller identification: on request ('optional', the spec's default), 'always' or 'never'. */
  readonly callerDisclosure?: Disclosure;
  /** Publisher identification: on request ('optional'), 'always' or 'never'. */
  readonly publisherDisclosure?: Disclosure;
  /** Topics that keep event history (wamp.subscription.get_events). */
  readonly history?: readonly HistoryRule[];
  /** What a session and the realm may make the router hold; defaults in limits.ts. */
  readonly limits?: Partial<RealmLimits>;
  /**
   * Whether sessions other than authrole "admin" (and "trusted", the role of a router's own
   * sessions) may call the destructive session meta procedures (wamp.session.kill*); default
   * false: one misbehaving local process must not be able to end every other session.
   */
  readonly metaKill?: 'admin' | 'all';
}

export type { LeaveReason } from './meta.ts';

/** Who hears what a realm does beyond its own sessions (the federation port). */
export interface RealmObserver {
  /** A publication made here, after its delivery here; a promise holds its PUBLISHED (see Broker). */
  published(realm: string, event: StoredEvent, routing: EventRouting, publisher: Publisher): Promise<void> | undefined;
  /** The realm's registrations or subscriptions changed. */
  interestsChanged(realm: string): void;
}

export interface RealmEnvironment {
  now: () => number;
  random: () => number;
  scheduler: Scheduler;
  store: EventStore;
  /** What sessions may do: the one the sessions ask, which testaments ask too. */
  authorizer: Authorizer;
  observer: RealmObserver;
  logger: Logger;
}

/** A limit's log line is written at most this often per realm and kind (the count is kept). */
const LIMIT_LOG_INTERVAL_MS = 10_000;

export class Realm {
  readonly uri: string;
  config: RealmConfig;
  readonly dealer: Dealer;
  readonly broker: Broker;
  readonly meta: MetaApi;
  readonly sessions = new Map<number, Target>();
  readonly limits: RealmLimits;
  /** Requests refused by each limit since start (metrics, tests). */
  readonly limitCounts: Record<LimitKind, number> = {
    maxPendingCallsPerSession: 0,
    maxPendingCalls: 0,
    maxSubscriptionsPerSession: 0,
    maxRegistrationsPerSession: 0,
    maxRetainedTopicsPerSession: 0,
    maxTestamentsPerSession: 0,
  };
  readonly #limitLogged = new Map<LimitKind, { at: number; suppressed: number }>();
  readonly #env: RealmEnvironment;
  /** For /metrics; kept here so a realm label exists only while the realm does. */
  readonly counters = new RealmCounters();

  constructor(config: RealmConfig, env: RealmEnvironment) {
    this.uri = config.uri;
    this.config = config;
    this.#env = env;
    this.limits = { ...defaultRealmLimits, ...config.limits };
    const uriCheck = config.uriCheck ?? 'loose';
    const limitExceeded = (kind: LimitKind, session: Target) => this.#limitExceeded(kind, session);
    this.meta = new MetaApi(this, () => env.observer.interestsChanged(config.uri), {
      authorizer: env.authorizer,
      logger: env.logger,
      limitExceeded,
    });
    this.dealer = new Dealer({
      uriCheck,
      now: env.now,
      random: env.random,
      scheduler: env.scheduler,
      callerDisclosure: config.callerDisclosure ?? 'optional',
      events: this.meta.registrationEvents,
      logger: env.logger,
      limits: this.limits,
      limitExceeded,
    });
    this.broker = new Broker({
      realm: config.uri,
      uriCheck,
      now: env.now,
      random: env.random,
      store: env.store,
      history: config.history ?? [],
      limits: this.limits,
      limitExceeded,
      logger: env.logger,
      publisherDisclosure: config.publisherDisclosure ?? 'optional',
      events: this.meta.subscriptionEvents,
      published: (event, routing, publisher) => env.observer.published(config.uri, event, routing, publisher),
    });
    this.meta.install();
  }

  /** Authentication settings change live; routing options (URI rules, history) need a restart. */
  reconfigure(config: RealmConfig): void {
    this.config = config;
  }

  #limitExceeded(kind: LimitKind, session: Target): void {
    this.limitCounts[kind]++;
    const now = this.#env.now();
    const last = this.#limitLogged.get(kind);
    if (last !== undefined && now - last.at < LIMIT_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.#limitLogged.set(kind, { at: now, suppressed: 0 });
    this.#env.logger.warn(
      {
        realm: this.uri,
        limit: kind,
        value: this.limits[kind],
        session: session.id,
        authid: session.authid,
        refused: this.limitCounts[kind],
        unlogged: last?.suppressed ?? 0,
      },
      'request refused: limit exceeded',
    );
  }

  join(session: Target): void {
    this.sessions.set(session.id, session);
    this.meta.joined(session);
  }

  /**
   * Ends every session of this router authenticated as `authid` with GOODBYE `reason`, as
   * wamp.session.kill_by_authid does (testaments are published). Returns their IDs.
   */
  killByAuthid(authid: string, reason: string, message: string): number[] {
    const victims = [...this.sessions.values()].filter((s) => s.authid === authid && s.remote !== true);
    for (const s of victims) s.kill(reason, message);
    return victims.map((s) => s.id);
  }

  leave(session: Target, reason: LeaveReason): void {
    if (!this.sessions.delete(session.id)) return;
    this.dealer.removeSession(session);
    this.broker.removeSession(session);
    this.meta.left(session, reason);
  }
}
