// What a realm does at start with the history kept before (src/router/history-rules.ts): a realm
// built without history rules (a store realm, one re-created at runtime) keeps it untouched; a
// realm with rules claims what they cover and logs what it deletes. A store realm of a config
// realm's URI keeps the config's rules. Real SQLite files, through the Router and serve.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startServer } from '../../src/cli/serve.ts';
import { parseConfig } from '../../src/config/config.ts';
import type { Logger } from '../../src/log.ts';
import { createSecurity } from '../../src/security/index.ts';
import type { StoredEvent } from '../../src/router/event-store.ts';
import type { HistoryRule } from '../../src/router/history-rules.ts';
import { Router } from '../../src/router/router.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.ts';

const HOUR = 3_600_000;
const rules: HistoryRule[] = [
  { topic: 'sensor.', match: 'prefix', limit: 10, maxAgeMs: HOUR },
  { topic: 'alarm', match: 'exact', limit: 10, maxAgeMs: HOUR },
];

interface Logged {
  level: string;
  obj: object;
  msg: string | undefined;
}

function capture(): { logger: Logger; logged: Logged[] } {
  const logged: Logged[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      logged.push({ level, obj, msg });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger, logged };
}

function start(db: Db, history: HistoryRule[] | undefined, logger?: Logger): Router {
  return new Router({
    realms: [{ uri: 'r', anonymous: true, ...(history && { history }) }],
    store: new SqliteEventStore(db),
    ...(logger && { logger }),
  });
}

const kept = (db: Db) =>
  db
    .prepare<[], { topic: string; n: number }>(
      'SELECT topic, count(*) AS n FROM history_event GROUP BY topic ORDER BY topic',
    )
    .all()
    .map((r) => [r.topic, r.n]);

let publication = 0;
function publish(router: Router, topic: string): void {
  const event: StoredEvent = { topic, publication: ++publication, timestamp: Date.now(), args: [topic], details: {} };
  router.realms.get('r')!.broker.deliverAccepted(event, { excluded: undefined, filter: undefined, retain: false });
}

test('a realm built without history rules keeps the history kept before; one with rules logs what it drops', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-history-adoption-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let db = openDatabase(dir);
  const router = start(db, rules);
  for (const topic of ['sensor.1', 'sensor.2', 'sensor.2', 'alarm', 'alarm', 'alarm']) publish(router, topic);
  const before = [
    ['alarm', 3],
    ['sensor.1', 1],
    ['sensor.2', 2],
  ];
  t.deepEqual(kept(db), before);
  db.close();

  // Restarted with the realm as the security store builds it (no history rules): untouched.
  db = openDatabase(dir);
  const quiet = capture();
  start(db, undefined, quiet.logger);
  start(db, [], quiet.logger);
  t.deepEqual(kept(db), before);
  t.deepEqual(quiet.logged, [], 'nothing deleted, nothing logged');
  db.close();

  // Restarted with a rule gone (a typo, say): its topics' history goes, and the log says so.
  db = openDatabase(dir);
  const { logger, logged } = capture();
  start(db, [rules[0]!], logger);
  t.deepEqual(kept(db), before.slice(1));
  t.deepEqual(
    logged.filter((l) => l.level === 'warn').map((l) => l.obj),
    [{ realm: 'r', topics: 1, events: 3, examples: ['alarm'] }],
  );
  db.close();
});

test("serve: a store realm of a config realm's URI keeps the config's history rules", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-history-adoption-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // History kept under the config's rule, then the realm created in the store too (as the mesh
  // replicates a realm made on another node).
  let db = openDatabase(dir);
  const router = start(db, rules);
  for (const topic of ['sensor.1', 'sensor.1', 'alarm']) publish(router, topic);
  createSecurity(db, {}).store.createRealm({ uri: 'r', authmethods: ['anonymous'] });
  db.close();
  const config = parseConfig(
    {
      dataDir: dir,
      realms: [{ uri: 'r', anonymous: true, history: [{ topic: 'sensor.', match: 'prefix', limit: 10 }] }],
      listeners: { rawsocket: [{ host: '127.0.0.1', port: 0 }] },
    },
    'test',
  );
  const { logger, logged } = capture();
  const server = await startServer(config, logger);
  await server.stop();
  db = openDatabase(dir);
  // The config's rule applied to the store realm: sensor.1 claimed, alarm (no rule now) dropped.
  t.deepEqual(kept(db), [['sensor.1', 2]]);
  t.deepEqual(
    logged.filter((l) => l.level === 'warn' && (l.obj as { realm?: string }).realm === 'r').map((l) => l.obj),
    [{ realm: 'r', topics: 1, events: 1, examples: ['alarm'] }],
  );
  db.close();
});
