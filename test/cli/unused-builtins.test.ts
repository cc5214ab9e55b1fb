// A router serves its default listeners without loading the Node modules only other
// configurations need: each costs idle RSS (BENCHMARKS.md, start-up and idle footprint): node:tls
// (OpenSSL's TLS state, 2.5 MB), node:fs/promises (readline and the REPL's history with it,
// 1 MB), node:perf_hooks (0.5 MB, for /metrics). Checked in a process of its own, started as
// `serve` starts, since the test runner itself loads some of them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

const root = path.resolve(import.meta.dirname, '..', '..');

const SCRIPT = `
import { defaultConfig } from './src/config/config.ts';
import { startServer } from './src/cli/serve.ts';
import { silentLogger } from './src/log.ts';
const config = {
  ...defaultConfig(),
  dataDir: process.env.DATA_DIR,
  listeners: {
    websocket: [{ host: '127.0.0.1', port: 0, path: '/ws' }],
    rawsocket: [{ host: '127.0.0.1', port: 0 }],
    unix: [{ path: process.env.DATA_DIR + '/wamp.sock', mode: '0660' }],
    http: [],
    mqtt: [],
  },
};
const server = await startServer(config, silentLogger);
const loaded = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
process.stdout.write(JSON.stringify({ listeners: server.listeners.length, loaded }));
await server.stop();
`;

test('serve with WebSocket, RawSocket and Unix listeners loads neither node:tls, node:fs/promises nor node:perf_hooks', (t) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-builtins-'));
  try {
    const r = spawnSync(path.join(root, 'scripts', 'node24'), ['--input-type=module', '-e', SCRIPT], {
      cwd: root,
      env: { ...process.env, DATA_DIR: data },
      encoding: 'utf8',
      timeout: 60_000,
    });
    t.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { listeners: number; loaded: string[] };
    t.true(out.listeners >= 3, r.stdout);
    for (const m of ['tls', 'fs/promises', 'perf_hooks']) t.false(out.loaded.includes(m), m);
    t.true(out.loaded.includes('net'), 'the list is the one of loaded modules');
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
