// The persistent-session queue on a real SQLite file: group commit, the bound per session in
// count and bytes (oldest dropped, counted) with acknowledgements freeing room, and rows that
// outlive the store (a reopen stands for a restart).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { MqttSessionStore, type StoredMessage } from '../../src/mqtt/persistence.ts';
import { openDatabase } from '../../src/store/database.ts';

const message = (n: number, bytes = 1): StoredMessage => ({
  topic: 't',
  payload: new Uint8Array(bytes).fill(n),
  qos: 1,
  retain: false,
});
const committed = (store: MqttSessionStore): Promise<void> => new Promise((r) => store.afterCommit(r));
const firstBytes = (ms: StoredMessage[]): number[] => ms.map((m) => m.payload[0]!);

test('bounded per session in count: the oldest go, acknowledged ones make room, rows survive a reopen', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let db = openDatabase(dir);
  let store = new MqttSessionStore(db);
  store.save('k', []);
  const bounds = { maxMessages: 5, maxBytes: 1 << 20 };
  const sent = Array.from({ length: 8 }, (_, i) => message(i));
  for (const m of sent) store.queue('k', m, bounds);
  await committed(store);
  t.deepEqual(firstBytes(store.pending('k', Date.now())), [3, 4, 5, 6, 7]);
  // Two acknowledged: two more fit without dropping anything.
  store.settled(sent[3]!);
  store.settled(sent[4]!);
  store.queue('k', message(8), bounds);
  store.queue('k', message(9), bounds);
  await committed(store);
  t.deepEqual(firstBytes(store.pending('k', Date.now())), [5, 6, 7, 8, 9]);
  db.close();
  db = openDatabase(dir);
  store = new MqttSessionStore(db);
  t.deepEqual(firstBytes(store.pending('k', Date.now())), [5, 6, 7, 8, 9]);
  t.is(store.load('k', Date.now())?.dropped, 3);
  db.close();
});

test('bounded per session in bytes; another session is not touched', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(dir);
  t.teardown(() => db.close());
  const store = new MqttSessionStore(db);
  store.save('a', []);
  store.save('b', []);
  for (let i = 0; i < 6; i++) {
    store.queue('a', message(i, 100), { maxMessages: 1000, maxBytes: 350 });
    store.queue('b', message(i, 100), { maxMessages: 1000, maxBytes: 10_000 });
  }
  await committed(store);
  t.deepEqual(firstBytes(store.pending('a', Date.now())), [3, 4, 5]);
  t.is(store.pending('b', Date.now()).length, 6);
});
