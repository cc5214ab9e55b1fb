// The administrator cannot lock themselves out with one command, and `wampmesh admin reset`
// gets them back in when they did anyway (old data, a concurrent edit in a mesh). Real
// processes on real SQLite files: the CLI offline, against a running router, and the router
// the reset data folder is served by.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import { runCli, type Ran } from './run-cli.ts';

const ADMIN = 'wampmesh.admin';
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-lockout-'));
const ok = async (args: string[]) => {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
};

/** One line on stderr, exit 1, no stack trace. */
function refused(t: import('ava').ExecutionContext, r: Ran, pattern: RegExp, what: string): void {
  t.is(r.code, 1, `${what}: exit status; stderr: ${r.stderr}`);
  t.regex(r.stderr, pattern, what);
  t.is(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notRegex(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

async function ticketLogin(port: number, authid: string, ticket: string): Promise<unknown[]> {
  const c: RawClient = await connect({ transport: 'rawsocket', port });
  try {
    c.send([1, ADMIN, { roles: { caller: {} }, authmethods: ['ticket'], authid }]);
    const first = await c.next((m) => m[0] === 4 || m[0] === 3 || m[0] === 2);
    if (first[0] !== 4) return first;
    c.send([5, ticket, {}]);
    return await c.next((m) => m[0] === 2 || m[0] === 3, 10_000);
  } finally {
    c.close();
  }
}

async function adminIds(data: string): Promise<{ grant: number; unixSource: number }> {
  const grants = (await ok(['grant', 'list', ADMIN, '--data', data])) as Array<{ id: number; uri: string }>;
  const sources = (await ok(['source', 'list', ADMIN, '--data', data])) as Array<{ id: number; cidr: string }>;
  return {
    grant: grants.find((g) => g.uri === 'wampmesh.')!.id,
    unixSource: sources.find((s) => s.cidr === 'unix')!.id,
  };
}

const lockouts = (ids: { grant: number; unixSource: number }) => [
  ['user', 'delete', ADMIN, 'admin'],
  ['user', 'update', ADMIN, 'admin', '--disabled', 'on'],
  ['group', 'delete', ADMIN, 'admin'],
  ['grant', 'delete', ADMIN, String(ids.grant)],
  ['source', 'delete', ADMIN, String(ids.unixSource)],
  ['realm', 'update', ADMIN, '--connections', 'off'],
  ['realm', 'update', ADMIN, '--authmethods', 'ticket'],
  ['realm', 'update', ADMIN, '--json', '{"authmethods":["trust"],"allow_connections":false}'],
];

test('offline: each one-command lockout is refused, with --force too, in one line; the admin CLI still works after', async (t) => {
  const data = tmp();
  await ok(['realm', 'list', '--data', data, '--init']);
  const ids = await adminIds(data);
  for (const argv of lockouts(ids)) {
    refused(
      t,
      await runCli([...argv, '--data', data]),
      /refused: .*no way into the admin realm 'wampmesh\.admin'.*\(wampmesh\.error\.not_allowed\)/,
      argv.join(' '),
    );
    refused(t, await runCli([...argv, '--data', data, '--force']), /not even with force/, `${argv.join(' ')} --force`);
  }
  // An import that leaves the admin realm without its sources: the same.
  const doc = (await ok(['security', 'export', '--data', data])) as {
    realms: Array<{ uri: string; sources: unknown[] }>;
  };
  doc.realms.find((r) => r.uri === ADMIN)!.sources = [];
  const file = path.join(data, 'locked.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  refused(
    t,
    await runCli(['security', 'import', file, '--data', data, '--force']),
    /no way into the admin realm/,
    'security import',
  );
  // Nothing was changed: every entity is still there and the CLI gets in.
  t.deepEqual(await adminIds(data), ids);
  t.is(((await ok(['user', 'get', ADMIN, 'admin', '--data', data])) as { disabled?: boolean }).disabled, undefined);
  // Changes that take no way away are not in the way.
  await ok(['realm', 'update', ADMIN, '--description', 'ours', '--data', data]);
  await ok(['user', 'create', ADMIN, 'auditor', '--password', 'auditor password', '--data', data]);
  await ok(['user', 'delete', ADMIN, 'auditor', '--data', data]);
});

test('online: the running router refuses the same over its admin socket; --force passes when another way in remains', async (t) => {
  const data = tmp();
  const router = await startRouter({ dataDir: data });
  t.teardown(() => router.stop());
  refused(
    t,
    await runCli(['user', 'delete', ADMIN, 'admin', '--data', data]),
    /no way into the admin realm/,
    'online user delete',
  );
  // A second administrator with a password: deleting admin now takes a way away, but not the last.
  await ok(['user', 'create', ADMIN, 'ops', '--password', 'ops password 1', '--group', 'admin', '--data', data]);
  refused(
    t,
    await runCli(['group', 'delete', ADMIN, 'admin', '--data', data, '--force']),
    /not even with force/,
    'the group both are in',
  );
  const noForce = await runCli(['user', 'update', ADMIN, 'admin', '--disabled', 'on', '--data', data]);
  refused(
    t,
    noForce,
    /takes away a way into the admin realm 'wampmesh\.admin' \(admin by trust from unix\); repeat with --force.*ops by ticket from any/,
    'without --force',
  );
  t.is((await runCli(['user', 'update', ADMIN, 'admin', '--disabled', 'on', '--data', data, '--force'])).code, 0);
  // The CLI itself logs in as admin by trust: it is now refused, in one line.
  refused(
    t,
    await runCli(['realm', 'list', '--data', data]),
    /refused the admin session.*authentication_failed/,
    'CLI after admin disabled',
  );
  // ... while ops still gets in over the network.
  t.is((await ticketLogin(router.rawsocketPort, 'ops', 'ops password 1'))[0], 2, 'ops logs in');
});

test('admin reset with the router stopped restores a working admin login; refused while it runs, for another owner, or without a database', async (t) => {
  const data = tmp();
  let router = await startRouter({ dataDir: data });
  await ok(['user', 'create', ADMIN, 'ops', '--password', 'ops password 1', '--group', 'admin', '--data', data]);
  await ok(['user', 'delete', ADMIN, 'admin', '--data', data, '--force']);
  t.is(await adminIds(data).catch(() => undefined), undefined, 'the CLI (trust as admin) is locked out');
  refused(
    t,
    await runCli(['admin', 'reset', '--data', data]),
    /in use by another wampmesh process/,
    'reset while the router runs',
  );
  await router.stop();

  refused(
    t,
    await runCli(['admin', 'reset', '--data', path.join(data, 'nope')]),
    /no such folder/,
    'reset on a missing folder',
  );
  const empty = tmp();
  refused(
    t,
    await runCli(['admin', 'reset', '--data', empty]),
    /holds no wampmesh database.*--init/,
    'reset on a folder without a database',
  );
  t.false(fs.existsSync(path.join(empty, 'wampmesh.db')), 'nothing created');
  if (process.getuid?.() === 0) {
    fs.chownSync(data, 65534, 65534);
    refused(
      t,
      await runCli(['admin', 'reset', '--data', data]),
      /run this as the owner of .* \(uid 65534\)/,
      'reset as another user',
    );
    fs.chownSync(data, 0, 0);
  }

  const pwFile = path.join(empty, 'pw');
  fs.writeFileSync(pwFile, 'the new admin password\n');
  const reset = await runCli(['admin', 'reset', '--data', data, '--password-file', pwFile]);
  t.is(reset.code, 0, reset.stderr);
  t.regex(reset.stdout, /user admin created in group admin/);
  t.regex(reset.stdout, /user admin: new password/);
  t.notRegex(reset.stdout, /the new admin password/, 'a password given is not echoed');
  // Offline CLI works again, and so does a network login with the new password.
  t.truthy(await adminIds(data));
  router = await startRouter({ dataDir: data });
  t.teardown(() => router.stop());
  t.is(
    (await ticketLogin(router.rawsocketPort, 'admin', 'the new admin password'))[0],
    2,
    'admin logs in with the new password',
  );
  t.is((await ticketLogin(router.rawsocketPort, 'ops', 'ops password 1'))[0], 2, 'ops untouched');
  await router.stop();

  // Without a password given, one is generated and printed once; stdin works too.
  const generated = await runCli(['admin', 'reset', '--data', data]);
  t.is(generated.code, 0, generated.stderr);
  const password = /new password of user admin \(shown only now\): (\S+)/.exec(generated.stdout)?.[1];
  t.truthy(password);
  const fromStdin = await runCli(
    ['admin', 'reset', '--data', data, '--password-stdin'],
    20_000,
    undefined,
    'typed on stdin 42\n',
  );
  t.is(fromStdin.code, 0, fromStdin.stderr);
  router = await startRouter({ dataDir: data });
  t.teardown(() => router.stop());
  t.is((await ticketLogin(router.rawsocketPort, 'admin', password!))[0], 3, 'the generated password was replaced');
  t.is((await ticketLogin(router.rawsocketPort, 'admin', 'typed on stdin 42'))[0], 2);
});

test('--data for an admin command refuses a folder without a database in one line, unless --init', async (t) => {
  const base = tmp();
  const typo = path.join(base, 'dtaa');
  refused(
    t,
    await runCli(['realm', 'list', '--data', typo]),
    /holds no wampmesh database \(wampmesh\.db\); check --data, or add --init/,
    'missing folder',
  );
  t.false(fs.existsSync(typo), 'no folder created');
  refused(
    t,
    await runCli(['user', 'list', ADMIN, '--data', base]),
    /holds no wampmesh database/,
    'folder without a database',
  );
  t.false(fs.existsSync(path.join(base, 'wampmesh.db')), 'no database created');
  t.is((await runCli(['realm', 'list', '--data', typo, '--init'])).code, 0);
  t.is((await runCli(['realm', 'list', '--data', typo])).code, 0, 'and from then on without --init');
});
