// What the native codec accelerators would buy (`npm run bench:codecs`). wampmesh installs
// cbor-x and msgpackr without them (README, Dependencies); this installs both libraries again
// with `cbor-extract` and `msgpackr-extract` into .bench-deps/codec-accel, next to a copy of
// this checkout's src/ (so the copy's bare imports of cbor-x and msgpackr resolve there and
// everything else resolves to the project's node_modules), and runs the core benchmark
// (core.ts) on both trees in one process: the same router code, with and without accelerators.
//
// cbor-extract is pinned to 2.2.2: the registry serves no platform packages for 2.2.3, which
// cbor-x 1.6.9 asks for. Extra arguments are passed to core.ts's CORE_RUNS filter.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const deps = path.join(root, '.bench-deps', 'codec-accel');
const manifest = {
  name: 'wampmesh-bench-codec-accel',
  private: true,
  type: 'module',
  dependencies: { 'cbor-x': '1.6.9', msgpackr: '2.1.3', 'cbor-extract': '2.2.2', 'msgpackr-extract': '3.0.7' },
  overrides: { 'cbor-extract': '2.2.2' },
};

mkdirSync(deps, { recursive: true });
writeFileSync(path.join(deps, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
if (!existsSync(path.join(deps, 'node_modules', 'cbor-extract', 'package.json'))) {
  process.stderr.write(`bench: installing cbor-x and msgpackr with their accelerators into ${deps} (once)\n`);
  const r = spawnSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund'], {
    cwd: deps,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error('npm install of the accelerated codecs failed');
}
// A fresh copy each run, so the comparison is always against this checkout's code.
rmSync(path.join(deps, 'src'), { recursive: true, force: true });
cpSync(path.join(root, 'src'), path.join(deps, 'src'), { recursive: true });

// Refuse to report a comparison in which the accelerators did not load.
const fromCopy = createRequire(path.join(deps, 'src', 'serializers', 'index.ts'));
for (const name of ['cbor-extract', 'msgpackr-extract']) {
  const addon = fromCopy(name) as { extractStrings?: unknown };
  if (typeof addon.extractStrings !== 'function') throw new Error(`${name} did not load its native addon`);
}
process.stderr.write('bench: second tree = the same src/ with cbor-extract and msgpackr-extract loaded\n');

const runs = process.argv[2] ?? 'CBOR|MsgPack';
const r = spawnSync(process.execPath, [path.join(import.meta.dirname, 'core.ts'), path.join(deps, 'src')], {
  stdio: 'inherit',
  env: { ...process.env, CORE_RUNS: runs },
});
process.exit(r.status ?? 1);
