// Ending other sessions through the meta API (wamp.session.kill, kill_by_authid,
// kill_by_authrole, kill_all) is for authrole "admin" unless the realm's metaKill is "all": in
// the default anonymous realm any local process could otherwise end every other session.
// Autobahn|Python sessions against the real router; an administrator by ticket on a realm of
// the security store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from '../cli/run-cli.ts';
import { connect } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import { fixture } from './support/suite.ts';

const fx = fixture([{ uri: 'mk.default' }]);
test.after.always('stop agent and router', () => fx.close());

test('in a realm of the config file with the default metaKill, an anonymous Autobahn session cannot end others', async (t) => {
  const { agent } = await fx.get();
  const realm = 'mk.default';
  const mallory = await agent.connect('mk-mallory', { realm });
  const victim = await agent.connect('mk-victim', { realm });
  for (const [procedure, args] of [
    ['wamp.session.kill', [victim.id]],
    ['wamp.session.kill_by_authid', [victim.authid]],
    ['wamp.session.kill_by_authrole', ['anonymous']],
    ['wamp.session.kill_all', []],
  ] as const) {
    const r = await mallory.call(procedure, [...args]);
    t.false(r.ok, procedure);
    if (!r.ok) t.is(r.error, 'wamp.error.not_authorized', procedure);
  }
  const count = await mallory.call('wamp.session.count');
  t.true(count.ok && count.args[0] === 2, 'both sessions are still there; the read-only meta API answers');
});

test('a session with authrole admin may end others (ticket login on a realm of the store)', async (t) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mk-'));
  const cli = async (args: string[]) => {
    const r = await runCli([...args, '--data', data]);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  };
  await cli(['realm', 'create', 'com.mk', '--authmethods', 'ticket,anonymous', '--init']);
  await cli(['group', 'create', 'com.mk', 'admin']);
  await cli(['user', 'create', 'com.mk', 'root', '--password', 'root password', '--group', 'admin']);
  await cli([
    'grant',
    'create',
    'com.mk',
    '--allow',
    'call',
    '--uri',
    'wamp.session.',
    '--match',
    'prefix',
    '--to',
    'all',
  ]);
  const router = await startRouter({ dataDir: data });
  t.teardown(async () => {
    await router.stop();
    fs.rmSync(data, { recursive: true, force: true });
  });
  const anon = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  await anon.join('com.mk');
  const other = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  await other.join('com.mk');
  const refused = await anon.call('wamp.session.kill_all');
  t.is(refused[0], 8);
  t.is(refused[4], 'wamp.error.not_authorized');

  const root = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  root.send([1, 'com.mk', { roles: { caller: {} }, authmethods: ['ticket'], authid: 'root' }]);
  await root.next((m) => m[0] === 4);
  root.send([5, 'root password', {}]);
  const welcome = await root.next((m) => m[0] === 2, 10_000);
  t.is((welcome[2] as { authrole: string }).authrole, 'admin');
  const killed = await root.call('wamp.session.kill_all', [], { reason: 'wamp.close.killed' });
  t.is(killed[0], 50);
  t.deepEqual(killed[3], [2]);
  t.is((await anon.next((m) => m[0] === 6))[2], 'wamp.close.killed');
});
