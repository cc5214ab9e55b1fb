// A realm's history rules as the Broker applies them: which rule keeps a published topic, what
// a subscription's history read covers, and what happens to the history kept before when the
// realm starts.

import type { Logger } from '../log.ts';
import type { EventStore, StoredEvent } from './event-store.ts';
import { DEFAULT_HISTORY_MAX_TOPICS, type HistoryBounds, type TopicPattern } from './history-bounds.ts';
import { eligible, type Filter } from './subscriber-filter.ts';
import type { Target } from './target.ts';
import { UriTable, type MatchPolicy } from './uri-table.ts';

/** Which topics keep history, how many events and for how long (realm configuration). */
export interface HistoryRule {
  readonly topic: string;
  readonly match: MatchPolicy;
  /** Events per topic. */
  readonly limit: number;
  readonly maxAgeMs: number;
  /** Topics the rule keeps at once (DEFAULT_HISTORY_MAX_TOPICS when absent). */
  readonly maxTopics?: number;
}

export class HistoryRules {
  readonly #table = new UriTable<HistoryRule & HistoryBounds>();
  readonly #rules: readonly HistoryRule[];
  readonly #store: EventStore;
  readonly #realm: string;

  constructor(realm: string, store: EventStore, rules: readonly HistoryRule[]) {
    this.#realm = realm;
    this.#store = store;
    this.#rules = rules;
    for (const rule of rules) {
      const bounds = {
        ...rule,
        rule: `${rule.match} ${rule.topic}`,
        maxTopics: rule.maxTopics ?? DEFAULT_HISTORY_MAX_TOPICS,
      };
      this.#table.set(rule.topic, rule.match, bounds);
    }
  }

  /** The rule that keeps `topic`'s events, if any. */
  best(topic: string): HistoryBounds | undefined {
    return this.#table.best(topic);
  }

  /**
   * Claims what was kept under other rules (or before topics were counted) and drops what no
   * rule covers, logging what it deleted. A realm without rules adopts nothing: it keeps no
   * history, and one built without the rules its history was kept under (a store realm, a
   * realm re-created at runtime, a config file edited by mistake) must not wipe that history.
   */
  adopt(now: number, logger: Logger | undefined): void {
    if (this.#rules.length === 0) return;
    const { uncovered, bounded } = this.#store.adoptHistory(this.#realm, (topic) => this.best(topic), now);
    if (uncovered.topics > 0)
      logger?.warn(
        { realm: this.#realm, topics: uncovered.topics, events: uncovered.events, examples: uncovered.examples },
        'history deleted at realm start: topics no history rule of the realm covers (realms[].history)',
      );
    if (bounded.events > 0 || bounded.topics > 0)
      logger?.info(
        { realm: this.#realm, topics: bounded.topics, events: bounded.events },
        "history deleted at realm start: beyond the rules' limit, maxTopics or maxAgeSec",
      );
  }

  /**
   * The newest `limit` kept events of a subscription's topic(s) that `reader` may see, oldest
   * first; undefined when no history rule can apply to the subscription. Publications restricted
   * by session ID were never stored; authid/authrole restrictions and the rule's maximum age
   * apply on reading. The store considers the kept topics the subscription covers and their
   * events newest first, and stops at `limit` or at HISTORY_READ_MAX_ROWS events considered.
   */
  read(subscription: TopicPattern, reader: Target, limit: number, now: number): StoredEvent[] | undefined {
    const covered =
      subscription.match === 'exact'
        ? this.best(subscription.topic) !== undefined
        : this.#rules.some(
            (r) =>
              subscription.match === 'wildcard' ||
              r.match === 'wildcard' ||
              r.topic.startsWith(subscription.topic) ||
              subscription.topic.startsWith(r.topic),
          );
    if (!covered) return undefined;
    return this.#store.readHistory(this.#realm, subscription, limit, (e) => {
      const rule = this.best(e.topic);
      if (rule !== undefined && e.timestamp < now - rule.maxAgeMs) return false;
      return e.filter === undefined || eligible(e.filter as Filter, reader);
    });
  }
}
