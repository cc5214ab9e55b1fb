// Event history in SQLite (tables from migration 11), under the bounds of HistoryBounds:
// - events per topic: trimmed as each event is appended;
// - topics per rule: history_topic holds one row per kept topic with its rule and newest event,
//   so a new topic beyond the rule's maxTopics drops the rule's least recently published topic
//   (lowest last_id) by index, however many topics a client made up;
// - age: each append deletes the rule's events older than maxAgeMs, of every topic of the rule,
//   through the (realm, rule, timestamp) index: nothing to delete costs one index lookup.
// Reads go newest first and stop at the caller's limit or HISTORY_READ_MAX_ROWS rows.

import { HISTORY_READ_MAX_ROWS, type HistoryBounds, type TopicPattern } from '../router/event-store.ts';
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

interface Candidate {
  id: number;
  topic: string;
}

export class SqliteHistory {
  readonly #stmt;
  /** Rows every read so far has pulled out of SQLite: what a test can count instead of timing. */
  rowsExamined = 0;

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
      // Newest first, ID and topic only, from covering indexes in their order (no sort, so the
      // statement stops where the reader does); payloads are read for matching rows only.
      exact: db.prepare<[string, string, number], Candidate>(
        'SELECT id, topic FROM history_event WHERE realm = ? AND topic = ? ORDER BY id DESC LIMIT ?',
      ),
      // A prefix is a range: every string starting with p sorts from p up to p followed by the
      // byte 0xFF, which UTF-8 never contains (and no LIKE, whose escapes a topic could use).
      // Through the realm's newest-first index, not the topic index: a range over the latter
      // would sort all of the range's events before yielding the newest.
      prefix: db.prepare<[Named], Candidate>(`SELECT id, topic FROM history_event INDEXED BY history_event_recent
        WHERE realm = @realm AND topic >= @topic AND topic < (@topic || x'FF') ORDER BY id DESC LIMIT @n`),
      // Wildcards are matched here in JS, on the realm's events newest first.
      realm: db.prepare<[string, number], Candidate>(
        'SELECT id, topic FROM history_event INDEXED BY history_event_recent WHERE realm = ? ORDER BY id DESC LIMIT ?',
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

  /**
   * What `take` makes of the newest `limit` rows it takes (returns other than undefined) among
   * the topics `pattern` matches, newest first, having examined at most HISTORY_READ_MAX_ROWS.
   */
  read<T>(realm: string, pattern: TopicPattern, limit: number, take: (row: HistoryRow) => T | undefined): T[] {
    const s = this.#stmt;
    const max = HISTORY_READ_MAX_ROWS;
    const candidates =
      pattern.match === 'exact'
        ? s.exact.iterate(realm, pattern.topic, max)
        : pattern.match === 'prefix'
          ? s.prefix.iterate({ realm, topic: pattern.topic, n: max })
          : s.realm.iterate(realm, max);
    const out: T[] = [];
    for (const c of candidates) {
      this.rowsExamined++;
      if (pattern.match === 'wildcard' && !uriMatches(pattern.topic, 'wildcard', c.topic)) continue;
      const row = s.row.get(c.id);
      const taken = row === undefined ? undefined : take(row);
      if (taken === undefined) continue;
      out.push(taken);
      // Leaving the loop ends the statement (better-sqlite3 resets it): no more rows are read.
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Within the caller's transaction. See EventStore.adoptHistory. */
  adopt(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): void {
    const s = this.#stmt;
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
        s.dropEvents.run(realm, topic);
        s.dropTopic.run(realm, topic);
      } else {
        s.moveEvents.run(b.rule, realm, topic);
        s.moveTopic.run(b.rule, realm, topic);
      }
    }
    for (const b of rules.values()) {
      this.#evict(realm, b);
      this.#age(realm, b, now);
      // A limit lowered since: topics nobody publishes to any more are trimmed now.
      for (const { topic } of s.ruleTopics.all(realm, b.rule)) s.trimCount.run({ realm, topic, n: b.limit });
    }
  }

  #evict(realm: string, b: HistoryBounds): void {
    const named = { realm, rule: b.rule, n: b.maxTopics };
    this.#stmt.evictEvents.run(named);
    this.#stmt.evictTopics.run(named);
  }

  #age(realm: string, b: HistoryBounds, now: number): void {
    const oldest = now - b.maxAgeMs;
    this.#stmt.ageEvents.run(realm, b.rule, oldest);
    this.#stmt.ageTopics.run(realm, b.rule, oldest);
  }
}
