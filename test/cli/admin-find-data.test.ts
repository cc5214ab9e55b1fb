// The admin CLI without --data, as on an installed appliance: it finds the data folder through
// the service's config file (WAMPMESH_CONFIG stands in for /etc/wampmesh/config.json, and
// WAMPMESH_DATA_DIR for /var/lib/wampmesh, so no test reads the machine's own), says in one
// line when it finds none, and `mesh status` says when the router has no mesh.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startRouter } from '../helpers/router-process.ts';
import { runCli } from './run-cli.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-find-'));

/** A working directory without ./data and well-known paths that point into `root`. */
function appliance(root: string, config?: object): { cwd: string; env: NodeJS.ProcessEnv } {
  const cwd = path.join(root, 'cwd');
  fs.mkdirSync(cwd);
  const configFile = path.join(root, 'etc', 'config.json');
  if (config !== undefined) {
    fs.mkdirSync(path.dirname(configFile));
    fs.writeFileSync(configFile, JSON.stringify(config));
  }
  return {
    cwd,
    env: { ...process.env, WAMPMESH_CONFIG: configFile, WAMPMESH_DATA_DIR: path.join(root, 'var-lib') },
  };
}

test('without --data: the dataDir of the service config, through the running router', async (t) => {
  const root = tmp();
  // Relative, as loadConfig resolves it: against the config file's folder, not the cwd.
  const where = appliance(root, { dataDir: '../state' });
  const router = await startRouter({ dataDir: path.join(root, 'state') });
  t.teardown(() => router.stop());
  const created = await runCli(
    ['realm', 'create', 'com.found', '--authmethods', 'anonymous'],
    20_000,
    undefined,
    undefined,
    where,
  );
  t.is(created.code, 0, created.stderr);
  const listed = await runCli(['realm', 'list'], 20_000, undefined, undefined, where);
  t.is(listed.code, 0, listed.stderr);
  t.true(
    (JSON.parse(listed.stdout) as Array<{ uri: string }>).some((r) => r.uri === 'com.found'),
    listed.stdout,
  );
  // It went through the admin socket: only a running router answers mesh status.
  const status = await runCli(['mesh', 'status'], 20_000, undefined, undefined, where);
  t.is(status.code, 3, status.stderr);
  t.false(fs.existsSync(path.join(where.cwd, 'data')));
  // --config names the file instead of WAMPMESH_CONFIG.
  const byFlag = await runCli(
    ['realm', 'get', 'com.found', '--config', path.join(root, 'etc', 'config.json')],
    20_000,
    undefined,
    undefined,
    { cwd: where.cwd, env: { ...process.env, WAMPMESH_CONFIG: '' } },
  );
  t.is(byFlag.code, 0, byFlag.stderr);
});

test('the development default is unchanged: ./data with a database wins over the service config', async (t) => {
  const root = tmp();
  const where = appliance(root, { dataDir: '../state' });
  const init = await runCli(
    ['realm', 'create', 'com.dev', '--authmethods', 'anonymous', '--data', path.join(where.cwd, 'data'), '--init'],
    20_000,
  );
  t.is(init.code, 0, init.stderr);
  const r = await runCli(['realm', 'get', 'com.dev'], 20_000, undefined, undefined, where);
  t.is(r.code, 0, r.stderr);
  t.false(fs.existsSync(path.join(root, 'state')));
});

test('without --data and nothing to find: one line naming what was tried, exit 1, nothing created', async (t) => {
  const root = tmp();
  const where = appliance(root);
  for (const args of [
    ['realm', 'list'],
    ['realm', 'create', 'com.x', '--authmethods', 'anonymous', '--init'],
  ]) {
    const r = await runCli(args, 20_000, undefined, undefined, where);
    t.is(r.code, 1, args.join(' '));
    t.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /no data folder found \(tried \.\/data, the config file .*etc\/config\.json, .*var-lib\)/);
    t.regex(r.stderr, /--data DIR/);
    t.regex(r.stderr, /--init/);
  }
  t.deepEqual(fs.readdirSync(where.cwd), []);
  t.deepEqual(fs.readdirSync(root).sort(), ['cwd']);
});

test('mesh status on a router without a mesh says so, with exit code 3', async (t) => {
  const router = await startRouter();
  t.teardown(() => router.stop());
  const r = await runCli(['mesh', 'status', '--data', router.dataDir]);
  t.is(r.code, 3, r.stderr);
  t.is(r.stderr, 'wampmesh: the mesh is off on this router (mesh.enabled is false in its config)\n');
  t.notRegex(r.stderr, /no_such_procedure/);
});
