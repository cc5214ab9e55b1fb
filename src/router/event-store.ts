// Where retained events and event history live. The Broker talks to this interface
// synchronously (better-sqlite3 is synchronous); MemoryEventStore serves tests and realms
// without persistence, the SQLite adapter in src/store serves the appliance.

import type { Dict } from '../wamp/messages.ts';
import { MemoryHistory } from './memory-history.ts';
import type { MatchPolicy } from './uri-table.ts';

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

/**
 * What one history rule lets the router keep. Everything a client can add to the history is
 * bounded by these: `limit` events per topic, `maxTopics` topics per rule (a client publishing
 * to ever new topics under a prefix or wildcard rule replaces the rule's least recently
 * published topic instead of growing the database), and no event older than `maxAgeMs`.
 */
export interface HistoryBounds {
  /** Names the rule ("prefix com.app." say): its topics are counted and aged together. */
  readonly rule: string;
  readonly limit: number;
  readonly maxAgeMs: number;
  readonly maxTopics: number;
}

/**
 * Topics per history rule unless configured. 1000 covers a rule over per-device topics of a
 * site (one topic per sensor or machine) while keeping what one rule can hold on disk to
 * 1000 x `limit` events (at the default 100 events of a few hundred bytes, some tens of MB).
 */
export const DEFAULT_HISTORY_MAX_TOPICS = 1000;

/**
 * At most this many kept events, newest first, are examined by one history read (a
 * get_events call): what a call with a huge limit, or a wildcard subscription matching little
 * of a large history, costs the router before it answers with what it found. Ten times the
 * gateway's replay (sseReplayMax, 1000), so a replay is whole unless most events are filtered
 * out; at the cap, some 10 ms of scanning, or up to 0.15 s when all 10,000 are decoded and
 * answered, instead of a read of the whole history while every other session waits.
 */
export const HISTORY_READ_MAX_ROWS = 10_000;

/** Which kept topics a history read covers: a subscription's topic and match policy. */
export interface TopicPattern {
  readonly topic: string;
  readonly match: MatchPolicy;
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
   * first. Examines at most HISTORY_READ_MAX_ROWS events, newest first, and stops at `limit`.
   */
  readHistory(
    realm: string,
    pattern: TopicPattern,
    limit: number,
    accept?: (event: StoredEvent) => boolean,
  ): StoredEvent[];
  /**
   * When a realm starts: gives each kept topic to the rule that covers it now (`ruleOf`; the
   * rules may have changed since it was kept), drops the history of topics no rule covers any
   * more, and applies every rule's bounds as of `now`.
   */
  adoptHistory(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): void;
}

export class MemoryEventStore implements EventStore {
  readonly #retained = new Map<string, Map<string, StoredEvent>>();
  readonly #history = new MemoryHistory();

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

  adoptHistory(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): void {
    this.#history.adopt(realm, ruleOf, now);
  }
}
