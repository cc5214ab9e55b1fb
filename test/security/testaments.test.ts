// Testaments are deferred PUBLISHes and get a PUBLISH's checks (src/router/testaments.ts): the
// publish grant when added and again when published, the reserved "wamp." namespace, and the
// per-session limits (maxTestamentsPerSession; a retained one counts toward
// maxRetainedTopicsPerSession). The real server (startServer, as `wampmesh serve` wires it) on a
// fresh data folder, clients over RawSocket, the admin API over the router's Unix socket; a
// session is "lost" by destroying its socket without GOODBYE.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { connectAdmin } from '../../src/cli/admin-client.ts';
import { startServer, type Server } from '../../src/cli/serve.ts';
import { parseConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { LIMIT_EXCEEDED } from '../../src/router/limits.ts';
import { createSecurity } from '../../src/security/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { connect, type RawClient } from '../helpers/raw-client.ts';

const REALM = 'com.tst';
const PASSWORD = 'testament password';
const [EVENT, RESULT, ERROR, PUBLISH, PUBLISHED] = [36, 50, 8, 16, 17];

let dir: string;
let server: Server;
let port: number;
/** Warnings the router logged (the skipped testament is one). */
const logged: Record<string, unknown>[] = [];
/** The grant that lets carol publish to com.tst.carol (revoked by a test). */
let carolGrant: number;
const clients: RawClient[] = [];

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-testament-'));
  const db = openDatabase(dir);
  const store = createSecurity(db, {}).store;
  store.createRealm({ uri: REALM, authmethods: ['ticket'] });
  for (const authid of ['alice', 'mallory', 'carol', 'watcher'])
    store.createUser(REALM, { authid, password: PASSWORD });
  const addTestament = { permissions: ['call'], uri: 'wamp.session.add_testament' };
  store.createGrant(REALM, { ...addTestament, to: ['user:alice', 'user:mallory', 'user:carol'] });
  store.createGrant(REALM, { permissions: ['publish'], uri: 'com.tst.alarm', to: ['user:alice'] });
  carolGrant = store.createGrant(REALM, { permissions: ['publish'], uri: 'com.tst.carol', to: ['user:carol'] }).id;
  store.createGrant(REALM, { permissions: ['subscribe'], uri: 'com.tst.', match: 'prefix', to: ['user:watcher'] });
  store.createGrant(REALM, { permissions: ['subscribe'], uri: 'wamp.session.on_leave', to: ['user:watcher'] });
  db.close();
  const config = parseConfig(
    {
      dataDir: dir,
      realms: [
        { uri: 'open', anonymous: true },
        { uri: 'lim', anonymous: true, limits: { maxTestamentsPerSession: 3, maxRetainedTopicsPerSession: 2 } },
      ],
      listeners: { rawsocket: [{ host: '127.0.0.1', port: 0 }] },
    },
    'test',
  );
  const logger = createLogger({
    level: 'warn',
    destination: { write: (line) => logged.push(JSON.parse(line) as Record<string, unknown>) },
  });
  server = await startServer(config, logger);
  port = (server.listeners.find((l) => l.transport === 'rawsocket') as { port: number }).port;
});

test.after.always(async () => {
  for (const c of clients) await c.destroy();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function open(realm: string): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', port });
  clients.push(c);
  await c.join(realm);
  return c;
}

async function login(authid: string): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', port });
  clients.push(c);
  c.send([1, REALM, { roles: { caller: {}, publisher: {}, subscriber: {} }, authmethods: ['ticket'], authid }]);
  if ((await c.next((m) => m[0] === 4 || m[0] === 3))[0] !== 4) throw new Error(`no CHALLENGE for ${authid}`);
  c.send([5, PASSWORD, {}]);
  const welcome = await c.next((m) => m[0] === 2 || m[0] === 3, 10_000);
  if (welcome[0] !== 2) throw new Error(`${authid} did not join: ${JSON.stringify(welcome)}`);
  c.sessionId = welcome[1] as number;
  return c;
}

/** The answer to wamp.session.add_testament: 'ok' or the ERROR's URI. */
async function addTestament(c: RawClient, topic: string, kwargs: Record<string, unknown> = {}): Promise<string> {
  const reply = await c.call('wamp.session.add_testament', [topic, [`from ${c.sessionId}`]], kwargs);
  return reply[0] === RESULT ? 'ok' : (reply[4] as string);
}

/** A PUBLISH with acknowledge: 'ok' or the ERROR's URI. */
async function publish(c: RawClient, topic: string, options: Record<string, unknown> = {}): Promise<string> {
  const request = c.requestId();
  c.send([PUBLISH, request, { acknowledge: true, ...options }, topic, ['x']]);
  const reply = await c.next((m) => (m[0] === PUBLISHED && m[1] === request) || (m[0] === ERROR && m[2] === request));
  return reply[0] === PUBLISHED ? 'ok' : (reply[4] as string);
}

/**
 * Loses `c` (its socket destroyed, no GOODBYE) and returns the EVENTs `watcher` got on
 * `subscription` until the session's on_leave, which the router sends after its testaments.
 */
async function lose(c: RawClient, watcher: RawClient, onLeave: number, subscription: number): Promise<unknown[][]> {
  const id = c.sessionId;
  await c.destroy();
  await watcher.next((m) => m[0] === EVENT && m[1] === onLeave && (m[4] as unknown[])[0] === id);
  return watcher.inbox.splice(0).filter((m) => m[0] === EVENT && m[1] === subscription);
}

test.serial(
  'without the publish grant a testament is refused as the PUBLISH is, and nothing is published',
  async (t) => {
    const watcher = await login('watcher');
    const onLeave = await watcher.subscribe('wamp.session.on_leave');
    const alarm = await watcher.subscribe('com.tst.alarm');

    const mallory = await login('mallory');
    t.is(await publish(mallory, 'com.tst.alarm'), 'wamp.error.not_authorized');
    t.is(await addTestament(mallory, 'com.tst.alarm'), 'wamp.error.not_authorized');
    t.is(await addTestament(mallory, 'com.tst.alarm', { scope: 'detached' }), 'wamp.error.not_authorized');
    t.deepEqual(await lose(mallory, watcher, onLeave, alarm), [], 'no event on a topic mallory may not publish to');

    const alice = await login('alice');
    t.is(await addTestament(alice, 'com.tst.alarm'), 'ok', 'with the grant, as before');
    const events = await lose(alice, watcher, onLeave, alarm);
    t.deepEqual(
      events.map((e) => e[4]),
      [[`from ${alice.sessionId}`]],
    );
  },
);

test.serial('a grant revoked after the testament was added: not published, and a warning says why', async (t) => {
  const watcher = await login('watcher');
  const onLeave = await watcher.subscribe('wamp.session.on_leave');
  const topic = await watcher.subscribe('com.tst.carol');
  const carol = await login('carol');
  t.is(await addTestament(carol, 'com.tst.carol'), 'ok');
  const admin = await connectAdmin(dir);
  t.is(admin.mode, 'router');
  await admin.call('wampmesh.grant.delete', [REALM, carolGrant]);
  await admin.close();
  t.is(await publish(carol, 'com.tst.carol'), 'wamp.error.not_authorized', 'the revocation is in force');
  t.deepEqual(await lose(carol, watcher, onLeave, topic), []);
  t.like(
    logged.find((l) => l.topic === 'com.tst.carol'),
    { level: 'warn', realm: REALM, session: carol.sessionId, authid: 'carol' },
  );
});

test.serial(
  'a testament on a "wamp." topic is refused with invalid_uri, as a PUBLISH there is: no forged meta events',
  async (t) => {
    const watcher = await open('open');
    const onLeave = await watcher.subscribe('wamp.session.on_leave');
    const forged = await watcher.subscribe('wamp.x.y');
    const forger = await open('open');
    for (const topic of ['wamp.x.y', 'wamp.session.on_leave']) {
      t.is(await publish(forger, topic), 'wamp.error.invalid_uri', `PUBLISH ${topic}`);
      t.is(await addTestament(forger, topic), 'wamp.error.invalid_uri', `testament on ${topic}`);
    }
    const id = forger.sessionId;
    await forger.destroy();
    const leaves = [];
    leaves.push(await watcher.next((m) => m[0] === EVENT && m[1] === onLeave));
    await new Promise((resolve) => setTimeout(resolve, 200));
    leaves.push(...watcher.inbox.splice(0).filter((m) => m[0] === EVENT && m[1] === onLeave));
    t.deepEqual(
      leaves.map((m) => (m[4] as unknown[])[0]),
      [id],
      "one on_leave, the router's own",
    );
    t.deepEqual(
      watcher.inbox.filter((m) => m[1] === forged),
      [],
    );
  },
);

test.serial(
  'maxTestamentsPerSession (realm limits): one more is refused with limit_exceeded; a flush makes room',
  async (t) => {
    const c = await open('lim');
    t.is(await addTestament(c, 'com.lim.a'), 'ok');
    t.is(await addTestament(c, 'com.lim.b', { scope: 'detached' }), 'ok');
    t.is(await addTestament(c, 'com.lim.c'), 'ok');
    t.is(await addTestament(c, 'com.lim.d'), LIMIT_EXCEEDED, 'both scopes count together');
    t.is(await addTestament(c, 'com.lim.d', { scope: 'detached' }), LIMIT_EXCEEDED);
    const flushed = await c.call('wamp.session.flush_testaments', [], { scope: 'destroyed' });
    t.deepEqual([flushed[0], flushed[3]], [RESULT, [2]], 'flush_testaments says how many it dropped');
    t.is(await addTestament(c, 'com.lim.d'), 'ok');
    const other = await open('lim');
    t.is(await addTestament(other, 'com.lim.a'), 'ok', 'each session has its own');
  },
);

test.serial('a retained testament counts toward maxRetainedTopicsPerSession, with retained publications', async (t) => {
  const c = await open('lim');
  const retain = { publish_options: { retain: true } };
  t.is(await publish(c, 'com.lim.r1', { retain: true }), 'ok');
  t.is(await addTestament(c, 'com.lim.r2', retain), 'ok');
  t.is(await addTestament(c, 'com.lim.r3', retain), LIMIT_EXCEEDED, 'one published, one testament: the limit (2)');
  t.is(await addTestament(c, 'com.lim.r3'), 'ok', 'one not retained is not counted there');
  t.is(await publish(c, 'com.lim.r4', { retain: true }), LIMIT_EXCEEDED, 'the testament holds its topic');
  const flushed = await c.call('wamp.session.flush_testaments');
  t.is(flushed[0], RESULT);
  t.is(await publish(c, 'com.lim.r4', { retain: true }), 'ok', 'flushed, it gives its topic back');
});
