// Where retained events and event history live. The Broker talks to this interface
// synchronously (better-sqlite3 is synchronous); MemoryEventStore serves tests and realms
// without persistence, the SQLite adapter in src/store serves the appliance.

import type { Dict } from '../wamp/messages.ts';

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
  /** Appends to the topic's history, keeping at most `limit` events no older than `maxAgeMs`. */
  append(realm: string, event: StoredEvent, limit: number, maxAgeMs: number): void;
  /** The newest `limit` events of a topic, oldest first. */
  history(realm: string, topic: string, limit: number): StoredEvent[];
  /** Every kept event of the realm whose topic passes `matches`, oldest first. */
  historyMatching(realm: string, matches: (topic: string) => boolean): StoredEvent[];
}

export class MemoryEventStore implements EventStore {
  readonly #retained = new Map<string, Map<string, StoredEvent>>();
  readonly #history = new Map<string, Map<string, StoredEvent[]>>();

  retain(realm: string, event: StoredEvent): void {
    inner(this.#retained, realm).set(event.topic, event);
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

  append(realm: string, event: StoredEvent, limit: number, maxAgeMs: number): void {
    const topics = inner(this.#history, realm);
    const list = topics.get(event.topic) ?? [];
    list.push(event);
    const oldest = event.timestamp - maxAgeMs;
    while (list.length > limit || (list.length > 0 && list[0]!.timestamp < oldest)) list.shift();
    topics.set(event.topic, list);
  }

  history(realm: string, topic: string, limit: number): StoredEvent[] {
    const list = this.#history.get(realm)?.get(topic) ?? [];
    return list.slice(Math.max(0, list.length - limit));
  }

  historyMatching(realm: string, matches: (topic: string) => boolean): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const [topic, list] of this.#history.get(realm) ?? []) if (matches(topic)) out.push(...list);
    // Publication order across topics: by time, stable within a topic.
    return out.sort((a, b) => a.timestamp - b.timestamp);
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let m = outer.get(key);
  if (m === undefined) outer.set(key, (m = new Map()));
  return m;
}
