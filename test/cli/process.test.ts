import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from './run-cli.ts';
import { startRouter } from '../helpers/router-process.ts';

const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

test('--help prints usage on stdout and exits 0', async (t) => {
  const r = await runCli(['--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^Usage: wampmesh <command>/);
  t.regex(r.stdout, /serve/);
  t.is(r.stderr, '');
});

test('serve --help lists every serve flag', async (t) => {
  const r = await runCli(['serve', '--help']);
  t.is(r.code, 0);
  for (const flag of ['--config', '--ws', '--rawsocket', '--unix', '--data', '--log-level', '--realm'])
    t.true(r.stdout.includes(flag), flag);
});

test('--version prints the package version', async (t) => {
  const r = await runCli(['--version']);
  t.is(r.code, 0);
  t.regex(r.stdout, new RegExp(`^wampmesh ${pkg.version.replaceAll('.', '\\.')}( \\([0-9a-f]{7}\\))?\\n$`));
});

test('an unknown flag is named, exit 2', async (t) => {
  const r = await runCli(['serve', '--frobnicate']);
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown option '--frobnicate'/);
  t.is(r.stdout, '');
});

test('a bad HOST:PORT is explained, exit 2', async (t) => {
  const r = await runCli(['serve', '--ws', 'abc']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--ws: expected HOST:PORT, got 'abc'/);
});

test('a bad config file: exit 1 with the field named, nothing on stdout', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-cli-'));
  const file = path.join(dir, 'bad.json');
  fs.writeFileSync(file, JSON.stringify({ listeners: { websocket: [{ port: 70000 }] } }));
  const r = await runCli(['serve', '--config', file]);
  t.is(r.code, 1);
  t.is(r.stderr.trim(), `wampmesh: ${file}: listeners.websocket[0].port: expected integer 0..65535`);
  t.is(r.stdout, '');
});

/** A /proc entry (NUL-separated: environ, cmdline) of a router the launcher started with `env`. */
async function launched(env: NodeJS.ProcessEnv, entry: 'environ' | 'cmdline'): Promise<string[]> {
  // Both listeners on free ports: tests run at once, and a port in use now stops the router.
  const router = await startRouter({ env, args: ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'] });
  try {
    return fs.readFileSync(`/proc/${router.pid}/${entry}`, 'utf8').split('\0');
  } finally {
    await router.stop();
  }
}

test('the launcher runs the router with two malloc arenas, or the number its caller set', async (t) => {
  const { MALLOC_ARENA_MAX: _, ...env } = process.env;
  t.true((await launched(env, 'environ')).includes('MALLOC_ARENA_MAX=2'));
  t.true((await launched({ ...env, MALLOC_ARENA_MAX: '4' }, 'environ')).includes('MALLOC_ARENA_MAX=4'));
});

test("the launcher bounds the young generation (unless NODE_OPTIONS does), counts socket buffers in the heap limit and turns V8's memory reducer off", async (t) => {
  const { NODE_OPTIONS: _, ...env } = process.env;
  const own = await launched(env, 'cmdline');
  t.true(own.includes('--max-semi-space-size=16'));
  t.true(own.includes('--external-memory-accounted-in-global-limit'));
  t.true(own.includes('--no-memory-reducer'));
  const operators = await launched({ ...env, NODE_OPTIONS: '--max-semi-space-size=8' }, 'cmdline');
  t.false(operators.some((a) => a.startsWith('--max-semi-space-size')));
  t.true(operators.includes('--external-memory-accounted-in-global-limit'));
  t.true(operators.includes('--no-memory-reducer'));
});
