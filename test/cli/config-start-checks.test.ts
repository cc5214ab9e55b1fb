// Mistakes caught before the router opens anything: a mesh seed's port out of range (named
// mesh.seeds[i]; it failed once the mesh listener was up, in a Node error naming no field),
// --realm for the admin realm (a command-line mistake: exit 2), and a config "file" that is not
// one, or too large to be one (--config /dev/zero read without end).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from './run-cli.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-start-checks-'));

test('a mesh seed port out of 1..65535 is refused naming mesh.seeds[i], before the mesh listener opens', async (t) => {
  const dir = tmp();
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      dataDir: 'data',
      listeners: {},
      mesh: {
        enabled: true,
        mdns: false,
        cluster: { secret: '0123456789abcdef' },
        listen: { host: '127.0.0.1', port: 0 },
        seeds: ['127.0.0.1:8091', '127.0.0.1:99999', '[::1]:0'],
      },
    }),
  );
  const r = await runCli(['serve', '--config', file]);
  t.is(r.code, 1);
  t.is(
    r.stderr,
    `wampmesh: ${file}: mesh.seeds[1]: expected "HOST:PORT" with PORT 1..65535\n` +
      `${file}: mesh.seeds[2]: expected "HOST:PORT" with PORT 1..65535\n`,
  );
  t.false(fs.existsSync(path.join(dir, 'data')), 'nothing was opened');
});

test('--realm wampmesh.admin is a command-line mistake: exit 2', async (t) => {
  const r = await runCli(['serve', '--ws', '127.0.0.1:0', '--realm', 'wampmesh.admin']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^wampmesh: --realm: 'wampmesh\.admin' is the router's admin realm/);
  t.regex(r.stderr, /Try 'wampmesh --help'\.\n$/);
});

test('a config that is not a regular file, or is over 1 MiB, is refused naming the file (exit 1)', async (t) => {
  const dir = tmp();
  const fifo = path.join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  const big = path.join(dir, 'big.json');
  // Valid JSON, only too large: the size alone refuses it.
  fs.writeFileSync(big, `{"dataDir":"data"${' '.repeat(1024 * 1024)}}`);
  const cases: Array<[string, RegExp]> = [
    ['/dev/zero', /^wampmesh: \/dev\/zero: cannot read: not a regular file \(a character device\)\n$/],
    [fifo, /: cannot read: not a regular file \(a FIFO\)\n$/],
    [dir, /: cannot read: not a regular file \(a directory\)\n$/],
    [big, /: cannot read: 1048594 bytes, over the 1048576 \(1 MiB\) a config file may have\n$/],
  ];
  for (const [file, expected] of cases) {
    // Short: before, /dev/zero was read until memory ran out, and a FIFO waited for a writer.
    const r = await runCli(['serve', '--config', file], 5000);
    t.is(r.code, 1, file);
    t.regex(r.stderr, expected, file);
    t.true(r.stderr.startsWith(`wampmesh: ${file}: `), file);
  }
  t.false(fs.existsSync(path.join(dir, 'data')));
});
