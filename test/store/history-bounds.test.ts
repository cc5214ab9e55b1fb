// Event history under prefix and wildcard rules is bounded (src/store/sqlite-history.ts): topics
// per rule, age over every topic of the rule, and rows examined per read. Real SQLite files;
// what is kept is counted in the database itself, what a read costs in rows it pulled.

import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { MemoryEventStore } from '../../src/router/event-store.ts';
import { HISTORY_READ_MAX_ROWS, type HistoryBounds } from '../../src/router/history-bounds.ts';
import { DATABASE_FILE, openDatabase, type Db } from '../../src/store/database.ts';
import { migrations } from '../../src/store/migrations.ts';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.ts';
import { event, open, tmp } from './history-support.ts';

const prefixRule = (over: Partial<HistoryBounds> = {}): HistoryBounds => ({
  rule: 'prefix t17.',
  limit: 2,
  maxAgeMs: 3_600_000,
  maxTopics: 5,
  ...over,
});

const keptTopics = (db: Db) =>
  db
    .prepare<[], { topic: string }>('SELECT DISTINCT topic FROM history_event ORDER BY topic')
    .all()
    .map((r) => r.topic);
const rowsOf = (db: Db, topic: string) =>
  (db.prepare('SELECT count(*) AS n FROM history_event WHERE topic = ?').get(topic) as { n: number }).n;

test('a prefix rule keeps maxTopics topics, the most recently published ones, however many a client makes up', (t) => {
  const { db, store } = open();
  const b = prefixRule();
  for (let i = 0; i < 12; i++) for (let j = 0; j < 3; j++) store.append('r', event(`t17.${i}`, 1000 + i, j), b);
  // t17.7 published again: it is now among the most recent, t17.8 is not.
  store.append('r', event('t17.7', 2000, 'again'), b);
  t.deepEqual(keptTopics(db), ['t17.10', 't17.11', 't17.7', 't17.9', 't17.8'].sort());
  store.append('r', event('t17.new', 2001), b);
  t.deepEqual(keptTopics(db), ['t17.10', 't17.11', 't17.7', 't17.9', 't17.new'].sort(), 'the oldest (t17.8) goes');
  t.is((db.prepare('SELECT count(*) AS n FROM history_event').get() as { n: number }).n, 4 * 2 + 1);
  t.is((db.prepare('SELECT count(*) AS n FROM history_topic').get() as { n: number }).n, 5);
  t.deepEqual(
    store.readHistory('r', { topic: 't17.', match: 'prefix' }, 100).map((e) => e.topic),
    ['t17.7', 't17.9', 't17.9', 't17.10', 't17.10', 't17.11', 't17.11', 't17.7', 't17.new'],
  );
  // Another rule's topics are counted apart.
  store.append('r', event('x.1', 3000), { ...b, rule: 'exact x.1' });
  t.deepEqual(keptTopics(db).length, 6);
  db.close();
});

test('the memory store keeps the same number of topics per rule', (t) => {
  const store = new MemoryEventStore();
  const b = prefixRule();
  for (let i = 0; i < 12; i++) store.append('r', event(`t17.${i}`, 1000 + i), b);
  store.append('r', event('t17.7', 2000), b);
  const topics = new Set(store.readHistory('r', { topic: 't17.', match: 'prefix' }, 100).map((e) => e.topic));
  t.deepEqual([...topics].sort(), ['t17.10', 't17.11', 't17.7', 't17.8', 't17.9']);
  store.append('r', event('t17.new', 2001), b);
  const after = new Set(store.readHistory('r', { topic: 't17.', match: 'prefix' }, 100).map((e) => e.topic));
  t.deepEqual([...after].sort(), ['t17.10', 't17.11', 't17.7', 't17.9', 't17.new'], 'the oldest (t17.8) goes');
});

test('get_events with limit 1 on a prefix over many topics reads one row: the newest', (t) => {
  const { db, store } = open();
  const b = prefixRule({ maxTopics: 1000, limit: 10 });
  db.transaction(() => {
    for (let i = 0; i < 600; i++) for (let j = 0; j < 3; j++) store.append('r', event(`t17.${i}`, 1000 + i, j), b);
  })();
  // Neighbours of the prefix's range, newer than everything under it: not part of the answer.
  for (const topic of ['t17', 't17-', 't17/x', 't18.0', 't16.z'])
    store.append('r', event(topic, 5000), { ...b, rule: `exact ${topic}` });
  // Sorts last in the range (UTF-8 F4 8F BF BF): still under the prefix.
  store.append('r', event('t17.\u{10FFFF}', 4000), b);
  const before = store.historyRowsExamined;
  const got = store.readHistory('r', { topic: 't17.', match: 'prefix' }, 1);
  t.deepEqual(
    got.map((e) => e.topic),
    ['t17.\u{10FFFF}'],
  );
  t.is(store.historyRowsExamined - before, 1, 'one event row pulled out of SQLite, not the realm');

  // Rows the reader does not take (age, black/whitelisting) are passed over, newest first.
  const at = store.historyRowsExamined;
  const older = store.readHistory('r', { topic: 't17.', match: 'prefix' }, 2, (e) => e.topic !== 't17.\u{10FFFF}');
  t.deepEqual(
    older.map((e) => [e.topic, e.args![0]]),
    [
      ['t17.599', 1],
      ['t17.599', 2],
    ],
  );
  // t17.\u{10FFFF}'s one event (and an empty second batch), then t17.599's newest in batches of 1 and 2.
  t.is(store.historyRowsExamined - at, 4);

  // Exact: the topic's newest, oldest first.
  t.deepEqual(
    store.readHistory('r', { topic: 't17.5', match: 'exact' }, 2).map((e) => e.args![0]),
    [1, 2],
  );
  db.close();
});

test('a wildcard read goes newest first, stops at its limit, and reaches events behind many newer ones', (t) => {
  const { db, store } = open();
  const b: HistoryBounds = { rule: 'wildcard dev..temp', limit: 5, maxAgeMs: 3_600_000, maxTopics: 100 };
  store.append('r', event('dev.a.temp', 1000, 'old'), b);
  // More rows of other topics than a read may consider, all newer (written directly: 10,000
  // appends would be 10,000 fsynced commits).
  const insert = db.prepare(
    "INSERT INTO history_event (realm, topic, rule, publication, timestamp, payload) VALUES ('r', ?, 'x', 0, 2000, x'81a0')",
  );
  db.transaction(() => {
    for (let i = 0; i < HISTORY_READ_MAX_ROWS + 500; i++) insert.run(`noise.${i}`);
  })();
  store.append('r', event('dev.b.temp', 3000, 'new'), b);
  store.append('r', event('dev.b.humidity', 3001), b);
  let before = store.historyRowsExamined;
  t.deepEqual(
    store.readHistory('r', { topic: 'dev..temp', match: 'wildcard' }, 1).map((e) => e.args![0]),
    ['new'],
  );
  t.is(store.historyRowsExamined - before, 1, 'stops at the first match, the newest');
  before = store.historyRowsExamined;
  t.deepEqual(
    store.readHistory('r', { topic: 'dev..temp', match: 'wildcard' }, 10).map((e) => e.args![0]),
    ['old', 'new'],
    'the event behind more than HISTORY_READ_MAX_ROWS newer rows of other topics is found',
  );
  t.is(store.historyRowsExamined - before, 2, "the two matching topics' rows only");
  db.close();
});

test('the age trim removes old rows of topics nobody publishes to again', (t) => {
  const { db, store } = open();
  const b = prefixRule({ maxAgeMs: 1000, limit: 10 });
  store.append('r', event('t17.quiet', 0), b);
  store.append('r', event('t17.quiet', 500), b);
  store.append('r', event('t17.busy', 1200), b);
  t.is(rowsOf(db, 't17.quiet'), 1, 'the event at 0 is older than 1200 - 1000');
  store.append('r', event('t17.busy', 1600), b);
  t.is(rowsOf(db, 't17.quiet'), 0);
  t.deepEqual(
    db
      .prepare<[], { topic: string }>('SELECT topic FROM history_topic')
      .all()
      .map((r) => r.topic),
    ['t17.busy'],
    'the topic no longer counts against maxTopics',
  );
  t.is(rowsOf(db, 't17.busy'), 2);
  // Another rule's events are not aged by this rule's maximum age.
  store.append('r', event('keep.me', 0), { ...b, rule: 'exact keep.me', maxAgeMs: 1_000_000 });
  store.append('r', event('t17.busy', 5000), b);
  t.is(rowsOf(db, 'keep.me'), 1);
  // An event accepted from another node carries that node's clock (here a day ahead): the
  // router's own clock says what is old, or one such event would empty the whole rule.
  store.append('r', event('t17.remote', 5000 + 86_400_000), b, 5000);
  t.is(rowsOf(db, 't17.busy'), 1);
  db.close();
});

test('a data folder from before topics were counted upgrades: the rules claim its topics and bound them at start', (t) => {
  const dir = tmp();
  // Schema version 10, with history as the previous version kept it.
  const old = new Database(path.join(dir, DATABASE_FILE));
  for (const m of migrations.slice(0, 10)) old.exec(m);
  old.pragma('user_version = 10');
  const insert = old.prepare(
    "INSERT INTO history_event (realm, topic, publication, timestamp, payload) VALUES ('r', ?, 1, ?, x'81a0')",
  );
  for (let i = 0; i < 50; i++) for (let j = 0; j < 3; j++) insert.run(`t17.${i}`, 1000 + i);
  insert.run('gone.1', 1000);
  old.close();

  const db = openDatabase(dir);
  t.is(db.pragma('user_version', { simple: true }), migrations.length);
  t.is((db.prepare('SELECT count(*) AS n FROM history_topic').get() as { n: number }).n, 51);
  const store = new SqliteEventStore(db);
  const b = prefixRule({ maxTopics: 3, limit: 2 });
  store.adoptHistory('r', (topic) => (topic.startsWith('t17.') ? b : undefined), 2000);
  t.deepEqual(keptTopics(db), ['t17.47', 't17.48', 't17.49'], 'the most recent three; no rule covers gone.1');
  t.is(rowsOf(db, 't17.49'), 2, "the rule's limit applies to topics nobody publishes to");
  t.is((db.prepare("SELECT count(*) AS n FROM history_event WHERE rule <> 'prefix t17.'").get() as { n: number }).n, 0);
  t.is(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
});
