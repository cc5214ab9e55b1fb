// A listener's address belongs to one listener of one router: a second router on a WebSocket
// port in use, and a config naming one address twice, are refused at start (exit 1).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { freePort } from '../helpers/free-port.ts';
import { runCli, startServe } from './run-cli.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-conflicts-'));
}

test('a second router on a WebSocket port in use exits 1 saying so', async (t) => {
  // uSockets' default (SO_REUSEPORT) let both "listen", the kernel splitting clients between them.
  // A port asked for by number, as a config does: where uSockets' SO_REUSEPORT let two routers share it.
  const port = await freePort();
  const flags = ['--ws', `127.0.0.1:${port}`, '--rawsocket', '127.0.0.1:0'];
  const first = await startServe([...flags, '--data', path.join(tempDir(), 'a')]);
  try {
    const r = await runCli(['serve', ...flags, '--data', path.join(tempDir(), 'b')]);
    t.is(r.code, 1);
    t.regex(r.stderr, new RegExp(`^wampmesh: cannot listen on websocket 127\\.0\\.0\\.1:${port}: port in use`, 'm'));
    t.is(r.stdout, '', 'no listening line');
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
  }
});

test('two listeners of one config on the same address are refused naming the field and the other one', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      dataDir: 'data',
      listeners: {
        websocket: [{ port: 24999 }, { port: 24999 }],
        rawsocket: [{ port: 24998 }],
        mqtt: [{ port: 24998 }],
        unix: [{ path: 'a.sock' }, { path: 'a.sock' }],
        // On a WebSocket listener's address HTTP is served by that listener: no clash.
        http: [{ port: 24999 }],
      },
    }),
  );
  const r = await runCli(['serve', '--config', file]);
  t.is(r.code, 1);
  t.is(
    r.stderr,
    [
      `wampmesh: ${file}: listeners.websocket[1].port: the same host and port as listeners.websocket[0]: each listener needs an address of its own`,
      `${file}: listeners.mqtt[0].port: the same host and port as listeners.rawsocket[0]: each listener needs an address of its own`,
      `${file}: listeners.unix[1].path: the same path as listeners.unix[0]: each listener needs a socket of its own`,
      '',
    ].join('\n'),
  );
  t.false(fs.existsSync(path.join(dir, 'data')), 'refused before anything was opened');
});
