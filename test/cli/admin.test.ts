// The admin CLI as a user runs it: offline on a data folder, and against a running router over
// its Unix socket. What it configures takes effect live and survives restarts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { connect, within, type RawClient } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import { runCli } from './run-cli.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-admin-'));
const ok = async (args: string[]) => {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
};

async function ticketLogin(
  port: number,
  realm: string,
  authid: string,
  ticket: string,
): Promise<RawClient | unknown[]> {
  const c = await connect({ transport: 'rawsocket', port });
  c.send([1, realm, { roles: { caller: {}, callee: {} }, authmethods: ['ticket'], authid }]);
  const first = await c.next((m) => m[0] === 4 || m[0] === 3 || m[0] === 2);
  if (first[0] !== 4) return first;
  c.send([5, ticket, {}]);
  const second = await c.next((m) => m[0] === 2 || m[0] === 3, 10_000);
  return second[0] === 2 ? c : second;
}

test('every subcommand has --help; bad input names the problem and exits non-zero', async (t) => {
  const entities: Record<string, string[]> = {
    realm: ['list', 'get', 'create', 'update', 'delete'],
    user: ['list', 'get', 'create', 'update', 'delete'],
    group: ['list', 'get', 'create', 'update', 'delete'],
    grant: ['list', 'get', 'create', 'delete'],
    source: ['list', 'get', 'create', 'delete'],
    security: ['export', 'import'],
    mesh: ['status', 'admit', 'remove'],
  };
  for (const [entity, verbs] of Object.entries(entities)) {
    const all = await runCli([entity, '--help']);
    t.is(all.code, 0);
    for (const verb of verbs) {
      const r = await runCli([entity, verb, '--help']);
      t.is(r.code, 0, `${entity} ${verb} --help`);
      t.regex(r.stdout, new RegExp(`wampmesh ${entity} ${verb}`));
    }
  }
  const unknown = await runCli(['user', 'frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown subcommand 'user frobnicate'/);
  const missing = await runCli(['user', 'get', 'realm1']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /expected REALM AUTHID/);
  const data = tmp();
  const badField = await runCli(['realm', 'create', 'com.x', '--authmethods', 'telepathy', '--data', data, '--init']);
  t.is(badField.code, 1);
  t.regex(badField.stderr, /authmethods/);
  const badFlag = await runCli(['realm', 'update', 'com.x', '--security', 'maybe', '--data', data]);
  t.is(badFlag.code, 2);
  t.regex(badFlag.stderr, /--security: expected on or off/);
});

test('offline and online: a user, a grant and its revocation take effect live and survive restarts', async (t) => {
  const data = tmp();
  // Offline: no router runs on the folder.
  await ok(['realm', 'create', 'com.shop', '--authmethods', 'ticket', '--data', data, '--init']);
  await ok(['user', 'create', 'com.shop', 'alice', '--password', 'open sesame!', '--data', data]);
  const grant = await ok([
    'grant',
    'create',
    'com.shop',
    '--allow',
    'call',
    '--uri',
    'com.app.',
    '--match',
    'prefix',
    '--to',
    'user:alice',
    '--data',
    data,
  ]);
  await ok(['user', 'create', 'com.shop', 'svc', '--password', 'service secret', '--data', data]);
  await ok([
    'grant',
    'create',
    'com.shop',
    '--allow',
    'register',
    '--uri',
    'com.app.',
    '--match',
    'prefix',
    '--to',
    'user:svc',
    '--data',
    data,
  ]);

  const router = await startRouter({ dataDir: data });
  t.teardown(() => router.stop());
  const svc = (await ticketLogin(router.rawsocketPort, 'com.shop', 'svc', 'service secret')) as RawClient;
  svc.send([64, 1, {}, 'com.app.add']);
  t.is((await svc.next((m) => m[0] === 65 || m[0] === 8))[0], 65);
  void (async () => {
    for (;;) {
      const inv = await svc.next((m) => m[0] === 68, 60_000).catch(() => undefined);
      if (!inv) return;
      svc.send([70, inv[1], {}, [3]]);
    }
  })();

  const wrong = await ticketLogin(router.rawsocketPort, 'com.shop', 'alice', 'guess');
  t.is((wrong as unknown[])[2], 'wamp.error.authentication_failed');
  const alice = (await ticketLogin(router.rawsocketPort, 'com.shop', 'alice', 'open sesame!')) as RawClient;
  t.is((await alice.call('com.app.add', [1, 2]))[0], 50, 'granted call');
  alice.send([64, 1, {}, 'com.app.other']);
  t.is((await alice.next((m) => m[0] === 8 || m[0] === 65))[4], 'wamp.error.not_authorized', 'register not granted');

  // Online, through the router's Unix socket: revoke, and the very next call is refused.
  await ok(['grant', 'delete', 'com.shop', String(grant.id), '--data', data]);
  t.is((await alice.call('com.app.add', [1, 2]))[4], 'wamp.error.not_authorized');
  await ok(['user', 'create', 'com.shop', 'bob', '--password', 'bobs password', '--data', data]);
  t.truthy((await ticketLogin(router.rawsocketPort, 'com.shop', 'bob', 'bobs password')) instanceof Object);

  // Deleting a user ends their session.
  await ok(['user', 'delete', 'com.shop', 'alice', '--data', data]);
  const goodbye = await alice.next((m) => m[0] === 6, 5000);
  t.is(goodbye[2], 'wamp.close.killed');

  t.is(await router.stop(), 0);
  const again = await startRouter({ dataDir: data });
  t.teardown(() => again.stop());
  const bob = await ticketLogin(again.rawsocketPort, 'com.shop', 'bob', 'bobs password');
  t.true(bob instanceof Object && !Array.isArray(bob), 'a user created online survives the restart');
  const users = await ok(['user', 'list', 'com.shop', '--data', data]);
  t.deepEqual(users.map((u: { authid: string }) => u.authid).sort(), ['bob', 'svc']);
  for (const c of [svc, bob as RawClient]) c.close();
});

test("online: a new password or disabling ends the user's sessions (GOODBYE wamp.close.killed), unrelated changes do not", async (t) => {
  const data = tmp();
  await ok(['realm', 'create', 'com.kill', '--authmethods', 'ticket', '--data', data, '--init']);
  await ok(['user', 'create', 'com.kill', 'alice', '--password', 'first password', '--data', data]);
  await ok(['user', 'create', 'com.kill', 'bob', '--password', 'bobs password', '--data', data]);
  const router = await startRouter({ dataDir: data });
  t.teardown(() => router.stop());
  const login = (authid: string, password: string) => ticketLogin(router.rawsocketPort, 'com.kill', authid, password);
  // Any answer to a CALL shows the session is alive (no grants here: not_authorized).
  const answers = async (c: RawClient) => (await c.call('com.kill.ping', [], {}, 5000))[0] === 8;
  const alice1 = (await login('alice', 'first password')) as RawClient;
  const alice2 = (await login('alice', 'first password')) as RawClient;
  const bob = (await login('bob', 'bobs password')) as RawClient;

  await ok(['user', 'update', 'com.kill', 'bob', '--password', 'bobs new password', '--data', data]);
  await ok(['user', 'update', 'com.kill', 'alice', '--meta', '{"team":"a"}', '--data', data]);
  await ok(['group', 'create', 'com.kill', 'ops', '--data', data]);
  await ok(['user', 'update', 'com.kill', 'alice', '--group', 'ops', '--data', data]);
  await ok([
    'grant',
    'create',
    'com.kill',
    '--allow',
    'call',
    '--uri',
    'com.kill.',
    '--match',
    'prefix',
    '--to',
    'group:ops',
    '--data',
    data,
  ]);
  t.true(await answers(alice1), "meta, groups, grants and another user's password end nothing");
  t.deepEqual(await bob.next((m) => m[0] === 6, 5000), [
    6,
    { message: "credentials changed for user 'bob' in realm 'com.kill'" },
    'wamp.close.killed',
  ]);

  await ok(['user', 'update', 'com.kill', 'alice', '--password', 'second password', '--data', data]);
  const message = "credentials changed for user 'alice' in realm 'com.kill'";
  for (const c of [alice1, alice2])
    t.deepEqual(await c.next((m) => m[0] === 6, 5000), [6, { message }, 'wamp.close.killed']);
  // alice1 answers GOODBYE and is closed at once; alice2 does not, and is closed after a grace period.
  alice1.send([6, {}, 'wamp.close.goodbye_and_out']);
  await within(alice1.closed, 2000, 'alice1 closed after its GOODBYE');
  await within(alice2.closed, 5000, 'alice2 closed without answering');
  t.is(
    ((await login('alice', 'first password')) as unknown[])[2],
    'wamp.error.authentication_failed',
    'the old password is refused',
  );
  const alice3 = (await login('alice', 'second password')) as RawClient;
  t.true(await answers(alice3), 'the new password works');

  const disabled = await ok(['user', 'update', 'com.kill', 'alice', '--disabled', 'on', '--data', data]);
  t.is(disabled.disabled, true);
  t.deepEqual(await alice3.next((m) => m[0] === 6, 5000), [
    6,
    { message: "user 'alice' was disabled in realm 'com.kill'" },
    'wamp.close.killed',
  ]);
  t.is(
    ((await login('alice', 'second password')) as unknown[])[2],
    'wamp.error.authentication_failed',
    'a disabled user cannot log in',
  );
  await ok(['user', 'update', 'com.kill', 'alice', '--disabled', 'off', '--data', data]);
  const alice4 = (await login('alice', 'second password')) as RawClient;
  t.true(await answers(alice4), 'enabled again');
  await ok(['user', 'delete', 'com.kill', 'alice', '--data', data]);
  t.deepEqual(await alice4.next((m) => m[0] === 6, 5000), [
    6,
    { message: "user 'alice' was deleted from realm 'com.kill'" },
    'wamp.close.killed',
  ]);
  t.is(((await login('alice', 'second password')) as unknown[])[2], 'wamp.error.authentication_failed');
  for (const c of [alice1, alice2, alice3, alice4, bob]) void c.destroy();
});

test('security export, wipe, import gives the same configuration; an invalid import changes nothing', async (t) => {
  const data = tmp();
  await ok([
    'realm',
    'create',
    'com.a',
    '--authmethods',
    'ticket,wampcra',
    '--description',
    'first',
    '--data',
    data,
    '--init',
  ]);
  await ok(['group', 'create', 'com.a', 'ops', '--data', data]);
  await ok(['user', 'create', 'com.a', 'carol', '--password', 'carols password', '--group', 'ops', '--data', data]);
  await ok([
    'source',
    'create',
    'com.a',
    '--cidr',
    '10.0.0.0/8',
    '--authmethods',
    'ticket',
    '--to',
    'group:ops',
    '--data',
    data,
  ]);
  const file = path.join(data, 'export.json');
  t.is((await runCli(['security', 'export', '--out', file, '--data', data])).code, 0);
  const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
  const other = tmp();
  t.is((await runCli(['security', 'import', file, '--data', other, '--init'])).code, 0);
  t.deepEqual(await ok(['security', 'export', '--data', other]), exported);
  const bad = structuredClone(exported);
  bad.realms.find((r: { uri: string }) => r.uri === 'com.a').users[0].groups = ['no-such-group'];
  const badFile = path.join(data, 'bad.json');
  fs.writeFileSync(badFile, JSON.stringify(bad));
  const r = await runCli(['security', 'import', badFile, '--data', other]);
  t.is(r.code, 1);
  t.regex(r.stderr, /groups/);
  t.deepEqual(await ok(['security', 'export', '--data', other]), exported, 'nothing changed');
});
