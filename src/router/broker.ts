// The Broker routes events: PUBLISH -> Broker -> EVENT to every matching subscription. All
// subscribers of one subscription share its ID, so one EVENT value (and one encoding per
// serializer) serves them all.

import { IdSequence, randomId } from '../wamp/ids.ts';
import { MessageType as T, type Dict, type Publish, type Subscribe, type Unsubscribe } from '../wamp/messages.ts';
import { ErrorUri, isReservedUri, isValidUri, type UriCheck } from '../wamp/uris.ts';
import type { Disclosure } from './call-options.ts';
import { UnstorableEventError, type EventStore, type StoredEvent } from './event-store.ts';
import { HistoryRules, type HistoryRule } from './history-rules.ts';
import { OptionError, optBool, optEnum, pptOptions } from './options.ts';
import { eventFrame } from './event-frame.ts';
import type { Target } from './target.ts';
import { acknowledgePublication, sendError } from './replies.ts';
import { matchPolicies, UriTable, type MatchPolicy } from './uri-table.ts';
import { eligibleFor, readFilter, type Filter } from './subscriber-filter.ts';
import { retainEvent, sendRetained } from './retained-events.ts';
import type { Subscription } from './subscription.ts';
import type { RawPayload } from '../wamp/raw-payload.ts';
import type { Logger } from '../log.ts';
import { drainFanouts } from './deferred-fanout.ts';
import { DEFERRED_FANOUT_FROM, EventBursts } from './event-burst.ts';
import { defaultRealmLimits, LIMIT_EXCEEDED, limitMessage, type LimitKind, type RealmLimits } from './limits.ts';

/** Meta API hooks (wamp.subscription.on_*). */
export interface BrokerEvents {
  created(session: Target, subscription: Subscription): void;
  subscribed(session: Target, subscription: Subscription): void;
  unsubscribed(session: Target, subscription: Subscription): void;
  deleted(session: Target, subscription: Subscription): void;
}

export interface BrokerOptions {
  realm: string;
  uriCheck: UriCheck;
  now: () => number;
  random: () => number;
  store: EventStore;
  history?: readonly HistoryRule[];
  publisherDisclosure?: Disclosure;
  events?: BrokerEvents;
  limits?: RealmLimits;
  /** Told of each request refused by a limit (the realm logs and counts). */
  limitExceeded?: (kind: LimitKind, session: Target) => void;
  /** Where a failure of a deferred delivery (a bug) is logged; it has no message to blame. */
  logger?: Logger;
  /**
   * Each publication made here, after local delivery (the federation port hands it on). A
   * returned promise holds the publisher's PUBLISHED until it settles: a bridge's outbox keeps
   * the event on disk first. A rejection with a `uri` becomes the publisher's ERROR instead.
   */
  published?: (event: StoredEvent, routing: EventRouting, publisher: Publisher) => Promise<void> | undefined;
}

/** Who made a publication, as the port's listeners see it (a bridge leaves out its own). */
export interface Publisher {
  readonly session: number;
  readonly authid: string;
  readonly authrole: string;
  /** Whether it waits for PUBLISHED: only then is a listener's hold worth making. */
  readonly acknowledge: boolean;
}

/** How a publication is routed besides its topic: who is left out, and whether it is retained. */
export interface EventRouting {
  /** The publisher's session ID when it excluded itself (spec "Publisher Exclusion"). */
  readonly excluded: number | undefined;
  /** Subscriber black- and whitelisting, as the publisher gave it. */
  readonly filter: Dict | undefined;
  readonly retain: boolean;
}

const CUSTOM_ATTRIBUTE = /^_[a-z0-9_]{3,}$/;

export class Broker {
  readonly #options: BrokerOptions;
  readonly #table = new UriTable<Subscription>();
  readonly #history: HistoryRules;
  readonly #byId = new Map<number, Subscription>();
  readonly #bySession = new Map<number, Set<Subscription>>();
  readonly #ids = new IdSequence();
  readonly #limits: RealmLimits;
  /** Topics each session gave their first retained event (maxRetainedTopicsPerSession). */
  readonly #retainedBy = new Map<number, number>();
  readonly #bursts: EventBursts;

  constructor(options: BrokerOptions) {
    this.#options = options;
    this.#limits = options.limits ?? defaultRealmLimits;
    this.#bursts = new EventBursts(options.logger);
    this.#history = new HistoryRules(options.realm, options.store, options.history ?? []);
    this.#history.adopt(options.now(), options.logger);
  }

  get subscriptionCount(): number {
    return this.#byId.size;
  }
  subscriptions(): IterableIterator<Subscription> {
    return this.#byId.values();
  }
  subscription(id: number): Subscription | undefined {
    return this.#byId.get(id);
  }
  lookup(topic: string, match: MatchPolicy): Subscription | undefined {
    return this.#table.get(topic, match);
  }
  match(topic: string): Subscription[] {
    return this.#table.all(topic);
  }

  subscribe(subscriber: Target, msg: Subscribe): void {
    drainFanouts();
    const { request, topic, options } = msg;
    const match = optEnum(options, 'match', matchPolicies, 'exact');
    const getRetained = optBool(options, 'get_retained');
    if (match instanceof OptionError)
      return sendError(subscriber, T.SUBSCRIBE, request, ErrorUri.INVALID_ARGUMENT, match.message);
    if (getRetained instanceof OptionError)
      return sendError(subscriber, T.SUBSCRIBE, request, ErrorUri.INVALID_ARGUMENT, getRetained.message);
    if (!isValidUri(topic, this.#options.uriCheck, match !== 'exact')) {
      return sendError(subscriber, T.SUBSCRIBE, request, ErrorUri.INVALID_URI, `invalid topic URI '${topic}'`);
    }
    let subscription = this.#table.get(topic, match);
    const count = this.#bySession.get(subscriber.id)?.size ?? 0;
    if (
      subscription?.subscribers.has(subscriber.id) !== true &&
      this.#refused(subscriber, 'maxSubscriptionsPerSession', count)
    ) {
      return sendError(
        subscriber,
        T.SUBSCRIBE,
        request,
        LIMIT_EXCEEDED,
        limitMessage('maxSubscriptionsPerSession', this.#limits.maxSubscriptionsPerSession),
      );
    }
    const created = subscription === undefined;
    if (subscription === undefined) {
      subscription = { id: this.#ids.next(), topic, match, created: this.#options.now(), subscribers: new Map() };
      this.#table.set(topic, match, subscription);
      this.#byId.set(subscription.id, subscription);
    }
    // Subscribing twice to the same topic returns the same subscription (spec).
    const already = subscription.subscribers.has(subscriber.id);
    subscription.subscribers.set(subscriber.id, subscriber);
    let mine = this.#bySession.get(subscriber.id);
    if (mine === undefined) this.#bySession.set(subscriber.id, (mine = new Set()));
    mine.add(subscription);
    subscriber.send({ type: T.SUBSCRIBED, request, subscription: subscription.id });
    if (created) this.#options.events?.created(subscriber, subscription);
    if (!already) this.#options.events?.subscribed(subscriber, subscription);
    if (getRetained) sendRetained(this.#options.store, this.#options.realm, subscriber, subscription);
  }

  unsubscribe(subscriber: Target, msg: Unsubscribe): void {
    drainFanouts();
    const subscription = this.#byId.get(msg.subscription);
    if (subscription === undefined || !subscription.subscribers.has(subscriber.id)) {
      return sendError(subscriber, T.UNSUBSCRIBE, msg.request, ErrorUri.NO_SUCH_SUBSCRIPTION);
    }
    subscriber.send({ type: T.UNSUBSCRIBED, request: msg.request });
    this.#detach(subscriber, subscription);
  }

  /** `raw`: the PUBLISH's payload bytes, passed through to subscribers of the same serialization. */
  publish(publisher: Target, msg: Publish, raw?: RawPayload): void {
    const { request, topic, options } = msg;
    // As Crossbar and Autobahn expect: a publisher hears of failures only when it asked for
    // an acknowledgement.
    const acknowledge = options.acknowledge === true;
    const fail = (error: string, message: string) => {
      if (acknowledge) sendError(publisher, T.PUBLISH, request, error, message);
    };
    // A malformed acknowledge is refused outright: we cannot tell what the publisher wanted.
    if (options.acknowledge !== undefined && typeof options.acknowledge !== 'boolean') {
      return sendError(publisher, T.PUBLISH, request, ErrorUri.INVALID_ARGUMENT, 'option acknowledge must be a bool');
    }
    if (!this.publishable(topic)) return fail(ErrorUri.INVALID_URI, `invalid topic URI '${topic}'`);
    const excludeMe = options.exclude_me === undefined ? true : optBool(options, 'exclude_me');
    const discloseMe = optBool(options, 'disclose_me');
    const retain = optBool(options, 'retain');
    const ppt = pptOptions(options, msg);
    for (const v of [excludeMe, discloseMe, retain, ppt])
      if (v instanceof OptionError) return fail(ErrorUri.INVALID_ARGUMENT, v.message);
    const filter = readFilter(options);
    if (filter instanceof OptionError) return fail(ErrorUri.INVALID_ARGUMENT, filter.message);
    const disclosure = this.#options.publisherDisclosure ?? 'optional';
    if (discloseMe === true && disclosure === 'never')
      return fail('wamp.error.option_disallowed.disclose_me', 'this realm does not disclose publishers');

    const details: Dict = ppt === undefined ? {} : { ...(ppt as Dict) };
    // Implementation-specific options (spec "Custom Attributes": "_" and 3+ of [a-z0-9_]) reach
    // subscribers as event details: how MQTT 5 properties travel through WAMP (src/mqtt/).
    for (const key in options) if (CUSTOM_ATTRIBUTE.test(key)) details[key] = options[key];
    if (discloseMe === true || disclosure === 'always') {
      details.publisher = publisher.id;
      details.publisher_authid = publisher.authid;
      details.publisher_authrole = publisher.authrole;
    }
    const event: StoredEvent = {
      topic,
      publication: randomId(this.#options.random),
      timestamp: this.#options.now(),
      args: msg.args,
      kwargs: msg.kwargs,
      details,
      ...(filter && { filter: filter as Dict }),
    };
    const excluded = excludeMe === true ? publisher.id : undefined;
    // A topic's first retained event counts against the publisher's limit.
    if (
      retain === true &&
      this.#options.store.retained(this.#options.realm, topic) === undefined &&
      !this.reserveRetained(publisher)
    )
      return fail(
        LIMIT_EXCEEDED,
        limitMessage('maxRetainedTopicsPerSession', this.#limits.maxRetainedTopicsPerSession),
      );
    const unstorable = this.#keep(event, filter, retain === true);
    if (unstorable !== undefined) return fail(ErrorUri.INVALID_ARGUMENT, unstorable);
    this.#deliver(event, excluded, filter, raw);
    const hold = this.#options.published?.(
      event,
      { excluded, filter: filter as Dict | undefined, retain: retain === true },
      { session: publisher.id, authid: publisher.authid, authrole: publisher.authrole, acknowledge },
    );
    acknowledgePublication(publisher, acknowledge ? request : undefined, event.publication, hold);
  }

  /**
   * A publication accepted elsewhere (by the router it was published to), kept and delivered
   * here as its routing says. One that cannot be kept here is still delivered.
   */
  deliverAccepted(event: StoredEvent, routing: EventRouting): void {
    const filter = routing.filter as Filter | undefined;
    this.#keep(event, filter, routing.retain);
    this.#deliver(event, routing.excluded, filter, undefined);
  }

  /**
   * Retains the event and adds it to its topic's history, as asked and as the realm's rules say,
   * before it is delivered, so that what is acknowledged is kept. The reason when the store
   * cannot hold the payload (nothing was kept then); other store failures are thrown.
   */
  #keep(event: StoredEvent, filter: Filter | undefined, retain: boolean): string | undefined {
    try {
      if (retain) retainEvent(this.#options.store, this.#options.realm, event);
      const rule = this.#history.best(event.topic);
      // Spec "Event History": a publication meant for named sessions only is not kept.
      if (rule !== undefined && filter?.eligible === undefined)
        this.#options.store.append(this.#options.realm, event, rule, this.#options.now());
      return undefined;
    } catch (err) {
      if (err instanceof UnstorableEventError) return err.message;
      throw err;
    }
  }

  /**
   * Publishes from the router itself (meta events, testaments); no publisher to exclude. A
   * testament the store cannot hold is still delivered: its session is gone, nobody to tell.
   */
  emit(topic: string, args?: unknown[], kwargs?: Dict, options: { retain?: boolean } = {}): void {
    const event: StoredEvent = {
      topic,
      publication: randomId(this.#options.random),
      timestamp: this.#options.now(),
      args,
      kwargs,
      details: {},
    };
    if (options.retain === true) {
      try {
        retainEvent(this.#options.store, this.#options.realm, event);
      } catch (err) {
        if (!(err instanceof UnstorableEventError)) throw err;
      }
    }
    this.#deliver(event, undefined, undefined, undefined);
  }

  /** Whether a client may publish to `topic` by its URI (PUBLISH, testaments): valid, not "wamp.". */
  publishable(topic: string): boolean {
    return isValidUri(topic, this.#options.uriCheck) && !isReservedUri(topic);
  }

  /**
   * Counts a topic the session gives a retained event: a PUBLISH's to a topic without one, a
   * retained testament's when it is added (whether its topic will have one by then cannot be
   * known). False, and reported, beyond the limit.
   */
  reserveRetained(session: Target): boolean {
    const count = this.#retainedBy.get(session.id) ?? 0;
    if (this.#refused(session, 'maxRetainedTopicsPerSession', count)) return false;
    this.#retainedBy.set(session.id, count + 1);
    return true;
  }

  /** Gives back what reserveRetained took for `n` testaments that were flushed unpublished. */
  releaseRetained(session: Target, n: number): void {
    const count = this.#retainedBy.get(session.id);
    if (count !== undefined) this.#retainedBy.set(session.id, Math.max(0, count - n));
  }

  /** Whether any subscription matches (lets the meta API skip building events nobody hears). */
  hasSubscribers(topic: string): boolean {
    return this.#table.size > 0 && this.#table.all(topic).length > 0;
  }

  /** See HistoryRules.read. */
  history(subscription: Subscription, reader: Target, limit: number): StoredEvent[] | undefined {
    return this.#history.read(subscription, reader, limit, this.#options.now());
  }

  /** Whether a request is beyond a limit (then counted and reported; the caller answers). */
  #refused(session: Target, kind: LimitKind, count: number): boolean {
    if (count < this.#limits[kind]) return false;
    this.#options.limitExceeded?.(kind, session);
    return true;
  }

  removeSession(session: Target): void {
    drainFanouts();
    this.#retainedBy.delete(session.id);
    const mine = this.#bySession.get(session.id);
    if (mine === undefined) return;
    for (const subscription of [...mine]) this.#detach(session, subscription);
  }

  #deliver(
    event: StoredEvent,
    excluded: number | undefined,
    filter: Filter | undefined,
    raw: RawPayload | undefined,
  ): void {
    if (this.#table.size === 0) return;
    const subscriptions = this.#table.all(event.topic);
    const only = subscriptions.length === 1 ? subscriptions[0]! : undefined;
    if (only !== undefined && filter === undefined && only.subscribers.size >= DEFERRED_FANOUT_FROM) {
      this.#bursts.add(only, excluded, eventFrame(only, event, raw));
      return;
    }
    drainFanouts();
    const allowed = filter === undefined ? undefined : eligibleFor(filter);
    for (const subscription of subscriptions) {
      const frame = eventFrame(subscription, event, raw);
      for (const subscriber of subscription.subscribers.values()) {
        if (subscriber.id === excluded) continue;
        if (allowed !== undefined && !allowed(subscriber)) continue;
        subscriber.sendShared(frame);
      }
    }
  }

  #detach(session: Target, subscription: Subscription): void {
    subscription.subscribers.delete(session.id);
    const mine = this.#bySession.get(session.id);
    mine?.delete(subscription);
    if (mine !== undefined && mine.size === 0) this.#bySession.delete(session.id);
    this.#options.events?.unsubscribed(session, subscription);
    if (subscription.subscribers.size === 0) {
      this.#table.delete(subscription.topic, subscription.match);
      this.#byId.delete(subscription.id);
      this.#options.events?.deleted(session, subscription);
    }
  }
}
