#!/usr/bin/env node
// Makes package-lock.json acceptable to `npm ci` again after an `npm install`.
//
// Why: cbor-x and msgpackr list platform packages (@cbor-extract/*, some @msgpackr-extract/*)
// as optional dependencies that the registry we install from does not have. npm >= 11.16
// leaves such a package out of the lock and then its own `npm ci` rejects that lock
// ("Missing: @cbor-extract/cbor-extract-linux-x64@ from lock file", npm/cli#9846). npm 11.13
// records each one as an inert entry ({"optional": true}) that later versions accept. This
// script lets npm 11.13 add those entries and refuses any other change to the lock, so it can
// never hide a lock that is really out of date.
//
// Usage: npm run fix-lock   (after adding or updating a dependency; commit the result)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const cp = require('node:child_process');

const NPM_WITH_PLACEHOLDERS = 'npm@11.13.0';
const root = path.resolve(__dirname, '..');
const lockFile = path.join(root, 'package-lock.json');

function log(msg) { process.stderr.write(`fix-lock: ${msg}\n`); }
function npmArgs(...args) { return [...args, '--ignore-scripts', '--no-audit', '--no-fund']; }
function run(cmd, args) {
  return cp.spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function ciAccepts() {
  const r = run('npm', npmArgs('ci', '--dry-run'));
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
const isPlaceholder = (v) => JSON.stringify(v) === '{"optional":true}';

if (ciAccepts().ok) {
  log('npm ci accepts package-lock.json; nothing to do');
  process.exit(0);
}

const beforeText = fs.readFileSync(lockFile, 'utf8');
const r = run('npx', ['-y', NPM_WITH_PLACEHOLDERS, ...npmArgs('install', '--package-lock-only')]);
if (r.status !== 0) {
  fs.writeFileSync(lockFile, beforeText);
  log(`${NPM_WITH_PLACEHOLDERS} install --package-lock-only failed:\n${r.stderr.trim().slice(-2000)}`);
  process.exit(1);
}

const before = JSON.parse(beforeText);
const after = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
const added = [];
const other = [];
for (const [key, value] of Object.entries(after.packages ?? {})) {
  const old = before.packages?.[key];
  if (old === undefined && isPlaceholder(value)) added.push(key);
  else if (JSON.stringify(old) !== JSON.stringify(value)) other.push(key || '(root package)');
}
for (const key of Object.keys(before.packages ?? {})) {
  if (!(key in (after.packages ?? {}))) other.push(key);
}
if (other.length > 0) {
  fs.writeFileSync(lockFile, beforeText);
  log(`package-lock.json does not match package.json (${other.slice(0, 5).join(', ')}${other.length > 5 ? ', ...' : ''}):`);
  log('run "npm install" first, then "npm run fix-lock"; the lock is left as it was');
  process.exit(1);
}

const check = ciAccepts();
if (!check.ok) {
  log(`npm ci still rejects package-lock.json:\n${check.output.trim().slice(-2000)}`);
  process.exit(1);
}
log(`added ${added.length} inert entries for optional packages the registry lacks; npm ci accepts the lock`);
