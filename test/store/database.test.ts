import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { DATABASE_FILE, openDatabase, StoreError } from '../../src/store/database.ts';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-db-'));
const root = path.resolve(import.meta.dirname, '../..');

function openInChild(dir: string) {
  const code =
    `import('${root}/src/store/database.ts').then((m) => { try { m.openDatabase(${JSON.stringify(dir)}); ` +
    `console.log('opened'); } catch (e) { console.log(e.code + ' ' + e.message); } })`;
  return spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' }).stdout.trim();
}

test('a second process cannot open a data folder in use, and can once it is closed', (t) => {
  const dir = tmp();
  const db = openDatabase(dir);
  const busy = openInChild(dir);
  t.regex(busy, /^SQLITE_BUSY .*wampmesh\.db: in use by another wampmesh process/);
  db.close();
  t.is(openInChild(dir), 'opened');
});

test('WAL, synchronous FULL and the schema version are set', (t) => {
  const db = openDatabase(tmp());
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(db.pragma('synchronous', { simple: true }), 2);
  t.true((db.pragma('user_version', { simple: true }) as number) >= 1);
  db.close();
});

test('a corrupt database file gives an error naming the file', (t) => {
  const dir = tmp();
  fs.writeFileSync(
    path.join(dir, DATABASE_FILE),
    'this is not sqlite, just text long enough to look like a header....................................................',
  );
  const err = t.throws(() => openDatabase(dir), { instanceOf: StoreError });
  t.regex(err!.message, /wampmesh\.db: corrupt or not a SQLite database/);
});

test('retained events and history survive reopening, binary values intact', (t) => {
  const dir = tmp();
  const bounds = { rule: 'exact com.h', limit: 3, maxAgeMs: 60_000, maxTopics: 10 };
  const exact = { topic: 'com.h', match: 'exact' } as const;
  let db = openDatabase(dir);
  let store = new SqliteEventStore(db);
  const bytes = new Uint8Array([0, 1, 254, 255]);
  store.retain('realm1', {
    topic: 'com.a',
    publication: 7,
    timestamp: 1000,
    args: [bytes, 'ü'],
    kwargs: { n: 2 ** 53 },
    details: { publisher: 5 },
  });
  for (let i = 0; i < 5; i++)
    store.append('realm1', { topic: 'com.h', publication: i + 1, timestamp: 1000 + i, args: [i], details: {} }, bounds);
  db.close();
  db = openDatabase(dir);
  store = new SqliteEventStore(db);
  const r = store.retained('realm1', 'com.a')!;
  t.deepEqual([...(r.args![0] as Uint8Array)], [...bytes]);
  t.deepEqual(r.kwargs, { n: 2 ** 53 });
  t.deepEqual(r.details, { publisher: 5 });
  t.deepEqual(
    store.readHistory('realm1', exact, 10).map((e) => e.args![0]),
    [2, 3, 4],
  );
  t.deepEqual(
    store.readHistory('realm1', exact, 2).map((e) => e.args![0]),
    [3, 4],
  );
  store.append('realm1', { topic: 'com.h', publication: 9, timestamp: 100_000, args: [9], details: {} }, bounds);
  t.deepEqual(
    store.readHistory('realm1', exact, 10).map((e) => e.args![0]),
    [9],
    'events older than maxAge are dropped',
  );
  t.is(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
});

test('a read-only data folder gives a clear error naming the file', (t) => {
  const dir = tmp();
  openDatabase(dir).close();
  fs.chmodSync(path.join(dir, DATABASE_FILE), 0o444);
  fs.chmodSync(dir, 0o555);
  // Root's permissions bind only without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: the opener
  // runs as root without them (setpriv is util-linux) rather than as another user, who may not
  // be able to read the checkout at all (a clone under /root, mode 0700 on Debian).
  const asUser = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search'] : [];
  const code =
    `import('${root}/src/store/database.ts').then((m) => { try { m.openDatabase(${JSON.stringify(dir)}); ` +
    `console.log('opened'); } catch (e) { console.log(e.message); } })`;
  const [cmd, ...args] = [...asUser, process.execPath, '-e', code];
  const out = spawnSync(cmd!, args, { encoding: 'utf8' });
  t.regex(out.stdout, /wampmesh\.db: the data folder .* is read-only/, out.stderr);
});
