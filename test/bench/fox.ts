// fox-wamp (npm fox-wamp 0.7.28, a WAMP router on Node; WebSocket + JSON only) as a baseline
// of the benchmark (bench.ts starts it as a child process). Started programmatically the way
// its README shows (FoxRouter#listenWAMP with `ws` server options), on a loopback port the OS
// picks; it creates realm1 on first use and admits anonymous sessions.
//
// Prints {"fox": <port>} once listening; exits when its stdin closes.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import path from 'node:path';

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

// Installed on first use into its own folder, not as a dependency of the project: it pulls in
// sqlite3, which compiles from source, and only the benchmark needs it.
const VERSION = '0.7.28';
const deps = path.resolve(import.meta.dirname, '../../.bench-deps');
if (!existsSync(path.join(deps, 'node_modules', 'fox-wamp', 'package.json'))) {
  process.stderr.write(`bench: installing fox-wamp@${VERSION} into ${deps} (once)\n`);
  // Its own package.json, or npm would take the project above it for the one to install.
  mkdirSync(deps, { recursive: true });
  writeFileSync(path.join(deps, 'package.json'), '{ "name": "wampmesh-bench-deps", "private": true }\n');
  const r = spawnSync(
    'npm',
    ['install', '--prefix', deps, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `fox-wamp@${VERSION}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`npm install fox-wamp@${VERSION} failed`);
}
const require = createRequire(path.join(deps, 'package.json'));
const FoxRouter = require('fox-wamp') as new () => { listenWAMP(options: { host: string; port: number }): Server };
const server = new FoxRouter().listenWAMP({ host: '127.0.0.1', port: 0 });
server.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ fox: (server.address() as { port: number }).port })}\n`);
});
