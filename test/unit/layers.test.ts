// The layers of src/, read from the import statements themselves: no import cycle anywhere
// (type-only imports included: a cycle of types is a cycle of concepts), and the protocol core
// (src/wamp, src/serializers, src/router) sans-IO, importing nothing above it: no sockets, files,
// processes, storage, mesh or transports. Inside the core, src/serializers imports neither
// src/wamp nor src/router, and src/wamp does not import src/router.

import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const src = path.join(root, 'src');

/** Every .ts file under `dir`, as paths relative to the repository root. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path.relative(root, full)] : [];
  });
}

// `import ... from '...'`, `export ... from '...'`, `import '...'` and `import('...')`: comments
// are removed first so that an example in a comment is not taken for an import.
const SPECIFIER =
  /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  return [...code.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

interface Graph {
  files: string[];
  edges: Map<string, { local: string[]; external: string[] }>;
}

function graph(): Graph {
  const files = sources(src);
  const edges = new Map<string, { local: string[]; external: string[] }>();
  for (const file of files) {
    const local: string[] = [];
    const external: string[] = [];
    for (const spec of importsOf(fs.readFileSync(path.join(root, file), 'utf8'))) {
      if (spec.startsWith('.')) local.push(path.relative(root, path.resolve(root, path.dirname(file), spec)));
      else external.push(spec);
    }
    edges.set(file, { local, external });
  }
  return { files, edges };
}

/** Each import cycle once, as the list of its files (the first one repeated at the end). */
function cycles(edges: ReadonlyMap<string, { local: readonly string[] }>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file)?.local ?? []) {
      if (!edges.has(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (state.get(file) === undefined) visit(file);
  return found;
}

const CORE = ['src/wamp/', 'src/serializers/', 'src/router/'];
/** What the core may import besides itself: the logger interface (quiet by default). */
const CORE_MAY_IMPORT = ['src/log.ts'];
/** Packages the core may use: pure encoders, and node modules without I/O. */
const CORE_PACKAGES = new Set(['cbor-x', 'msgpackr', 'node:crypto', 'node:buffer', 'node:util']);
/** Inside the core, what each layer must not import. */
const BELOW: Record<string, readonly string[]> = {
  'src/serializers/': ['src/wamp/', 'src/router/'],
  'src/wamp/': ['src/router/'],
};

/** Every import that breaks the layering, as "file -> import: why". */
function layerViolations(
  edges: ReadonlyMap<string, { local: readonly string[]; external: readonly string[] }>,
): string[] {
  const out: string[] = [];
  for (const [file, { local, external }] of edges) {
    if (!CORE.some((c) => file.startsWith(c))) continue;
    for (const target of local) {
      if (!CORE.some((c) => target.startsWith(c)) && !CORE_MAY_IMPORT.includes(target))
        out.push(`${file} -> ${target}: the core imports something above it`);
      for (const [layer, forbidden] of Object.entries(BELOW)) {
        if (file.startsWith(layer) && forbidden.some((f) => target.startsWith(f)))
          out.push(`${file} -> ${target}: ${layer} imports a layer above it`);
      }
    }
    for (const pkg of external)
      if (!CORE_PACKAGES.has(pkg))
        out.push(`${file} -> ${pkg}: the core imports a package with I/O (or one not vetted for it)`);
  }
  return out;
}

test('imports are read from code, not from comments or strings', (t) => {
  const text = [
    "import { a } from './a.ts';",
    "import type {\n  B,\n  C,\n} from '../b.ts';",
    "export { d } from './d.ts';",
    "export type * from './e.ts';",
    "import './f.ts';",
    "const g = await import('./g.ts');",
    "// import { x } from './comment.ts';",
    "/* import { y } from './block.ts'; */",
    "const s = 'wampmesh.security.import(document)';",
  ].join('\n');
  t.deepEqual(importsOf(text), ['./a.ts', '../b.ts', './d.ts', './e.ts', './f.ts', './g.ts']);
});

test('the cycle finder finds a cycle, and only one', (t) => {
  const edges = new Map([
    ['a', { local: ['b'] }],
    ['b', { local: ['c'] }],
    ['c', { local: ['a', 'd'] }],
    ['d', { local: [] }],
  ]);
  t.deepEqual(cycles(edges), [['a', 'b', 'c', 'a']]);
  t.deepEqual(
    cycles(
      new Map([
        ['a', { local: ['b'] }],
        ['b', { local: [] }],
      ]),
    ),
    [],
  );
});

test('the layer check refuses the core importing I/O or anything above it', (t) => {
  const edges = new Map([
    [
      'src/router/x.ts',
      { local: ['src/mesh/y.ts', 'src/log.ts', 'src/wamp/z.ts'], external: ['node:net', 'node:crypto'] },
    ],
    ['src/wamp/z.ts', { local: ['src/router/x.ts'], external: [] }],
  ]);
  t.deepEqual(layerViolations(edges), [
    'src/router/x.ts -> src/mesh/y.ts: the core imports something above it',
    'src/router/x.ts -> node:net: the core imports a package with I/O (or one not vetted for it)',
    'src/wamp/z.ts -> src/router/x.ts: src/wamp/ imports a layer above it',
  ]);
});

test('src/ has no import cycle', (t) => {
  const { files, edges } = graph();
  t.true(files.length > 50, 'the sources were found');
  const found = cycles(edges);
  t.deepEqual(
    found.map((c) => c.join(' -> ')),
    [],
    'import cycles',
  );
});

test('the protocol core imports no I/O and nothing above it', (t) => {
  t.deepEqual(layerViolations(graph().edges), []);
});

test('every relative import names a file that exists', (t) => {
  const missing: string[] = [];
  for (const [file, { local }] of graph().edges)
    for (const target of local) if (!fs.existsSync(path.join(root, target))) missing.push(`${file} -> ${target}`);
  t.deepEqual(missing, []);
});
