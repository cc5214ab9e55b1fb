// A client publishing to ever new topics under a prefix history rule: the real router process,
// configured by file, over a real socket, keeps the rule's maxTopics most recently published
// topics on disk and no more; get_events on the prefix answers from those. A restart with a
// lower maxTopics applies it to what was kept before.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { T, isCallAnswer, rawCall, rawJoin, rawSubscribe, type Dict, type RawPeer } from '../advanced/support/raw.ts';
import { configWithRealms, launchRouter } from '../advanced/support/router.ts';
import { DATABASE_FILE } from '../../src/store/database.ts';

const realm = 'history-topics';
const config = (maxTopics: number) =>
  configWithRealms([{ uri: realm, history: [{ topic: 't17.', match: 'prefix', limit: 2, maxTopics }] }]);

async function publish(p: RawPeer, topic: string, arg: unknown): Promise<void> {
  const request = p.c.requestId();
  p.c.send([T.PUBLISH, request, { acknowledge: true }, topic, [arg]]);
  const reply = await p.c.next(
    (m) => (m[0] === T.PUBLISHED || m[0] === T.ERROR) && m[m[0] === T.ERROR ? 2 : 1] === request,
  );
  if (reply[0] !== T.PUBLISHED) throw new Error(`PUBLISH ${topic} refused: ${JSON.stringify(reply)}`);
}

async function getEvents(p: RawPeer, subscription: number, limit: number): Promise<Dict[]> {
  const request = rawCall(p, 'wamp.subscription.get_events', {}, [subscription, limit]);
  const answer = await p.c.next(isCallAnswer(request));
  if (answer[0] !== T.RESULT) throw new Error(`get_events: ${JSON.stringify(answer)}`);
  return (answer[3] as unknown[])[0] as Dict[];
}

/** Topics with history in the stopped router's database. */
function keptTopics(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db
      .prepare<[], { topic: string }>('SELECT DISTINCT topic FROM history_event ORDER BY topic')
      .all()
      .map((r) => r.topic);
  } finally {
    db.close();
  }
}

test('a prefix history rule keeps its maxTopics most recently published topics, read back by get_events', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-history-topics-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  let router = await launchRouter(config(4), { dataDir });
  try {
    const p = await rawJoin(router, { realm, transport: 'rawsocket', serializer: 'cbor' });
    // Twelve made-up topics (t17.8..t17.11 kept), t17.8 again, then a new one: the least
    // recently published, t17.9, goes, not the first made of those kept.
    for (let i = 0; i < 12; i++) await publish(p, `t17.${i}`, i);
    await publish(p, 't17.8', 'again');
    await publish(p, 't17.12', 12);
    const sub = await rawSubscribe(p, 't17.', { match: 'prefix' });
    const all = await getEvents(p, sub, 100);
    t.deepEqual(
      all.map((e) => [e.topic, (e.args as unknown[])[0]]),
      [
        ['t17.8', 8],
        ['t17.10', 10],
        ['t17.11', 11],
        ['t17.8', 'again'],
        ['t17.12', 12],
      ],
    );
    t.deepEqual(
      (await getEvents(p, sub, 1)).map((e) => (e.args as unknown[])[0]),
      [12],
      'limit 1: the newest event',
    );
    await p.c.destroy();
  } finally {
    t.is(await router.stop(), 0);
  }
  t.deepEqual(keptTopics(dataDir), ['t17.10', 't17.11', 't17.12', 't17.8']);

  // The same data folder with maxTopics 2: the rule's bounds apply at start.
  router = await launchRouter(config(2), { dataDir });
  t.is(await router.stop(), 0);
  t.deepEqual(keptTopics(dataDir), ['t17.12', 't17.8']);
});
