import path from 'node:path';
import test from 'ava';
import { applyServeFlags, parseCommandLine, type ServeFlags } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { parseHostPort, parseWebSocketAddress } from '../../src/cli/hostport.ts';
import { defaultConfig, parseConfig } from '../../src/config/config.ts';

test('HOST:PORT: IPv4, names, bracketed IPv6, port 0', (t) => {
  t.deepEqual(parseHostPort('--ws', '127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  t.deepEqual(parseHostPort('--ws', 'localhost:0'), { host: 'localhost', port: 0 });
  t.deepEqual(parseHostPort('--ws', '[::1]:8080'), { host: '::1', port: 8080 });
  t.deepEqual(parseHostPort('--ws', '[::]:65535'), { host: '::', port: 65535 });
  t.deepEqual(parseHostPort('--ws', '0.0.0.0:1'), { host: '0.0.0.0', port: 1 });
});

const badHostPorts: Array<[string, RegExp]> = [
  ['abc', /^--ws: expected HOST:PORT, got 'abc'$/],
  [':8080', /expected HOST:PORT/],
  ['', /expected HOST:PORT/],
  ['::1:8080', /IPv6 address goes in brackets/],
  ['[::1]', /expected \[IPV6\]:PORT, got '\[::1\]'/],
  ['127.0.0.1:', /port must be an integer 0\.\.65535, got ''/],
  ['127.0.0.1:65536', /port must be an integer 0\.\.65535, got '65536'/],
  ['127.0.0.1:-1', /port must be/],
  ['127.0.0.1:80x', /port must be/],
  ['bad host:80', /'bad host' is not an IP address or host name/],
  ['[]:80', /is not an IP address/],
];
for (const [value, message] of badHostPorts) {
  test(`HOST:PORT rejects '${value}'`, (t) => {
    t.throws(() => parseHostPort('--ws', value), { instanceOf: UsageError, message });
  });
}

test('--ws takes an optional path', (t) => {
  t.deepEqual(parseWebSocketAddress('--ws', '127.0.0.1:0'), { host: '127.0.0.1', port: 0, path: '/ws' });
  t.deepEqual(parseWebSocketAddress('--ws', '[::1]:80/wamp/v2'), { host: '::1', port: 80, path: '/wamp/v2' });
  t.throws(() => parseWebSocketAddress('--ws', '127.0.0.1:80/a b'), { instanceOf: UsageError });
});

test('commands: help, version, serve', (t) => {
  t.deepEqual(parseCommandLine(['--help']), { name: 'help', topic: 'main' });
  t.deepEqual(parseCommandLine(['-h']), { name: 'help', topic: 'main' });
  t.deepEqual(parseCommandLine(['help', 'serve']), { name: 'help', topic: 'serve' });
  t.deepEqual(parseCommandLine(['serve', '--help']), { name: 'help', topic: 'serve' });
  t.deepEqual(parseCommandLine(['--version']), { name: 'version' });
  t.deepEqual(parseCommandLine(['-V']), { name: 'version' });
  t.deepEqual(parseCommandLine(['serve']), { name: 'serve', flags: {} });
});

test('command-line mistakes are UsageErrors that name the problem', (t) => {
  t.throws(() => parseCommandLine([]), { instanceOf: UsageError, message: /command is required/ });
  t.throws(() => parseCommandLine(['frob']), { instanceOf: UsageError, message: "unknown command 'frob'" });
  t.throws(() => parseCommandLine(['--frob']), { instanceOf: UsageError, message: "unknown option '--frob'" });
  t.throws(() => parseCommandLine(['serve', '--port', '1']), {
    instanceOf: UsageError,
    message: "unknown option '--port'",
  });
  t.throws(() => parseCommandLine(['serve', 'now']), { instanceOf: UsageError, message: /unexpected argument 'now'/ });
  t.throws(() => parseCommandLine(['serve', '--ws']), { instanceOf: UsageError, message: /--ws/ });
  t.throws(() => parseCommandLine(['serve', '--log-level', 'loud']), {
    instanceOf: UsageError,
    message: /--log-level: expected one of/,
  });
  t.throws(() => parseCommandLine(['serve', '--realm', 'a#b']), {
    instanceOf: UsageError,
    message: /--realm: 'a#b' is not a valid WAMP URI/,
  });
  t.throws(() => parseCommandLine(['serve', '--rawsocket', 'x']), {
    instanceOf: UsageError,
    message: /^--rawsocket: expected HOST:PORT/,
  });
});

function serveFlags(argv: string[]): ServeFlags {
  const cmd = parseCommandLine(['serve', ...argv]);
  if (cmd.name !== 'serve') throw new Error('not serve');
  return cmd.flags;
}

test('listener flags replace only the list of their own kind', (t) => {
  const c = applyServeFlags(defaultConfig(), serveFlags(['--ws', '127.0.0.1:0', '--ws', '[::1]:0/x']));
  t.deepEqual(c.listeners.websocket, [
    { host: '127.0.0.1', port: 0, path: '/ws' },
    { host: '::1', port: 0, path: '/x' },
  ]);
  t.deepEqual(c.listeners.rawsocket, defaultConfig().listeners.rawsocket);
  const u = applyServeFlags(defaultConfig(), serveFlags(['--unix', 'w.sock', '--rawsocket', '127.0.0.1:0']));
  t.deepEqual(u.listeners.unix, [{ path: path.resolve('w.sock'), mode: '0660' }]);
  t.deepEqual(u.listeners.rawsocket, [{ host: '127.0.0.1', port: 0 }]);
  t.deepEqual(u.listeners.websocket, defaultConfig().listeners.websocket);
  const h = applyServeFlags(defaultConfig(), serveFlags(['--http', '127.0.0.1:0', '--http', '[::1]:9464']));
  t.deepEqual(h.listeners.http, [
    { host: '127.0.0.1', port: 0, serve: ['metrics', 'health'] },
    { host: '::1', port: 9464, serve: ['metrics', 'health'] },
  ]);
  t.deepEqual(h.listeners.websocket, defaultConfig().listeners.websocket);
  t.throws(() => serveFlags(['--http', 'nope']), { message: /--http/ });
});

test('--data, --log-level and --realm override the file', (t) => {
  const file = parseConfig({ realms: [{ uri: 'locked', anonymous: false }], logLevel: 'error' }, 'f');
  const c = applyServeFlags(
    file,
    serveFlags(['--data', 'd', '--log-level', 'debug', '--realm', 'locked', '--realm', 'open']),
  );
  t.is(c.dataDir, path.resolve('d'));
  t.is(c.logLevel, 'debug');
  t.deepEqual(
    c.realms.map((r) => [r.uri, r.anonymous, r.uriCheck]),
    [
      ['locked', false, 'loose'],
      ['open', true, 'loose'],
    ],
  );
  const same = applyServeFlags(file, {});
  t.deepEqual(same.realms, file.realms);
  t.is(same.logLevel, 'error');
});
