#!/usr/bin/env node
// Installs the project's own runtime into .runtime/: Node 24 (from the pinned npm package
// node-linux-<arch>, integrity-checked by package-lock.json) and, where the host's glibc is
// older than 2.38 (Debian 12), a private glibc from Debian trixie so uWebSockets.js loads.
// Runs on any Node >= 20: scripts/node24 and scripts/test.sh start it with the node on PATH
// when the runtime is missing or older than the installed Node package (npm runs no install
// scripts here, see .npmrc).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const cp = require('node:child_process');
const crypto = require('node:crypto');

const root = path.resolve(__dirname, '..');
const runtime = path.join(root, '.runtime');
const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
const debArch = arch === 'arm64' ? 'arm64' : 'amd64';
const triplet = arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
const loader = arch === 'arm64' ? 'ld-linux-aarch64.so.1' : 'ld-linux-x86-64.so.2';
// uWebSockets.js 20.57 references __isoc23_strtol@GLIBC_2.38.
const MIN_GLIBC = [2, 38];
// Known-good trixie packages; apt checks each .deb against the signed archive index, and we
// keep the sha256 of what was used in .runtime/manifest.json.
const GLIBC_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'];

function log(msg) {
  process.stderr.write(`wampmesh setup: ${msg}\n`);
}
function fail(msg) {
  log(`error: ${msg}`);
  process.exit(1);
}
function run(cmd, args, opts = {}) {
  const r = cp.spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').trim().slice(-2000)}`);
  return r.stdout;
}

function hostGlibc() {
  const v = process.report && process.report.getReport().header.glibcVersionRuntime;
  if (!v) return null;
  return v.split('.').map(Number);
}
function atLeast(v, min) {
  return v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);
}

function nodeSource() {
  const p = path.join(root, 'node_modules', `node-linux-${arch}`, 'bin', 'node');
  if (!fs.existsSync(p))
    fail(`${p} is missing: run "npm ci" (the pinned Node 24 comes from the npm package node-linux-${arch})`);
  return p;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// The Debian archive this host already uses, so we name no host of our own.
function debianMirror() {
  const dirs = ['/etc/apt/sources.list.d'];
  const files = ['/etc/apt/sources.list'];
  for (const d of dirs) if (fs.existsSync(d)) for (const f of fs.readdirSync(d)) files.push(path.join(d, f));
  for (const f of files) {
    if (!fs.existsSync(f)) continue;
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^URIs:\s*(\S+)/gm)) if (/\/debian\/?$/.test(m[1])) return m[1];
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/gm)) if (/\/debian\/?$/.test(m[1])) return m[1];
  }
  return null;
}

function ensurePatchelf() {
  if (cp.spawnSync('patchelf', ['--version']).status === 0) return;
  if (process.getuid && process.getuid() !== 0)
    fail('patchelf is needed: run "sudo apt-get install patchelf", then "npm run setup"');
  log('installing patchelf (Debian package)');
  try {
    run('apt-get', ['install', '-y', '--no-install-recommends', 'patchelf'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', 'patchelf'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

function fetchTrixieGlibc(dest) {
  const mirror = debianMirror();
  if (!mirror) fail('no Debian archive found in /etc/apt sources; cannot fetch trixie glibc');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-apt-'));
  try {
    fs.mkdirSync(path.join(work, 'lists', 'partial'), { recursive: true });
    fs.mkdirSync(path.join(work, 'cache', 'archives', 'partial'), { recursive: true });
    const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
    fs.writeFileSync(
      path.join(work, 'sources.list'),
      `deb [arch=${debArch} signed-by=${keyring}] ${mirror} trixie main\n`,
    );
    const opts = [
      '-o',
      `Dir::Etc::SourceList=${path.join(work, 'sources.list')}`,
      '-o',
      'Dir::Etc::SourceParts=/dev/null',
      '-o',
      `Dir::State::Lists=${path.join(work, 'lists')}`,
      '-o',
      `Dir::Cache=${path.join(work, 'cache')}`,
      '-o',
      `APT::Architecture=${debArch}`,
      '-o',
      'Debug::NoLocking=1',
    ];
    log('fetching glibc 2.41 from Debian trixie (host glibc is older than 2.38)');
    run('apt-get', [...opts, 'update']);
    run('apt-get', [...opts, 'download', ...GLIBC_PACKAGES], { cwd: work });
    const debs = fs.readdirSync(work).filter((f) => f.endsWith('.deb'));
    if (debs.length !== GLIBC_PACKAGES.length)
      fail(`expected ${GLIBC_PACKAGES.length} packages, got ${debs.join(', ')}`);
    const manifest = [];
    for (const deb of debs) {
      run('dpkg-deb', ['-x', path.join(work, deb), dest]);
      manifest.push({ deb, sha256: sha256(path.join(work, deb)) });
    }
    return manifest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function main() {
  if (process.platform !== 'linux') fail('wampmesh runs on Linux only');
  const src = nodeSource();
  const srcHash = sha256(src);
  const glibc = hostGlibc();
  const needShim = !glibc || !atLeast(glibc, MIN_GLIBC);
  const manifestPath = path.join(runtime, 'manifest.json');
  if (fs.existsSync(manifestPath)) {
    try {
      const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      if (m.nodeSha256 === srcHash && m.shim === needShim && fs.existsSync(path.join(runtime, 'node'))) {
        // Current: mark it so scripts/node24 does not check again until npm reinstalls Node.
        const now = new Date();
        fs.utimesSync(manifestPath, now, now);
        return;
      }
    } catch {
      /* rebuild below */
    }
  }
  fs.rmSync(runtime, { recursive: true, force: true });
  const stage = `${runtime}.tmp-${process.pid}`;
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  const node = path.join(stage, 'node');
  fs.copyFileSync(src, node);
  fs.chmodSync(node, 0o755);
  let debs = [];
  if (needShim) {
    ensurePatchelf();
    const libs = path.join(stage, 'glibc');
    debs = fetchTrixieGlibc(libs);
    // The interpreter and rpath are absolute, so they point at the final location. Trixie is
    // merged-/usr: the loader lives under usr/lib, older layouts keep it under lib.
    const libDirs = [path.join('usr', 'lib', triplet), path.join('lib', triplet)].filter((d) =>
      fs.existsSync(path.join(libs, d)),
    );
    const loaderDir = libDirs.find((d) => fs.existsSync(path.join(libs, d, loader)));
    if (!loaderDir) fail(`${loader} not found in the trixie libc6 package`);
    const finalLibs = path.join(runtime, 'glibc');
    run('patchelf', [
      '--set-interpreter',
      path.join(finalLibs, loaderDir, loader),
      '--set-rpath',
      libDirs.map((d) => path.join(finalLibs, d)).join(':'),
      node,
    ]);
  }
  fs.writeFileSync(
    path.join(stage, 'manifest.json'),
    JSON.stringify(
      {
        node: `node-linux-${arch}`,
        nodeSha256: srcHash,
        shim: needShim,
        hostGlibc: glibc && glibc.join('.'),
        debs,
      },
      null,
      2,
    ),
  );
  fs.renameSync(stage, runtime);
  const v = run(path.join(runtime, 'node'), [
    '-p',
    'process.version + " glibc " + process.report.getReport().header.glibcVersionRuntime',
  ]).trim();
  log(`runtime ready: ${v}${needShim ? ' (private glibc from Debian trixie)' : ''}`);
}

try {
  main();
} catch (e) {
  fail(e && e.message ? e.message : String(e));
}
