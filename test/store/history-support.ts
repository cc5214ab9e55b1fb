// What the history store tests share: a store on a fresh SQLite file, and events of a topic
// with publication IDs that count up (per test file: each runs in its own worker).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StoredEvent } from '../../src/router/event-store.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.ts';

export const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-history-'));

let publication = 0;
export const event = (topic: string, timestamp: number, arg: unknown = topic): StoredEvent => ({
  topic,
  publication: ++publication,
  timestamp,
  args: [arg],
  details: {},
});

export function open(): { db: Db; store: SqliteEventStore } {
  const db = openDatabase(tmp());
  return { db, store: new SqliteEventStore(db) };
}
