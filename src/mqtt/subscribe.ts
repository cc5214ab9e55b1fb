// An MQTT topic filter made into WAMP subscriptions (one or two, see topics.ts), and undone.
// A filter counts as subscribed only when all its WAMP subscriptions are: one refused, the
// others are dropped again and the filter gets the refusal's code. `Subscriber` is one session's
// side of it: SUBSCRIBE and UNSUBSCRIBE from its client, and its filters again on resumption.

import type { ISubscribePacket, IUnsubscribePacket, Packet, QoS } from 'mqtt-packet';
import { MessageType as T, type Dict, type Message } from '../wamp/messages.ts';
import { Reason, reasonOfError, SUBACK_FAILURE_311 } from './reason-codes.ts';
import type { FilterOptions, Subscriptions } from './subscriptions.ts';
import { filterToWamp } from './topics.ts';

/** A session's way to send WAMP requests and get their answers. */
export interface WampRequests {
  request(reply: ((message: Message) => void) | undefined): number;
  deliver(message: Message): void;
}

/** What a Subscriber needs of its session. */
export interface SubscriberSink {
  /** SUBACK, UNSUBACK. */
  write(packet: Packet): void;
  /** The client broke a rule: its connection ends. */
  fail(reason: number, message: string): void;
  /** A filter WAMP cannot express (its SUBACK code says so). */
  filterRefused(filter: string, message: string): void;
  /** The filters held changed (a persistent session records them). */
  filtersChanged(): void;
}

/** One session's filters, as its client subscribes and unsubscribes them. */
export class Subscriber {
  readonly #subs: Subscriptions;
  readonly #wamp: WampRequests;
  readonly #sink: SubscriberSink;
  // The limits' fields, not the object: it is not kept per client.
  readonly #v5: boolean;
  readonly #maxSubscriptions: number;

  constructor(
    subs: Subscriptions,
    wamp: WampRequests,
    limits: { v5: boolean; maxSubscriptions: number },
    sink: SubscriberSink,
  ) {
    this.#subs = subs;
    this.#wamp = wamp;
    this.#sink = sink;
    this.#v5 = limits.v5;
    this.#maxSubscriptions = limits.maxSubscriptions;
  }

  /** The filters held, with their options. */
  filters(): IterableIterator<[string, FilterOptions]> {
    return this.#subs.filters();
  }

  subscribe(p: ISubscribePacket): void {
    const limits = { v5: this.#v5, maxSubscriptions: this.#maxSubscriptions };
    const refused = subscribePacket(this.#subs, p, limits, this.#add.bind(this), (granted) => {
      this.#sink.write({ cmd: 'suback', messageId: p.messageId!, granted });
      this.#sink.filtersChanged();
    });
    if (refused !== undefined) this.#sink.fail(refused.reason, refused.message);
  }

  unsubscribe(p: IUnsubscribePacket): void {
    const granted = unsubscribePacket(this.#wamp, this.#subs, p);
    // UNSUBSCRIBE is answered at once: what it ends, ends here whatever the router says.
    this.#sink.write({ cmd: 'unsuback', messageId: p.messageId!, granted }); // 3.1.1 UNSUBACK has no codes: not written
    this.#sink.filtersChanged();
  }

  /** A resumed or restored session's filters again, under today's grants (no retained messages). */
  resubscribe(filters: Iterable<[string, FilterOptions]>): void {
    for (const [filter, options] of filters) this.#add(filter, options, false, () => {});
  }

  #add(filter: string, options: FilterOptions, getRetained: boolean, done: (code: number) => void): void {
    const refused = addFilter(this.#wamp, this.#subs, filter, options, getRetained, done);
    if (refused !== undefined) this.#sink.filterRefused(filter, refused);
  }
}

/**
 * Subscribes `filter`; `done` gets its SUBACK code (the granted QoS, or a refusal). Returns why
 * a filter WAMP cannot express was refused at once (`done` has had its code then).
 */
export function addFilter(
  wamp: WampRequests,
  subs: Subscriptions,
  filter: string,
  options: FilterOptions,
  getRetained: boolean,
  done: (code: number) => void,
): string | undefined {
  const mapped = filterToWamp(filter);
  if (!mapped.ok) {
    done(mapped.reason);
    return mapped.message;
  }
  subs.set(filter, options);
  let left = mapped.value.length;
  let failed: number | undefined;
  for (const w of mapped.value) {
    const wampOptions: Dict = {};
    if (w.match !== 'exact') wampOptions.match = w.match;
    if (getRetained) wampOptions.get_retained = true;
    const request = wamp.request((reply) => {
      if (reply.type === T.SUBSCRIBED) subs.link(filter, reply.subscription, w.topic);
      else if (reply.type === T.ERROR) failed ??= reasonOfError(reply.error, true);
      if (--left > 0) return;
      if (failed !== undefined) dropFilter(wamp, subs, filter);
      done(failed ?? options.qos);
    });
    wamp.deliver({ type: T.SUBSCRIBE, request, options: wampOptions, topic: w.topic });
  }
  return undefined;
}

export function dropFilter(wamp: WampRequests, subs: Subscriptions, filter: string): void {
  for (const subscription of subs.delete(filter)) {
    wamp.deliver({ type: T.UNSUBSCRIBE, request: wamp.request(undefined), subscription });
  }
}

/** Subscribes one filter: `done` gets its SUBACK code. */
export type AddFilter = (
  filter: string,
  options: FilterOptions,
  getRetained: boolean,
  done: (code: number) => void,
) => void;

/**
 * SUBSCRIBE: every filter subscribed or refused, then `answer` gets the SUBACK codes in order
 * (MQTT 3.1.1: a refusal as 0x80). Retain Handling (MQTT 5): 0 sends the retained messages,
 * 1 only for a new subscription, 2 never. Returns why the packet as a whole is refused (the
 * connection ends then, nothing is subscribed).
 */
export function subscribePacket(
  subs: Subscriptions,
  p: ISubscribePacket,
  limits: { v5: boolean; maxSubscriptions: number },
  add: AddFilter,
  answer: (granted: number[]) => void,
): { reason: number; message: string } | undefined {
  const v5 = limits.v5;
  if (v5 && p.properties?.subscriptionIdentifier !== undefined)
    return {
      reason: Reason.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
      message: 'subscription identifiers are not supported',
    };
  const codes: number[] = new Array<number>(p.subscriptions.length).fill(Reason.UNSPECIFIED_ERROR);
  let outstanding = 1; // released after the loop, so a synchronous router cannot answer early
  const done = (): void => {
    if (--outstanding > 0) return;
    answer(v5 ? codes : codes.map((c) => (c >= 0x80 ? SUBACK_FAILURE_311 : c)));
  };
  p.subscriptions.forEach((s, i) => {
    const isNew = !subs.has(s.topic);
    if (isNew && subs.size >= limits.maxSubscriptions) {
      codes[i] = Reason.QUOTA_EXCEEDED;
      return;
    }
    const qos = Math.min(s.qos, 2) as QoS;
    const rh = v5 ? (s.rh ?? 0) : 0;
    outstanding++;
    add(
      s.topic,
      { qos, nl: v5 && s.nl === true, rap: v5 && s.rap === true },
      rh === 0 || (rh === 1 && isNew),
      (code) => {
        codes[i] = code;
        done();
      },
    );
  });
  done();
  return undefined;
}

/** UNSUBSCRIBE: every filter held is dropped; the UNSUBACK codes in order. */
export function unsubscribePacket(wamp: WampRequests, subs: Subscriptions, p: IUnsubscribePacket): number[] {
  return p.unsubscriptions.map((filter) => {
    if (!subs.has(filter)) return Reason.NO_SUBSCRIPTION_EXISTED;
    dropFilter(wamp, subs, filter);
    return Reason.SUCCESS;
  });
}
