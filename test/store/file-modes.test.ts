// The data folder and its files are private whatever the umask: the database holds WAMP-CRA
// derived keys, enough to log in. Real processes started with umask 022 (the usual shell umask
// outside systemd), a real SQLite file and its WAL.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startRouter, wampmeshBin } from '../helpers/router-process.ts';
import { runCli } from '../cli/run-cli.ts';

const mode = (file: string) => fs.statSync(file).mode & 0o777;

/** A wrapper that runs wampmesh with umask 022, as a login shell would. */
function umask022Bin(dir: string): string {
  const file = path.join(dir, 'wampmesh-umask022');
  fs.writeFileSync(file, `#!/bin/sh\numask 022\nexec "${wampmeshBin}" "$@"\n`, { mode: 0o700 });
  return file;
}

test('with umask 022 the router creates the data folder 0700 and wampmesh.db, -wal 0600', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-modes-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const data = path.join(base, 'var', 'data');
  const router = await startRouter({ dataDir: data, bin: umask022Bin(base) });
  t.teardown(() => router.stop());
  // The first start wrote the admin realm: the WAL exists while the router runs.
  t.is(mode(data), 0o700, 'data folder');
  t.is(mode(path.join(base, 'var')), 0o700, 'parent folders it created');
  t.is(mode(path.join(data, 'wampmesh.db')), 0o600, 'database');
  t.true(fs.existsSync(path.join(data, 'wampmesh.db-wal')));
  t.is(mode(path.join(data, 'wampmesh.db-wal')), 0o600, 'write-ahead log');
  for (const name of fs.readdirSync(data)) {
    const st = fs.statSync(path.join(data, name));
    if (st.isFile()) t.is(st.mode & 0o077, 0, `${name} is private`);
  }
});

test('an existing database left 0644 (older version, a copy) is made 0600 when opened', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-modes-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const data = path.join(base, 'data');
  const bin = umask022Bin(base);
  const first = await startRouter({ dataDir: data, bin });
  await first.stop();
  fs.chmodSync(path.join(data, 'wampmesh.db'), 0o644);
  const again = await startRouter({ dataDir: data, bin });
  t.teardown(() => again.stop());
  t.is(mode(path.join(data, 'wampmesh.db')), 0o600);
  t.is(mode(path.join(data, 'wampmesh.db-wal')), 0o600);
});

test('the admin CLI offline with --init and umask 022 creates the same private folder', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-modes-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const data = path.join(base, 'data');
  const r = await runCli(['realm', 'list', '--data', data, '--init'], 20_000, umask022Bin(base));
  t.is(r.code, 0, r.stderr);
  t.is(mode(data), 0o700);
  t.is(mode(path.join(data, 'wampmesh.db')), 0o600);
});
