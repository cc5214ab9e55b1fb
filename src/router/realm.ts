// A realm is a routing and administrative domain: sessions in one realm never see another's
// registrations or events. Each realm owns its Dealer, its Broker and its meta API.

import type { UriCheck } from '../wamp/uris.ts';
import { Broker, type HistoryRule } from './broker.ts';
import { Dealer, type Disclosure } from './dealer.ts';
import type { Dict } from '../wamp/messages.ts';
import type { EventStore, StoredEvent } from './event-store.ts';
import { MetaApi } from './meta.ts';
import { RealmCounters } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';
import type { Target } from './target.ts';

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
}

/** Hooks for the mesh, set once by the MeshNode; absent on a stand-alone router. */
export interface RouterHooks {
  forwardEvent?: (realm: string, event: StoredEvent, excluded: number | undefined, filter: Dict | undefined, retain: boolean) => void;
  /** The realm's registrations or subscriptions changed (what the mesh advertises). */
  interestsChanged?: (realm: string) => void;
}

export interface RealmEnvironment {
  now: () => number;
  random: () => number;
  scheduler: Scheduler;
  store: EventStore;
  hooks: RouterHooks;
}

/** Why a session left: testaments are published only when it did not leave in good order. */
export type LeaveReason = 'goodbye' | 'shutdown' | 'lost' | 'killed';

export class Realm {
  readonly uri: string;
  config: RealmConfig;
  readonly dealer: Dealer;
  readonly broker: Broker;
  readonly meta: MetaApi;
  readonly sessions = new Map<number, Target>();
  /** For /metrics; kept here so a realm label exists only while the realm does. */
  readonly counters = new RealmCounters();

  constructor(config: RealmConfig, env: RealmEnvironment) {
    this.uri = config.uri;
    this.config = config;
    const uriCheck = config.uriCheck ?? 'loose';
    this.meta = new MetaApi(this);
    this.dealer = new Dealer({
      uriCheck, now: env.now, random: env.random, scheduler: env.scheduler,
      callerDisclosure: config.callerDisclosure ?? 'optional', events: this.meta.registrationEvents,
    });
    this.broker = new Broker({
      realm: config.uri, uriCheck, now: env.now, random: env.random, store: env.store, history: config.history ?? [],
      publisherDisclosure: config.publisherDisclosure ?? 'optional', events: this.meta.subscriptionEvents,
      forward: (event, excluded, filter, retain) => env.hooks.forwardEvent?.(config.uri, event, excluded, filter, retain),
    });
    this.meta.onInterestChange = () => env.hooks.interestsChanged?.(config.uri);
    this.meta.install();
  }

  /** Authentication settings change live; routing options (URI rules, history) need a restart. */
  reconfigure(config: RealmConfig): void {
    this.config = config;
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
