// The esbuild half of scripts/build-binary.mjs: the router's sources to one CommonJS script
// (with the substitutions src/runtime/bundle/README.md lists), the packages only some
// configurations load to scripts of their own (CHUNKS), and the builtins shared. Kept apart so
// each file reads in one sitting; build-binary.mjs hashes this file with its own.

import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MAIN = path.join(root, 'src', 'cli', 'main.ts');

export function log(msg) {
  process.stderr.write(`build-binary: ${msg}\n`);
}
export function fail(msg) {
  log(`error: ${msg}`);
  process.exit(1);
}

/** Whether an esbuild import comes from `file` of the package `pkg` (by suffix: node_modules may be a symlink). */
function importedFrom(args, pkg, ...file) {
  return args.importer.endsWith([`${path.sep}node_modules`, pkg, ...file].join(path.sep));
}

export async function bundle(outfile, info, assetTable, entry) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    fail('esbuild is missing: run "npm ci" (it is a devDependency)');
  }
  const here = (p) => path.join(root, p);
  const substitutions = [
    {
      what: 'uWebSockets.js',
      optional: () => entry !== MAIN,
      filter: /^@btc-vision\/uwebsockets\.js$/,
      when: () => true,
      to: here('src/runtime/bundle/uws.ts'),
    },
    {
      what: 'better-sqlite3 binding',
      // Only when the app bundles better-sqlite3 at all (the CLI may not wire the store yet).
      optional: (inputs) => !inputs.some((f) => f.includes('node_modules/better-sqlite3/')),
      filter: /^\.\/binding(\.js)?$/,
      // By suffix: node_modules may be a symlink, and esbuild reports real paths.
      when: (args) => args.resolveDir.endsWith(`${path.sep}node_modules${path.sep}better-sqlite3${path.sep}lib`),
      to: here('src/runtime/bundle/sqlite-binding.ts'),
    },
    {
      what: "zod's locales",
      optional: () => entry !== MAIN,
      // From zod's own modules only (v4/classic and v4/core re-export the table as `locales`).
      filter: /^\.\.\/locales\/index\.js$/,
      when: (args) => args.resolveDir.includes(`${path.sep}node_modules${path.sep}zod${path.sep}v4${path.sep}`),
      to: here('src/runtime/bundle/zod-locales.ts'),
    },
    {
      what: 'src/cli/version.ts',
      optional: () => entry !== MAIN,
      filter: /version\.ts$/,
      when: (args) => path.resolve(args.resolveDir, args.path) === here('src/cli/version.ts'),
      to: here('src/runtime/bundle/version.ts'),
    },
    // pino's transports (pino/lib/transport.js) run in worker threads (thread-stream); the router
    // writes its lines to fd 2 itself and never asks for one. Without these three, loading pino
    // loaded worker_threads and assert with 15 of Node's internal modules: ~1 MB of an idle
    // executable (BENCHMARKS.md, start-up and idle footprint).
    {
      what: "pino's thread-stream",
      optional: () => entry !== MAIN,
      filter: /^thread-stream$/,
      when: (args) => importedFrom(args, 'pino', 'lib', 'transport.js'),
      contents:
        "module.exports = class ThreadStream { constructor() { throw new Error('pino transports are not available in the wampmesh executable'); } };",
    },
    {
      what: "pino's worker_threads",
      optional: () => entry !== MAIN,
      filter: /^worker_threads$/,
      // tools.js only asks whether it runs on the main thread, which the router's logger does.
      when: (args) => importedFrom(args, 'pino', 'lib', 'tools.js'),
      contents: 'exports.isMainThread = true;',
    },
    {
      what: "sonic-boom's assert",
      optional: () => entry !== MAIN,
      filter: /^assert$/,
      // One check of an argument the router always gives right (a file descriptor number).
      when: (args) => importedFrom(args, 'sonic-boom', 'index.js'),
      contents: 'module.exports = function assert(value, message) { if (!value) throw new Error(message); };',
    },
  ];
  const hits = new Set();
  const plugin = {
    name: 'wampmesh-substitutions',
    setup(build) {
      for (const s of substitutions) {
        build.onResolve({ filter: s.filter }, (args) => {
          if (!s.when(args)) return undefined;
          hits.add(s.what);
          return s.contents === undefined ? { path: s.to } : { path: s.what, namespace: 'wampmesh-stub' };
        });
      }
      build.onLoad({ filter: /.*/, namespace: 'wampmesh-stub' }, (args) => ({
        contents: substitutions.find((s) => s.what === args.path).contents,
        loader: 'js',
      }));
    },
  };
  // The web console's script (src/console/, for the browser), carried as a string.
  // The same options as when the router bundles it at start from the sources (console-assets.ts).
  const consoleOptions = JSON.parse(fs.readFileSync(here('src/console/bundle.json'), 'utf8'));
  const consoleBundle = await esbuild.build({
    ...consoleOptions,
    entryPoints: [here('src/console/main.ts')],
    absWorkingDir: root,
  });
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    // Sources use import.meta; in a CommonJS bundle it becomes the executable's own location.
    banner: { js: "const __wampmesh_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
    define: {
      'import.meta.url': '__wampmesh_import_meta_url',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
      __WAMPMESH_BUILD__: JSON.stringify(info),
      __WAMPMESH_NATIVE_ASSETS__: JSON.stringify(assetTable),
      __WAMPMESH_CONSOLE_JS__: JSON.stringify(consoleBundle.outputFiles[0].text),
    },
    // Optional native accelerators of cbor-x and msgpackr: absent in the executable, and both
    // packages fall back to their JavaScript code when require() of them fails.
    // esbuild: src/observe/console-assets.ts bundles the console with it only when running
    // from the sources; the executable carries the bundle (__WAMPMESH_CONSOLE_JS__).
    // The packages of CHUNKS ride beside the script as SEA assets (see chunk()).
    external: ['cbor-extract', 'msgpackr-extract', 'esbuild', ...(entry === MAIN ? CHUNKS : [])],
    plugins: [plugin],
    absWorkingDir: root,
    legalComments: 'inline',
    // The executable keeps its whole script in V8's heap for as long as it runs (functions are
    // compiled lazily, from the source). ASCII keeps it a one-byte string (zod's locales would
    // make it two-byte, twice the size) and minified whitespace and syntax keep it small;
    // identifiers keep their names, so stack traces and error names read as in the sources.
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent',
    metafile: true,
  });
  for (const w of result.warnings)
    log(`esbuild warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  const inputs = Object.keys(result.metafile.inputs);
  for (const s of substitutions)
    if (!hits.has(s.what) && !s.optional?.(inputs))
      fail(
        `the bundle no longer imports ${s.what}: update the substitutions in ${path.relative(root, fileURLToPath(import.meta.url))}`,
      );
  shareBuiltins(outfile);
  if (entry === MAIN) loadChunks(outfile);
  return result;
}

/**
 * Packages only some configurations load, built as scripts of their own and carried as SEA
 * assets: V8 holds the executable's script in its heap for the process's life, and an idle router
 * need not hold these. The MQTT client (for MQTT bridges, with ws, socks and their dependencies)
 * is 0.45 MB of the script, shared with nothing else the router loads (its copy of mqtt-packet is
 * its own: the broker keeps the main script's).
 */
export const CHUNKS = ['mqtt'];

/** Bundles `pkg` with its dependencies to one CommonJS script exporting what `require(pkg)` gives. */
export async function chunk(esbuild, pkg, outfile) {
  await esbuild.build({
    stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: root, loader: 'js' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    absWorkingDir: root,
    legalComments: 'inline',
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent',
  });
}

/** Points the script's require() of each chunk's package at its asset, compiled on first use. */
function loadChunks(outfile) {
  let text = fs.readFileSync(outfile, 'utf8');
  for (const pkg of CHUNKS) {
    const call = `require(${JSON.stringify(pkg)})`;
    if (!text.includes(call))
      fail(
        `the bundle no longer requires ${pkg}: update CHUNKS in ${path.relative(root, fileURLToPath(import.meta.url))}`,
      );
    text = text.replaceAll(call, `__wampmesh_chunk(${JSON.stringify(pkg)})`);
  }
  const loader =
    'const __wampmesh_chunks = new Map(), __wampmesh_chunk = (pkg) => { let m = __wampmesh_chunks.get(pkg); if (m === undefined) { ' +
    "const module = { exports: {} }, file = `${__filename}/chunk-${pkg}.cjs`; require('node:vm').compileFunction(" +
    "require('node:sea').getAsset(`chunk-${pkg}.cjs`, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], " +
    '{ filename: file })(module.exports, require, module, file, __dirname); __wampmesh_chunks.set(pkg, (m = module.exports)); } return m; };\n';
  fs.writeFileSync(outfile, loader + text);
}

/**
 * esbuild gives each module that imports a Node builtin (`import fs from 'node:fs'`) its own
 * copy of the builtin's exports (`__toESM(require("node:fs"),1)`: an object with a getter per
 * export, ~19 KB of heap for node:fs), made when the module loads and kept for the process's
 * life: 65 copies of 10 builtins. The copies only read through to the builtin, so every module
 * can share one per builtin, made on first use.
 */
function shareBuiltins(outfile) {
  const text = fs.readFileSync(outfile, 'utf8');
  const copy = /__toESM\(require\("(node:[a-z_/]+)"\),1\)/g;
  if (!copy.test(text))
    fail(
      `the bundle no longer imports Node builtins as __toESM(require("node:..."),1): update shareBuiltins in ${path.relative(root, fileURLToPath(import.meta.url))}`,
    );
  const shared =
    'const __wampmesh_builtins = new Map(), __wampmesh_builtin = (id) => { let m = __wampmesh_builtins.get(id); ' +
    'if (m === undefined) __wampmesh_builtins.set(id, (m = __toESM(require(id), 1))); return m; };\n';
  fs.writeFileSync(outfile, shared + text.replace(copy, '__wampmesh_builtin("$1")'));
}
