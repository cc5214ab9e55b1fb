// Event history in memory, for tests and routers without a data folder, under the same bounds
// as the SQLite store (HistoryBounds): events per topic, topics per rule, age. Read through
// the same merge (history-read.ts), so both stores answer a read alike.

import { ADOPTION_EXAMPLES, type HistoryAdoption, type HistoryBounds, type TopicPattern } from './history-bounds.ts';
import { newestFirst, type TopicEvents } from './history-read.ts';
import { uriMatches } from './uri-table.ts';

/** What the history needs of an event (the store's StoredEvent, without importing the store). */
interface Event {
  readonly topic: string;
  readonly timestamp: number;
}

interface Kept<E extends Event> {
  /** Append order across the realm, as the SQLite store's row IDs. */
  readonly at: number;
  readonly event: E;
}

interface RealmHistory<E extends Event> {
  /** Per rule, its topics in order of their last append (a Map keeps insertion order). */
  readonly rules: Map<string, Map<string, Kept<E>[]>>;
  /** Which rule holds each topic. */
  readonly ruleOf: Map<string, string>;
}

export class MemoryHistory<E extends Event> {
  readonly #realms = new Map<string, RealmHistory<E>>();
  #seq = 0;

  append(realm: string, event: E, bounds: HistoryBounds, now: number): void {
    const h = this.#realm(realm);
    const previous = h.ruleOf.get(event.topic);
    const old = previous === undefined ? undefined : h.rules.get(previous);
    const list = old?.get(event.topic) ?? [];
    old?.delete(event.topic);
    list.push({ at: ++this.#seq, event });
    const topics = this.#rule(h, bounds.rule);
    // Deleted and set again: the topic becomes the rule's most recently published.
    topics.set(event.topic, list);
    h.ruleOf.set(event.topic, bounds.rule);
    this.#bound(h, topics, bounds, now, event.topic);
  }

  /** See EventStore.readHistory (oldest first). */
  read(realm: string, pattern: TopicPattern, limit: number, accept: (event: E) => boolean = () => true): E[] {
    const h = this.#realms.get(realm);
    if (h === undefined) return [];
    const candidates: TopicEvents<Kept<E>>[] = [];
    for (const topics of h.rules.values())
      for (const [topic, list] of topics)
        if (uriMatches(pattern.topic, pattern.match, topic)) candidates.push(pullable(list));
    return newestFirst(candidates, limit, (k) => (accept(k.event) ? k.event : undefined)).reverse();
  }

  /** See EventStore.adoptHistory. */
  adopt(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): HistoryAdoption {
    const h = this.#realms.get(realm);
    const uncovered = { topics: 0, events: 0, examples: [] as string[] };
    if (h === undefined) return { uncovered, bounded: { topics: 0, events: 0 } };
    const count = () => {
      let events = 0;
      for (const topics of h.rules.values()) for (const list of topics.values()) events += list.length;
      return { topics: h.ruleOf.size, events };
    };
    const all = new Map<string, HistoryBounds>();
    for (const [topic, rule] of [...h.ruleOf]) {
      const bounds = ruleOf(topic);
      if (bounds?.rule === rule) {
        all.set(rule, bounds);
        continue;
      }
      const list = h.rules.get(rule)?.get(topic) ?? [];
      h.rules.get(rule)?.delete(topic);
      h.ruleOf.delete(topic);
      if (bounds === undefined) {
        uncovered.topics++;
        uncovered.events += list.length;
        if (uncovered.examples.length < ADOPTION_EXAMPLES) uncovered.examples.push(topic);
        continue;
      }
      all.set(bounds.rule, bounds);
      // Keeps the topic's place by its newest event: topics come over oldest first here only
      // approximately, which is all a memory store for tests needs.
      this.#rule(h, bounds.rule).set(topic, list);
      h.ruleOf.set(topic, bounds.rule);
    }
    const before = count();
    for (const [rule, topics] of h.rules) {
      const bounds = all.get(rule);
      if (bounds !== undefined) this.#bound(h, topics, bounds, now, undefined);
    }
    const after = count();
    return { uncovered, bounded: { topics: before.topics - after.topics, events: before.events - after.events } };
  }

  /**
   * Applies a rule's bounds: events per topic and age to the appended topic (to every topic
   * when `appended` is undefined); then, oldest first, drops topics whose newest event is too
   * old, up to the first recent one (topics are in order of their last append, so this costs
   * nothing per publication; older events of recent topics are left to the reader's age
   * filter), and the least recently published topics beyond `maxTopics`.
   */
  #bound(
    h: RealmHistory<E>,
    topics: Map<string, Kept<E>[]>,
    bounds: HistoryBounds,
    now: number,
    appended: string | undefined,
  ): void {
    const oldest = now - bounds.maxAgeMs;
    const trim = (topic: string, list: Kept<E>[]): void => {
      while (list.length > bounds.limit || (list.length > 0 && list[0]!.event.timestamp < oldest)) list.shift();
      if (list.length > 0) return;
      topics.delete(topic);
      h.ruleOf.delete(topic);
    };
    if (appended === undefined) for (const [topic, list] of topics) trim(topic, list);
    else trim(appended, topics.get(appended)!);
    for (const [topic, list] of topics) {
      if (topics.size <= bounds.maxTopics && list.at(-1)!.event.timestamp >= oldest) break;
      topics.delete(topic);
      h.ruleOf.delete(topic);
    }
  }

  #realm(realm: string): RealmHistory<E> {
    let h = this.#realms.get(realm);
    if (h === undefined) this.#realms.set(realm, (h = { rules: new Map(), ruleOf: new Map() }));
    return h;
  }

  #rule(h: RealmHistory<E>, rule: string): Map<string, Kept<E>[]> {
    let topics = h.rules.get(rule);
    if (topics === undefined) h.rules.set(rule, (topics = new Map()));
    return topics;
  }
}

/** A topic's kept events (oldest first) as a read pulls them, newest first. */
function pullable<E extends Event>(list: readonly Kept<E>[]): TopicEvents<Kept<E>> {
  return {
    newest: list.at(-1)?.at ?? 0,
    pull(atMost, n) {
      // The last event at or before atMost, by bisection: positions grow along the list.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]!.at <= atMost) lo = mid + 1;
        else hi = mid;
      }
      return list.slice(Math.max(0, lo - n), lo).reverse();
    },
  };
}
