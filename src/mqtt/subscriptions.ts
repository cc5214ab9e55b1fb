// One client's MQTT subscriptions and the WAMP subscriptions behind them. A filter may need
// two WAMP subscriptions ("a/#": exact "a" and prefix "a."), and two filters may share one
// ("a" and "a/#" both need exact "a"), so WAMP subscriptions are counted by the filters using them.

import type { QoS } from 'mqtt-packet';

export interface FilterOptions {
  qos: QoS;
  /** No Local (MQTT 5): not sent the client's own publications. */
  nl: boolean;
  /** Retain As Published (MQTT 5). */
  rap: boolean;
}

interface Entry extends FilterOptions {
  readonly wampIds: Set<number>;
}

export interface Delivery {
  qos: QoS;
  rap: boolean;
}

export class Subscriptions {
  // Made by the first SUBSCRIBE: an idle client holds no empty Maps.
  #byFilter: Map<string, Entry> | undefined;
  #byWamp: Map<number, { topic: string; filters: Set<string> }> | undefined;

  get size(): number {
    return this.#byFilter?.size ?? 0;
  }
  /** WAMP subscriptions held (a filter may need two; two filters may share one). */
  get wampSubscriptions(): number {
    return this.#byWamp?.size ?? 0;
  }
  has(filter: string): boolean {
    return this.#byFilter?.has(filter) === true;
  }
  filters(): IterableIterator<[string, FilterOptions]> {
    return (this.#byFilter ?? new Map<string, Entry>()).entries();
  }

  /**
   * Adds a filter, or replaces its options (MQTT 3.8.4: a SUBSCRIBE to a filter held replaces
   * it; its WAMP subscriptions stay). Its WAMP subscriptions are linked as they are confirmed.
   */
  set(filter: string, options: FilterOptions): void {
    const wampIds = this.#byFilter?.get(filter)?.wampIds ?? new Set<number>();
    (this.#byFilter ??= new Map()).set(filter, { ...options, wampIds });
  }

  /** A WAMP subscription (on `topic`) confirmed for `filter`. */
  link(filter: string, wampId: number, topic: string): void {
    const entry = this.#byFilter?.get(filter);
    if (entry === undefined) return;
    entry.wampIds.add(wampId);
    let w = this.#byWamp?.get(wampId);
    if (w === undefined) (this.#byWamp ??= new Map()).set(wampId, (w = { topic, filters: new Set() }));
    w.filters.add(filter);
  }

  /** The topic (or pattern) of a WAMP subscription held. */
  topicOf(wampId: number): string | undefined {
    return this.#byWamp?.get(wampId)?.topic;
  }

  /** Removes a filter; returns the WAMP subscriptions no filter needs any more. */
  delete(filter: string): number[] {
    const entry = this.#byFilter?.get(filter);
    if (entry === undefined) return [];
    this.#byFilter!.delete(filter);
    const unused: number[] = [];
    for (const id of entry.wampIds) {
      const filters = this.#byWamp?.get(id)?.filters;
      filters?.delete(filter);
      if (filters === undefined || filters.size === 0) {
        this.#byWamp?.delete(id);
        unused.push(id);
      }
    }
    return unused;
  }

  /**
   * How an EVENT of a WAMP subscription goes to the client: at the highest QoS of the filters
   * it matches (MQTT 3.3.5); undefined when none wants it (own publication, all No Local).
   */
  delivery(wampId: number, own: boolean): Delivery | undefined {
    const filters = this.#byWamp?.get(wampId)?.filters;
    if (filters === undefined) return undefined;
    let best: Delivery | undefined;
    for (const f of filters) {
      const e = this.#byFilter!.get(f)!;
      if (own && e.nl) continue;
      if (best === undefined || e.qos > best.qos) best = { qos: e.qos, rap: e.rap || (best?.rap ?? false) };
      else if (e.rap) best.rap = true;
    }
    return best;
  }
}
