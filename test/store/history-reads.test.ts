// History reads over prefix and wildcard subscriptions (src/router/history-read.ts): complete
// (a quiet topic's kept events are found however many newer events other topics have),
// bounded (in rows pulled out of SQLite, counted, not timed), and the same in both stores.
// Real SQLite files.

import test from 'ava';
import { MemoryEventStore, type EventStore, type StoredEvent } from '../../src/router/event-store.ts';
import { HISTORY_READ_MAX_ROWS, type HistoryBounds, type TopicPattern } from '../../src/router/history-bounds.ts';
import type { Db } from '../../src/store/database.ts';
import { event, open } from './history-support.ts';

const HOUR = 3_600_000;
const busy: HistoryBounds = { rule: 'prefix busy.', limit: 250, maxAgeMs: HOUR, maxTopics: 100 };
const quiet: HistoryBounds = { rule: 'prefix quiet.', limit: 10, maxAgeMs: HOUR, maxTopics: 10 };

/** Two events of quiet.a, then 25,000 kept events of 100 busy topics, all newer. */
function quietThenBusy(store: EventStore, db?: Db): void {
  store.append('r', event('quiet.a', 1000, 'q1'), quiet);
  store.append('r', event('quiet.a', 1001, 'q2'), quiet);
  // One transaction: 25,000 appends would otherwise be 25,000 fsynced commits.
  const fill = () => {
    for (let i = 0; i < 25_000; i++) store.append('r', event(`busy.${i % 100}`, 2000 + i), busy, 2000);
  };
  if (db === undefined) fill();
  else db.transaction(fill)();
}

const args = (events: StoredEvent[]) => events.map((e) => e.args![0]);

test('prefix and wildcard subscriptions on a quiet topic get its kept events after 25,000 newer ones elsewhere', (t) => {
  const { db, store } = open();
  quietThenBusy(store, db);
  t.is((db.prepare('SELECT count(*) AS n FROM history_event').get() as { n: number }).n, 25_002);
  const memory = new MemoryEventStore();
  quietThenBusy(memory);
  for (const s of [store, memory]) {
    t.deepEqual(args(s.readHistory('r', { topic: 'quiet.', match: 'prefix' }, 10)), ['q1', 'q2']);
    t.deepEqual(args(s.readHistory('r', { topic: 'quiet.', match: 'wildcard' }, 10)), ['q1', 'q2']);
    // A leading wildcard: every kept topic of the realm is a candidate.
    t.deepEqual(args(s.readHistory('r', { topic: '.a', match: 'wildcard' }, 10)), ['q1', 'q2']);
    t.deepEqual(args(s.readHistory('r', { topic: 'quiet.a', match: 'exact' }, 1)), ['q2']);
  }
  const rows = store.historyRowsExamined;
  const topics = store.historyTopicsExamined;
  store.readHistory('r', { topic: 'quiet.', match: 'prefix' }, 10);
  // quiet.a's two events, in batches of 1 and 2: what it has, not the busy topics' rows.
  t.is(store.historyRowsExamined - rows, 2);
  t.is(store.historyTopicsExamined - topics, 1, 'the one kept topic in the range');
  db.close();
});

test('a prefix or wildcard matching nothing pulls no event rows; topics only in its range', (t) => {
  const { db, store } = open();
  quietThenBusy(store, db);
  const cost = (pattern: TopicPattern) => {
    const rows = store.historyRowsExamined;
    const topics = store.historyTopicsExamined;
    t.deepEqual(store.readHistory('r', pattern, 100), []);
    return [store.historyRowsExamined - rows, store.historyTopicsExamined - topics];
  };
  t.deepEqual(cost({ topic: 'zzz.', match: 'prefix' }), [0, 0]);
  t.deepEqual(cost({ topic: 'busy.1.', match: 'prefix' }), [0, 0]);
  t.deepEqual(cost({ topic: 'zzz..x', match: 'wildcard' }), [0, 0]);
  // The components before the first wildcard are a range too: busy.'s 100 topics, none of 3 parts.
  t.deepEqual(cost({ topic: 'busy..x', match: 'wildcard' }), [0, 100]);
  // No concrete first component: the realm's kept topics (bounded by the rules' maxTopics).
  t.deepEqual(cost({ topic: '..x', match: 'wildcard' }), [0, 101]);
  db.close();
});

test('a read considers at most HISTORY_READ_MAX_ROWS events, newest first, in both stores alike', (t) => {
  const { db, store } = open();
  quietThenBusy(store, db);
  const memory = new MemoryEventStore();
  quietThenBusy(memory);
  const onlyQuiet = (e: StoredEvent) => e.topic === 'quiet.a';
  const rows = store.historyRowsExamined;
  for (const s of [store, memory])
    t.deepEqual(
      s.readHistory('r', { topic: '.', match: 'wildcard' }, 10, onlyQuiet),
      [],
      'quiet.a lies behind 25,000 newer events the reader does not take',
    );
  // Every busy topic pulled in batches of 1, 2, 4...: within twice the events considered plus
  // a batch per topic, not the 25,000 kept.
  t.true(store.historyRowsExamined - rows <= 2 * HISTORY_READ_MAX_ROWS + 101);
  // Taking all: the newest HISTORY_READ_MAX_ROWS, the same in both.
  const all = (s: EventStore) => s.readHistory('r', { topic: 'busy.', match: 'prefix' }, 1_000_000);
  const fromSqlite = all(store);
  t.is(fromSqlite.length, HISTORY_READ_MAX_ROWS);
  t.is(fromSqlite.at(-1)!.timestamp, 2000 + 24_999);
  t.deepEqual(args(fromSqlite), args(all(memory)));
  db.close();
});

test('both stores give the same answers for the same publications, limits and readers', (t) => {
  const { db, store } = open();
  const memory = new MemoryEventStore();
  const rules: HistoryBounds[] = [
    { rule: 'prefix a.', limit: 7, maxAgeMs: HOUR, maxTopics: 6 },
    { rule: 'wildcard b..c', limit: 3, maxAgeMs: HOUR, maxTopics: 4 },
    { rule: 'exact d', limit: 5, maxAgeMs: HOUR, maxTopics: 1 },
  ];
  // A fixed pseudo-random sequence (LCG): topics under each rule, some reused, some new.
  let seed = 17;
  const next = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) {
      const which = next(3);
      const topic = which === 0 ? `a.${next(9)}.${next(3)}` : which === 1 ? `b.${next(8)}.c` : 'd';
      const e = event(topic, 10_000 + i, i);
      store.append('r', e, rules[which]!, e.timestamp);
      memory.append('r', e, rules[which]!, e.timestamp);
    }
  })();
  const patterns: TopicPattern[] = [
    { topic: 'a.', match: 'prefix' },
    { topic: 'a.3.', match: 'prefix' },
    { topic: 'a..1', match: 'wildcard' },
    { topic: '.5.c', match: 'wildcard' },
    { topic: '..', match: 'wildcard' },
    { topic: 'b.', match: 'prefix' },
    { topic: 'd', match: 'exact' },
    { topic: '', match: 'prefix' },
  ];
  const readers = [() => true, (e: StoredEvent) => typeof e.args![0] !== 'number' || e.args![0] % 3 !== 0];
  const compare = (limits: number[]) => {
    let found = 0;
    for (const pattern of patterns)
      for (const limit of limits)
        for (const accept of readers) {
          const got = store.readHistory('r', pattern, limit, accept);
          t.deepEqual(args(got), args(memory.readHistory('r', pattern, limit, accept)), JSON.stringify(pattern));
          found += got.length;
        }
    return found;
  };
  t.true(compare([1, 2, 5, 40, 1000]) > 200, 'the reads found events (59 kept: 6 x 7, 4 x 3, 5)');
  // Then more events than a read considers, on other topics: the older ones are still found.
  quietThenBusy(memory);
  quietThenBusy(store, db);
  patterns.push(
    { topic: 'quiet.', match: 'wildcard' },
    { topic: '.a', match: 'wildcard' },
    { topic: 'quiet.a', match: 'exact' },
  );
  t.true(compare([3, 50]) > 200);
  db.close();
});
