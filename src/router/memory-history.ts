// Event history in memory, for tests and routers without a data folder, under the same bounds
// as the SQLite store (HistoryBounds): events per topic, topics per rule, age.

import type { HistoryBounds, StoredEvent, TopicPattern } from './event-store.ts';
import { HISTORY_READ_MAX_ROWS } from './event-store.ts';
import { uriMatches } from './uri-table.ts';

interface Kept {
  /** Append order across the realm: newest first on reading, as the SQLite store's row IDs. */
  readonly seq: number;
  readonly event: StoredEvent;
}

interface RealmHistory {
  /** Per rule, its topics in order of their last append (a Map keeps insertion order). */
  readonly rules: Map<string, Map<string, Kept[]>>;
  /** Which rule holds each topic. */
  readonly ruleOf: Map<string, string>;
}

export class MemoryHistory {
  readonly #realms = new Map<string, RealmHistory>();
  #seq = 0;

  append(realm: string, event: StoredEvent, bounds: HistoryBounds, now: number): void {
    const h = this.#realm(realm);
    const previous = h.ruleOf.get(event.topic);
    const old = previous === undefined ? undefined : h.rules.get(previous);
    const list = old?.get(event.topic) ?? [];
    old?.delete(event.topic);
    list.push({ seq: ++this.#seq, event });
    const topics = this.#rule(h, bounds.rule);
    // Deleted and set again: the topic becomes the rule's most recently published.
    topics.set(event.topic, list);
    h.ruleOf.set(event.topic, bounds.rule);
    this.#bound(h, topics, bounds, now, event.topic);
  }

  read(
    realm: string,
    pattern: TopicPattern,
    limit: number,
    accept: (event: StoredEvent) => boolean = () => true,
  ): StoredEvent[] {
    const h = this.#realms.get(realm);
    if (h === undefined) return [];
    const candidates: Kept[] = [];
    for (const topics of h.rules.values())
      for (const [topic, list] of topics) if (uriMatches(pattern.topic, pattern.match, topic)) candidates.push(...list);
    candidates.sort((a, b) => b.seq - a.seq);
    const out: StoredEvent[] = [];
    for (const { event } of candidates.slice(0, HISTORY_READ_MAX_ROWS)) {
      if (out.length >= limit) break;
      if (accept(event)) out.push(event);
    }
    return out.reverse();
  }

  adopt(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): void {
    const h = this.#realms.get(realm);
    if (h === undefined) return;
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
      if (bounds === undefined) continue;
      all.set(bounds.rule, bounds);
      // Keeps the topic's place by its newest event: topics come over oldest first here only
      // approximately, which is all a memory store for tests needs.
      this.#rule(h, bounds.rule).set(topic, list);
      h.ruleOf.set(topic, bounds.rule);
    }
    for (const [rule, topics] of h.rules) {
      const bounds = all.get(rule);
      if (bounds !== undefined) this.#bound(h, topics, bounds, now, undefined);
    }
  }

  /**
   * Applies a rule's bounds: events per topic and age to the appended topic (to every topic
   * when `appended` is undefined); then, oldest first, drops topics whose newest event is too
   * old, up to the first recent one (topics are in order of their last append, so this costs
   * nothing per publication; older events of recent topics are left to the reader's age
   * filter), and the least recently published topics beyond `maxTopics`.
   */
  #bound(
    h: RealmHistory,
    topics: Map<string, Kept[]>,
    bounds: HistoryBounds,
    now: number,
    appended: string | undefined,
  ): void {
    const oldest = now - bounds.maxAgeMs;
    const trim = (topic: string, list: Kept[]): void => {
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

  #realm(realm: string): RealmHistory {
    let h = this.#realms.get(realm);
    if (h === undefined) this.#realms.set(realm, (h = { rules: new Map(), ruleOf: new Map() }));
    return h;
  }

  #rule(h: RealmHistory, rule: string): Map<string, Kept[]> {
    let topics = h.rules.get(rule);
    if (topics === undefined) h.rules.set(rule, (topics = new Map()));
    return topics;
  }
}
