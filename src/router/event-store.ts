// Where retained events and event history live. The Broker talks to this interface
// synchronously (better-sqlite3 is synchronous); MemoryEventStore serves tests and realms
// without persistence, the SQLite adapter in src/store serves the appliance.

import type { Dict } from '../wamp/messages.ts';
import type { HistoryAdoption, HistoryBounds, TopicPattern } from './history-bounds.ts';
import { MemoryHistory } from './memory-history.ts';

export interface StoredEvent {
  readonly topic: string;
  readonly publication: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
  /** EVENT.Details the publication carried (publisher disclosure, ppt_*). */
  readonly details: Dict;
  /** Black/whitelisting of the original publication, applied to later deliveries too. */
  readonly filter?: Dict;
}

/**
 * Thrown by retain() and append(), having written nothing, when the event's payload cannot be
 * stored (one nested deeper than the store's encoder can go). The Broker stores an event before
 * delivering it, so such a publication is refused with an ERROR instead of being acknowledged
 * and then not kept.
 */
export class UnstorableEventError extends Error {
  override readonly name = 'UnstorableEventError';
}

export interface EventStore {
  retain(realm: string, event: StoredEvent): void;
  /** Forgets the topic's retained event, if any. */
  unretain(realm: string, topic: string): void;
  retained(realm: string, topic: string): StoredEvent | undefined;
  allRetained(realm: string): Iterable<StoredEvent>;
  /**
   * Appends to the topic's history and applies the rule's bounds (see HistoryBounds) as of
   * `now`, the router's clock (the event's own time by default): an event accepted elsewhere
   * carries its origin's clock, which must not age out the rest of the rule's history.
   */
  append(realm: string, event: StoredEvent, bounds: HistoryBounds, now?: number): void;
  /**
   * The newest `limit` kept events of the topics `pattern` matches that `accept` takes, oldest
   * first. The kept topics `pattern` matches are found among the realm's kept topics (at most
   * maxTopics per rule), their events merged newest first (history-read.ts): a quiet topic's
   * events are found however many newer events other topics have, and the read stops at
   * `limit` or after considering HISTORY_READ_MAX_ROWS events.
   */
  readHistory(
    realm: string,
    pattern: TopicPattern,
    limit: number,
    accept?: (event: StoredEvent) => boolean,
  ): StoredEvent[];
  /**
   * When a realm with history rules starts: gives each kept topic to the rule that covers it
   * now (`ruleOf`; the rules may have changed since it was kept), drops the history of topics
   * no rule covers any more, and applies every rule's bounds as of `now`. Says what it deleted.
   */
  adoptHistory(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): HistoryAdoption;
}

export class MemoryEventStore implements EventStore {
  readonly #retained = new Map<string, Map<string, StoredEvent>>();
  readonly #history = new MemoryHistory<StoredEvent>();

  retain(realm: string, event: StoredEvent): void {
    let m = this.#retained.get(realm);
    if (m === undefined) this.#retained.set(realm, (m = new Map()));
    m.set(event.topic, event);
  }

  unretain(realm: string, topic: string): void {
    this.#retained.get(realm)?.delete(topic);
  }

  retained(realm: string, topic: string): StoredEvent | undefined {
    return this.#retained.get(realm)?.get(topic);
  }

  allRetained(realm: string): Iterable<StoredEvent> {
    return this.#retained.get(realm)?.values() ?? [];
  }

  append(realm: string, event: StoredEvent, bounds: HistoryBounds, now = event.timestamp): void {
    this.#history.append(realm, event, bounds, now);
  }

  readHistory(
    realm: string,
    pattern: TopicPattern,
    limit: number,
    accept?: (event: StoredEvent) => boolean,
  ): StoredEvent[] {
    return this.#history.read(realm, pattern, limit, accept);
  }

  adoptHistory(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): HistoryAdoption {
    return this.#history.adopt(realm, ruleOf, now);
  }
}
