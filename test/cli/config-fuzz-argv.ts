// The command lines the config fuzz (config-fuzz.test.ts) hands parseCommandLine and the admin
// subcommands: valid ones for serve and admin, mutated with known options and odd values.

import type { Rng } from '../helpers/fuzz-input.ts';

export const SERVE_ARGV: readonly string[][] = [
  ['serve'],
  ['serve', '--ws', '127.0.0.1:0'],
  ['serve', '--rawsocket', '[::1]:8081', '--ws', 'localhost:8080/wamp'],
  [
    'serve',
    '--config',
    'wampmesh.json',
    '--realm',
    'com.example',
    '--log-level',
    'info',
    '--unix',
    'w.sock',
    '--data',
    'd',
  ],
  ['--help'],
  ['-V'],
  ['help', 'serve'],
  ['serve', '-h'],
];
export const SERVE_OPTIONS = [
  '--config',
  '--ws',
  '--rawsocket',
  '--unix',
  '--data',
  '--log-level',
  '--realm',
  '--help',
  '-h',
  '--version',
  '-V',
  '--port',
  '--',
  '-',
  '--ws=',
  '--realm=a#b',
];

export const ADMIN_ARGV: readonly string[][] = [
  ['realm', 'create', 'com.x', '--authmethods', 'ticket,wampcra'],
  ['realm', 'update', 'com.x', '--security', 'off', '--connections', 'on'],
  ['user', 'create', 'com.x', 'bob', '--password', 'a long password', '--group', 'g', '--meta', '{"a":1}'],
  ['user', 'update', 'com.x', 'bob', '--disabled', 'on', '--pubkey', 'ab'.repeat(32)],
  ['group', 'create', 'com.x', 'ops', '--parent', 'staff', '--description', 'd'],
  [
    'grant',
    'create',
    'com.x',
    '--allow',
    'call,subscribe',
    '--uri',
    'com.x.',
    '--match',
    'prefix',
    '--to',
    'group:ops',
  ],
  ['source', 'create', 'com.x', '--cidr', '10.0.0.0/8', '--authmethods', 'ticket', '--to', 'all'],
  ['grant', 'delete', 'com.x', '7'],
  ['realm', 'list', '--data', 'd'],
  ['security', 'export', '--out', 'f.json'],
  ['user', 'create', 'com.x', 'bob', '--json', '{"groups":["a"]}'],
  ['mesh', 'status'],
  ['user', '--help'],
  ['security', 'import', '/nonexistent.json'],
];
export const ADMIN_OPTIONS = [
  '--data',
  '--json',
  '--help',
  '-h',
  '--password',
  '--group',
  '--meta',
  '--authmethods',
  '--to',
  '--allow',
  '--uri',
  '--cidr',
  '--disabled',
  '--out',
  '--frob',
  '--',
  '-',
];

const ARG_VALUES = [
  '',
  ' ',
  '-',
  '--',
  '=',
  '\0',
  'é',
  '😀',
  'x'.repeat(10_000),
  '127.0.0.1:0',
  '[::1]:0',
  '::1:80',
  '127.0.0.1:65536',
  '127.0.0.1:-1',
  'host:80/a b',
  'a#b',
  'com..x',
  'realm1',
  'loud',
  'debug',
  'on',
  'off',
  'maybe',
  '{',
  '{"a":1}',
  '[]',
  'null',
  '0',
  '-1',
  '1.5',
  '99999999999999999999',
  '../..',
];

export function mutateArgv(rng: Rng, base: readonly string[], options: readonly string[]): string[] {
  const argv = [...base];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const i = rng.int(argv.length + 1);
    switch (rng.int(7)) {
      case 0:
      case 1:
        argv[Math.min(i, argv.length - 1)] = rng.pick(ARG_VALUES);
        break; // a value replaced
      case 2:
        argv.splice(i, 0, rng.pick(options));
        break; // an option inserted (often without its value)
      case 3:
        argv.splice(i, 0, rng.pick(options), rng.pick(ARG_VALUES));
        break;
      case 4:
        argv.splice(i, 1);
        break; // something left out
      case 5:
        argv.splice(i, 0, `${rng.pick(options)}=${rng.pick(ARG_VALUES)}`);
        break;
      default:
        argv.push(...argv.slice(1, 1 + rng.int(3))); // repeated
    }
  }
  return argv;
}
