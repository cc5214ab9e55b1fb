// Event history in SQLite (tables from migration 11), under the bounds of HistoryBounds:
// - events per topic: trimmed as each event is appended;
// - topics per rule: history_topic holds one row per kept topic with its rule and newest event,
//   so a new topic beyond the rule's maxTopics drops the rule's least recently published topic
//   (lowest last_id) by index, however many topics a client made up;
// - age: each append deletes the rule's events older than maxAgeMs, of every topic of the rule,
//   through the (realm, rule, timestamp) index: nothing to delete costs one index lookup.
// Reads find the kept topics a subscription covers in history_topic (a range of its primary key,
// matched in JS: at most the realm's kept topics, maxTopics per rule), then merge their events
// newest first through the per-topic index (history-read.ts), stopping at the caller's limit or
// after HISTORY_READ_MAX_ROWS events.

import {
  ADOPTION_EXAMPLES,
  type HistoryAdoption,
  type HistoryBounds,
  type TopicPattern,
} from '../router/history-bounds.ts';
import { newestFirst, rangeOf, type Positioned, type TopicEvents } from '../router/history-read.ts';
import { uriMatches } from '../router/uri-table.ts';
import type { Db } from './database.ts';

export interface HistoryRow {
  topic: string;
  publication: number;
  timestamp: number;
  payload: Uint8Array;
}

/** Named parameters, for statements that use one several times. */
type Named = Record<string, string | number>;

export class SqliteHistory {
  readonly #stmt;
  /**
   * Event rows (IDs of history_event) and topic rows (history_topic) every read so far has
   * pulled out of SQLite: what a test can count instead of timing.
   */
  rowsExamined = 0;
  topicsExamined = 0;

  constructor(db: Db) {
    this.#stmt = {
      append: db.prepare(
        'INSERT INTO history_event (realm, topic, rule, publication, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      known: db.prepare<[string, string], { rule: string }>(
        'SELECT rule FROM history_topic WHERE realm = ? AND topic = ?',
      ),
      touch: db.prepare(`INSERT INTO history_topic (realm, topic, rule, last_id, last_time) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (realm, topic) DO UPDATE SET rule = excluded.rule, last_id = excluded.last_id,
        last_time = max(last_time, excluded.last_time)`),
      trimCount: db.prepare<[Named]>(`DELETE FROM history_event WHERE realm = @realm AND topic = @topic AND id <= (
        SELECT id FROM history_event WHERE realm = @realm AND topic = @topic ORDER BY id DESC LIMIT 1 OFFSET @n)`),
      // The rule's topics beyond the `maxTopics` most recently published ones.
      evictEvents: db.prepare<[Named]>(`DELETE FROM history_event WHERE realm = @realm AND topic IN (
        SELECT topic FROM history_topic WHERE realm = @realm AND rule = @rule ORDER BY last_id DESC LIMIT -1 OFFSET @n)`),
      evictTopics: db.prepare<[Named]>(`DELETE FROM history_topic WHERE realm = @realm AND topic IN (
        SELECT topic FROM history_topic WHERE realm = @realm AND rule = @rule ORDER BY last_id DESC LIMIT -1 OFFSET @n)`),
      ageEvents: db.prepare('DELETE FROM history_event WHERE realm = ? AND rule = ? AND timestamp < ?'),
      ageTopics: db.prepare('DELETE FROM history_topic WHERE realm = ? AND rule = ? AND last_time < ?'),
      // A range of the primary key: every topic starting with p sorts from p up to p followed by
      // the byte 0xFF, which UTF-8 never contains (and no LIKE, whose escapes a topic could use).
      candidates: db.prepare<[Named], { topic: string; last_id: number }>(`SELECT topic, last_id FROM history_topic
        WHERE realm = @realm AND topic >= @topic AND topic < (@topic || x'FF')`),
      // One topic's IDs, newest first, from the (realm, topic, id) index alone.
      pull: db.prepare<[string, string, number, number], Positioned>(
        'SELECT id AS at FROM history_event WHERE realm = ? AND topic = ? AND id <= ? ORDER BY id DESC LIMIT ?',
      ),
      row: db.prepare<[number], HistoryRow>(
        'SELECT topic, publication, timestamp, payload FROM history_event WHERE id = ?',
      ),
      topics: db.prepare<[string], { topic: string; rule: string }>(
        'SELECT topic, rule FROM history_topic WHERE realm = ?',
      ),
      dropEvents: db.prepare('DELETE FROM history_event WHERE realm = ? AND topic = ?'),
      dropTopic: db.prepare('DELETE FROM history_topic WHERE realm = ? AND topic = ?'),
      moveEvents: db.prepare('UPDATE history_event SET rule = ? WHERE realm = ? AND topic = ?'),
      moveTopic: db.prepare('UPDATE history_topic SET rule = ? WHERE realm = ? AND topic = ?'),
      ruleTopics: db.prepare<[string, string], { topic: string }>(
        'SELECT topic FROM history_topic WHERE realm = ? AND rule = ?',
      ),
    };
  }

  /** Within the caller's transaction. `now`: see EventStore.append. */
  append(realm: string, row: HistoryRow, b: HistoryBounds, now: number): void {
    const s = this.#stmt;
    const known = s.known.get(realm, row.topic);
    const { lastInsertRowid } = s.append.run(realm, row.topic, b.rule, row.publication, row.timestamp, row.payload);
    if (known !== undefined && known.rule !== b.rule) s.moveEvents.run(b.rule, realm, row.topic);
    s.touch.run(realm, row.topic, b.rule, lastInsertRowid, row.timestamp);
    s.trimCount.run({ realm, topic: row.topic, n: b.limit });
    // Only a new topic can take the rule past maxTopics.
    if (known?.rule !== b.rule) this.#evict(realm, b);
    this.#age(realm, b, now);
  }

  /** What `take` makes of the newest `limit` rows it takes among the topics `pattern` matches (newestFirst). */
  read<T>(realm: string, pattern: TopicPattern, limit: number, take: (row: HistoryRow) => T | undefined): T[] {
    const s = this.#stmt;
    const topics: TopicEvents<Positioned>[] = [];
    for (const c of s.candidates.iterate({ realm, topic: rangeOf(pattern) })) {
      this.topicsExamined++;
      if (!uriMatches(pattern.topic, pattern.match, c.topic)) continue;
      topics.push({
        newest: c.last_id,
        pull: (atMost, n) => {
          const ids = s.pull.all(realm, c.topic, atMost, n);
          this.rowsExamined += ids.length;
          return ids;
        },
      });
    }
    return newestFirst(topics, limit, ({ at }) => {
      // Payloads are read for the events considered only.
      const row = s.row.get(at);
      return row === undefined ? undefined : take(row);
    });
  }

  /** Within the caller's transaction. See EventStore.adoptHistory. */
  adopt(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): HistoryAdoption {
    const s = this.#stmt;
    const uncovered = { topics: 0, events: 0, examples: [] as string[] };
    const bounded = { topics: 0, events: 0 };
    const rules = new Map<string, HistoryBounds>();
    const moves: [topic: string, to: HistoryBounds | undefined][] = [];
    // Collected first: better-sqlite3 refuses writes while a statement is being iterated.
    for (const { topic, rule } of s.topics.iterate(realm)) {
      const b = ruleOf(topic);
      if (b !== undefined) rules.set(b.rule, b);
      if (b?.rule !== rule) moves.push([topic, b]);
    }
    for (const [topic, b] of moves) {
      if (b === undefined) {
        uncovered.events += s.dropEvents.run(realm, topic).changes;
        uncovered.topics += s.dropTopic.run(realm, topic).changes;
        if (uncovered.examples.length < ADOPTION_EXAMPLES) uncovered.examples.push(topic);
      } else {
        s.moveEvents.run(b.rule, realm, topic);
        s.moveTopic.run(b.rule, realm, topic);
      }
    }
    const add = (d: { topics: number; events: number }) => {
      bounded.topics += d.topics;
      bounded.events += d.events;
    };
    for (const b of rules.values()) {
      add(this.#evict(realm, b));
      add(this.#age(realm, b, now));
      // A limit lowered since: topics nobody publishes to any more are trimmed now.
      for (const { topic } of s.ruleTopics.all(realm, b.rule))
        bounded.events += s.trimCount.run({ realm, topic, n: b.limit }).changes;
    }
    return { uncovered, bounded };
  }

  /** Rows deleted. */
  #evict(realm: string, b: HistoryBounds): { topics: number; events: number } {
    const named = { realm, rule: b.rule, n: b.maxTopics };
    const events = this.#stmt.evictEvents.run(named).changes;
    return { events, topics: this.#stmt.evictTopics.run(named).changes };
  }

  /** Rows deleted. */
  #age(realm: string, b: HistoryBounds, now: number): { topics: number; events: number } {
    const oldest = now - b.maxAgeMs;
    const events = this.#stmt.ageEvents.run(realm, b.rule, oldest).changes;
    return { events, topics: this.#stmt.ageTopics.run(realm, b.rule, oldest).changes };
  }
}
