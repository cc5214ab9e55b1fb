// The Broker routes events: PUBLISH -> Broker -> EVENT to every subscriber of the topic.
// All subscribers of a topic share one subscription ID, so one EVENT value (and one encoding
// per serializer) serves them all.

import { IdSequence, randomId } from '../wamp/ids.ts';
import { MessageType as T, type Publish, type Subscribe, type Unsubscribe } from '../wamp/messages.ts';
import { ErrorUri, isReservedUri, isValidUri, type UriCheck } from '../wamp/uris.ts';
import { sendError } from './dealer.ts';
import { SharedFrame } from './shared-frame.ts';
import type { Target } from './target.ts';

export interface Subscription {
  readonly id: number;
  readonly topic: string;
  readonly created: number;
  readonly subscribers: Map<number, Target>;
}

export class Broker {
  readonly #uriCheck: UriCheck;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #byTopic = new Map<string, Subscription>();
  readonly #byId = new Map<number, Subscription>();
  readonly #bySession = new Map<number, Set<Subscription>>();
  readonly #ids = new IdSequence();

  constructor(options: { uriCheck: UriCheck; now: () => number; random: () => number }) {
    this.#uriCheck = options.uriCheck;
    this.#now = options.now;
    this.#random = options.random;
  }

  get subscriptionCount(): number { return this.#byId.size; }
  subscriptions(): IterableIterator<Subscription> { return this.#byId.values(); }

  subscribe(subscriber: Target, msg: Subscribe): void {
    const { request, topic, options } = msg;
    const match = options.match;
    if (match !== undefined && match !== 'exact') {
      return sendError(subscriber, T.SUBSCRIBE, request, ErrorUri.INVALID_ARGUMENT, `match policy ${String(match)} is not supported`);
    }
    if (!isValidUri(topic, this.#uriCheck)) {
      return sendError(subscriber, T.SUBSCRIBE, request, ErrorUri.INVALID_URI, `invalid topic URI '${topic}'`);
    }
    let subscription = this.#byTopic.get(topic);
    if (subscription === undefined) {
      subscription = { id: this.#ids.next(), topic, created: this.#now(), subscribers: new Map() };
      this.#byTopic.set(topic, subscription);
      this.#byId.set(subscription.id, subscription);
    }
    // Subscribing twice to the same topic returns the same subscription (spec).
    subscription.subscribers.set(subscriber.id, subscriber);
    let mine = this.#bySession.get(subscriber.id);
    if (mine === undefined) this.#bySession.set(subscriber.id, (mine = new Set()));
    mine.add(subscription);
    subscriber.send({ type: T.SUBSCRIBED, request, subscription: subscription.id });
  }

  unsubscribe(subscriber: Target, msg: Unsubscribe): void {
    const subscription = this.#byId.get(msg.subscription);
    if (subscription === undefined || !subscription.subscribers.has(subscriber.id)) {
      return sendError(subscriber, T.UNSUBSCRIBE, msg.request, ErrorUri.NO_SUCH_SUBSCRIPTION);
    }
    this.#detach(subscriber.id, subscription);
    subscriber.send({ type: T.UNSUBSCRIBED, request: msg.request });
  }

  publish(publisher: Target, msg: Publish): void {
    const { request, topic, options } = msg;
    // As Crossbar and Autobahn expect: a publisher hears of failures only when it asked for
    // an acknowledgement.
    const acknowledge = options.acknowledge === true;
    if (!isValidUri(topic, this.#uriCheck) || isReservedUri(topic)) {
      if (acknowledge) sendError(publisher, T.PUBLISH, request, ErrorUri.INVALID_URI, `invalid topic URI '${topic}'`);
      return;
    }
    const publication = randomId(this.#random);
    const subscription = this.#byTopic.get(topic);
    if (subscription !== undefined) {
      const frame = new SharedFrame({
        type: T.EVENT, subscription: subscription.id, publication, details: {}, args: msg.args, kwargs: msg.kwargs,
      });
      const excludeMe = options.exclude_me !== false;
      for (const subscriber of subscription.subscribers.values()) {
        if (excludeMe && subscriber === publisher) continue;
        subscriber.sendShared(frame);
      }
    }
    if (acknowledge) publisher.send({ type: T.PUBLISHED, request, publication });
  }

  removeSession(session: Target): void {
    const mine = this.#bySession.get(session.id);
    if (mine === undefined) return;
    for (const subscription of [...mine]) this.#detach(session.id, subscription);
  }

  #detach(sessionId: number, subscription: Subscription): void {
    subscription.subscribers.delete(sessionId);
    const mine = this.#bySession.get(sessionId);
    mine?.delete(subscription);
    if (mine !== undefined && mine.size === 0) this.#bySession.delete(sessionId);
    if (subscription.subscribers.size === 0) {
      this.#byTopic.delete(subscription.topic);
      this.#byId.delete(subscription.id);
    }
  }
}
