// The outbox on a real SQLite file: group commit before acknowledgement, order, deletion only
// on confirmation, each bound (count, bytes, age) filled past with its policy and counters,
// dead letters and their replay, and what survives a reopen.

import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { Outbox, QUEUE_FULL, type QueueLimits } from '../../src/bridge/outbox.ts';

const roomy: QueueLimits = { maxMessages: 1000, maxBytes: 1 << 20, maxAgeSec: 3600, onFull: 'dropOldest' };

function fresh(t: { teardown(fn: () => void): void }): { dir: string; db: Db } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-outbox-'));
  const db = openDatabase(dir);
  t.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db };
}

const put = (o: Outbox, bridge: string, n: number, size = 10, ack = true) =>
  Array.from({ length: n }, (_, i) =>
    o.put(bridge, { topic: `t.${i}`, dest: `d/${i}`, qos: 1, payload: new Uint8Array(size).fill(i % 256) }, ack),
  );

test('an acknowledged put settles only after its row is committed, in one commit for the whole turn', async (t) => {
  const { db } = fresh(t);
  const commits: number[] = [];
  const o = new Outbox(db, { commitSeconds: (s) => commits.push(s) });
  o.open('b', roomy, () => {});
  const holds = put(o, 'b', 50);
  // Nothing is on disk yet: a crash now loses only what nobody was told about.
  t.is((db.prepare('SELECT count(*) AS n FROM bridge_outbox').get() as { n: number }).n, 0);
  await Promise.all(holds);
  t.is((db.prepare('SELECT count(*) AS n FROM bridge_outbox').get() as { n: number }).n, 50);
  t.is(commits.length, 1, 'one group commit for 50 puts of one turn');
  const rows = o.next('b', 0, 100);
  t.deepEqual(
    rows.map((r) => r.topic),
    Array.from({ length: 50 }, (_, i) => `t.${i}`),
    'in order',
  );
  // Deleted only when confirmed, at the next commit.
  o.confirm(rows[0]!.id);
  t.is(o.next('b', 0, 100).length, 50);
  o.flush();
  t.is(o.next('b', 0, 100).length, 49);
  t.is(o.state('b')!.depth, 49);
});

test('maxMessages with dropOldest: the oldest rows go, counted as "full"', async (t) => {
  const { db } = fresh(t);
  const o = new Outbox(db);
  o.open('b', { ...roomy, maxMessages: 10 }, () => {});
  await Promise.all(put(o, 'b', 25));
  const rows = o.next('b', 0, 100);
  t.deepEqual(
    rows.map((r) => r.topic),
    Array.from({ length: 10 }, (_, i) => `t.${i + 15}`),
  );
  t.is(o.state('b')!.depth, 10);
  t.is(o.state('b')!.dropped.full, 15);
});

test('maxBytes with dropOldest: oldest go until the bytes fit; one event larger than the bound is refused', async (t) => {
  const { db } = fresh(t);
  const o = new Outbox(db);
  o.open('b', { ...roomy, maxBytes: 1024 }, () => {});
  await Promise.all(put(o, 'b', 20, 100));
  t.is(o.state('b')!.depth, 10);
  t.true(o.state('b')!.bytes <= 1024);
  t.is(o.state('b')!.dropped.full, 10);
  const err = await t.throwsAsync(put(o, 'b', 1, 2000)[0]!);
  t.is((err as unknown as { uri: string }).uri, QUEUE_FULL);
  t.is(o.state('b')!.dropped.too_large, 1);
});

test('onFull "reject": the new event is refused with wampmesh.error.bridge_queue_full, the queue kept', async (t) => {
  const { db } = fresh(t);
  const o = new Outbox(db);
  o.open('b', { ...roomy, maxMessages: 5, onFull: 'reject' }, () => {});
  const results = await Promise.allSettled(put(o, 'b', 8));
  t.is(results.filter((r) => r.status === 'fulfilled').length, 5);
  const refused = results.filter((r) => r.status === 'rejected');
  t.is(refused.length, 3);
  t.is((refused[0] as PromiseRejectedResult).reason.uri, QUEUE_FULL);
  t.deepEqual(
    o.next('b', 0, 100).map((r) => r.topic),
    ['t.0', 't.1', 't.2', 't.3', 't.4'],
  );
  t.is(o.state('b')!.dropped.full, 3);
  // Not acknowledged: refused quietly, counted all the same.
  t.is(put(o, 'b', 1, 10, false)[0], undefined);
  t.is(o.state('b')!.dropped.full, 4);
});

test('maxAgeSec: rows older than it are dropped at expiry, counted as "expired"', async (t) => {
  const { db } = fresh(t);
  let now = 1_000_000;
  const o = new Outbox(db, { now: () => now });
  o.open('b', { ...roomy, maxAgeSec: 60 }, () => {});
  await Promise.all(put(o, 'b', 3));
  now += 30_000;
  await Promise.all(put(o, 'b', 2));
  t.is(o.oldestAgeMs('b'), 30_000);
  now += 31_000;
  o.expire();
  t.is(o.state('b')!.depth, 2);
  t.is(o.state('b')!.dropped.expired, 3);
});

test('bridges are separate queues; dead letters are listed and replayed at the end of the queue', async (t) => {
  const { db } = fresh(t);
  const o = new Outbox(db);
  o.open('a', roomy, () => {});
  o.open('b', roomy, () => {});
  await Promise.all([...put(o, 'a', 3), ...put(o, 'b', 2)]);
  t.is(o.next('a', 0, 10).length, 3);
  t.is(o.next('b', 0, 10).length, 2);
  const [first] = o.next('a', 0, 1);
  o.bury(first!.id, 'HTTP 400');
  o.flush();
  const dead = o.deadLetters('a', 10);
  t.is(dead.total, 1);
  t.is(dead.letters[0]!.reason, 'HTTP 400');
  t.is(dead.letters[0]!.topic, 't.0');
  t.deepEqual(
    o.next('a', 0, 10).map((r) => r.topic),
    ['t.1', 't.2'],
  );
  t.is(o.replay('a'), 1);
  t.deepEqual(
    o.next('a', 0, 10).map((r) => r.topic),
    ['t.1', 't.2', 't.0'],
  );
  t.is(o.deadLetters('a', 10).total, 0);
  t.is(o.state('a')!.depth, 3);
});

test('rows survive closing and reopening the database, counted again on open', async (t) => {
  const { dir, db } = fresh(t);
  const o = new Outbox(db);
  o.open('b', roomy, () => {});
  await Promise.all(put(o, 'b', 7, 20));
  o.close();
  db.close();
  const again = openDatabase(dir);
  t.teardown(() => again.close());
  const o2 = new Outbox(again);
  o2.open('b', roomy, () => {});
  t.is(o2.state('b')!.depth, 7);
  t.is(o2.state('b')!.bytes, 140);
  t.is(o2.next('b', 0, 100).length, 7);
});
