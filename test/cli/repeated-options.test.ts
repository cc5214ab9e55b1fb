// An option that takes one value, given twice, is a command-line mistake (exit 2, the option
// named) for every command: node:util parseArgs kept the last value and dropped the first unsaid,
// so `serve --config bad.json --config good.json` started and `admin reset --data A --data B`
// reset B.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from './run-cli.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-repeated-'));

const refused = (option: string, help: string) =>
  new RegExp(
    `^wampmesh: (?:[a-z ]+: )?--${option} given more than once: it takes one value\\nTry 'wampmesh ${help}--help'\\.\\n$`,
  );

test('serve: --config, --data and --log-level given twice exit 2 before anything starts', async (t) => {
  const dir = tmp();
  const bad = path.join(dir, 'bad.json');
  const good = path.join(dir, 'good.json');
  fs.writeFileSync(bad, '{"dataDir":"d-bad",}');
  fs.writeFileSync(good, JSON.stringify({ dataDir: 'd-good', listeners: { websocket: [{ port: 0 }] } }));
  const cases: Array<[string[], string]> = [
    [['--config', bad, '--config', good], 'config'],
    [['--config', good, '--data', path.join(dir, 'a'), `--data=${path.join(dir, 'b')}`], 'data'],
    [['--config', good, '--log-level', 'info', '--log-level', 'warn'], 'log-level'],
  ];
  for (const [args, option] of cases) {
    const r = await runCli(['serve', ...args]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, refused(option, ''), args.join(' '));
    t.is(r.stdout, '');
  }
  t.deepEqual(fs.readdirSync(dir).sort(), ['bad.json', 'good.json'], 'no data folder was made');
  // Options meant to repeat still do.
  t.not((await runCli(['serve', '--ws', '127.0.0.1:0', '--ws', '127.0.0.1:0', '--help'])).code, 2);
});

test('admin reset --data A --data B exits 2 and resets neither', async (t) => {
  const dir = tmp();
  for (const d of ['A', 'B']) t.is((await runCli(['realm', 'list', '--data', path.join(dir, d), '--init'])).code, 0);
  const before = fs.readFileSync(path.join(dir, 'B', 'wampmesh.db'));
  const r = await runCli(['admin', 'reset', '--data', path.join(dir, 'A'), '--data', path.join(dir, 'B')]);
  t.is(r.code, 2);
  t.regex(r.stderr, refused('data', 'admin '));
  t.notRegex(r.stdout, /password/);
  t.deepEqual(fs.readFileSync(path.join(dir, 'B', 'wampmesh.db')), before);
});

test('admin commands, bridge replay and tls refuse a repeated single-value option', async (t) => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  const cases: Array<[string[], string, string]> = [
    [['bridge', 'replay', 'b', '--id', '1', '--id', '2', '--data', data], 'id', 'bridge '],
    [['realm', 'list', '--data', data, '--data', data], 'data', 'realm '],
    [['realm', 'list', '--config', 'a.json', '--config=b.json'], 'config', 'realm '],
    [['tls', '--config', 'a.json', '--config=b.json'], 'config', 'tls '],
  ];
  for (const [args, option, help] of cases) {
    const r = await runCli(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, refused(option, help), args.join(' '));
  }
  t.false(fs.existsSync(data), 'nothing was opened');
});
