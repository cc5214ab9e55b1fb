// `wampmesh serve` as a real process: the listening line, a quiet stderr, clean shutdown with
// GOODBYE to live sessions, and clear failures.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli, startServe } from './run-cli.ts';

const EPHEMERAL = ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'];

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-serve-'));
}

// A minimal WAMP-over-RawSocket JSON client, written from the spec rather than with the
// router's own framing code, so the test checks the wire and not our reading of it.
class RawJsonClient {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #handshaken = false;
  #waiters: Array<(m: unknown[]) => void> = [];
  #messages: unknown[][] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  static async connect(port: number): Promise<RawJsonClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawJsonClient(socket);
    socket.write(Buffer.from([0x7f, 0xf1, 0, 0])); // magic, max length 2^24, JSON
    return client;
  }

  send(message: unknown[]): void {
    const body = Buffer.from(JSON.stringify(message));
    const header = Buffer.from([0, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]);
    this.socket.write(Buffer.concat([header, body]));
  }

  next(): Promise<unknown[]> {
    const ready = this.#messages.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#handshaken) {
      if (this.#buffer.length < 4) return;
      if (this.#buffer[0] !== 0x7f || ((this.#buffer[1] ?? 0) & 0x0f) !== 1) throw new Error('handshake refused');
      this.#handshaken = true;
      this.#buffer = this.#buffer.subarray(4);
    }
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUIntBE(1, 3);
      if (this.#buffer.length < 4 + length) return;
      const type = (this.#buffer[0] ?? 0) & 0x07;
      const body = this.#buffer.subarray(4, 4 + length);
      this.#buffer = this.#buffer.subarray(4 + length);
      if (type !== 0) continue; // PING/PONG are not used here
      const message = JSON.parse(body.toString()) as unknown[];
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#messages.push(message);
    }
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

test('serve prints the real ports, stays quiet at the default level, exits 0 on SIGTERM', async (t) => {
  const data = path.join(tempDir(), 'data');
  const sock = path.join(tempDir(), 'w.sock');
  const s = await startServe([...EPHEMERAL, '--unix', sock, '--data', data]);
  t.is(s.listening.event, 'listening');
  const [ws, rs, ux] = s.listening.listeners;
  t.like(ws, { transport: 'websocket', host: '127.0.0.1', path: '/ws' });
  t.like(rs, { transport: 'rawsocket', host: '127.0.0.1' });
  t.deepEqual(ux, { transport: 'unix', path: sock });
  t.true(typeof ws?.port === 'number' && ws.port > 0);
  t.true(typeof rs?.port === 'number' && rs.port > 0);
  t.true(fs.statSync(data).isDirectory());
  t.is(fs.statSync(sock).mode & 0o777, 0o660);

  const started = Date.now();
  s.child.kill('SIGTERM');
  const { code } = await within(s.exited, 3000, 'exit after SIGTERM');
  t.is(code, 0);
  t.true(Date.now() - started < 3000);
  t.is(s.stderr(), '', 'nothing is logged at level warn during a normal run');
});

test('SIGTERM sends GOODBYE wamp.close.system_shutdown to a live session, then exits 0', async (t) => {
  const s = await startServe([...EPHEMERAL, '--data', path.join(tempDir(), 'data'), '--realm', 'com.example.test']);
  const port = s.listening.listeners.find((l) => l.transport === 'rawsocket')?.port;
  if (typeof port !== 'number') return t.fail('no rawsocket port');
  const client = await RawJsonClient.connect(port);
  client.send([1, 'com.example.test', { roles: { subscriber: {} } }]);
  const welcome = await within(client.next(), 5000, 'WELCOME');
  t.is(welcome[0], 2);

  s.child.kill('SIGTERM');
  const goodbye = await within(client.next(), 3000, 'GOODBYE');
  t.is(goodbye[0], 6);
  t.is(goodbye[2], 'wamp.close.system_shutdown');
  client.send([6, {}, 'wamp.close.goodbye_and_out']);
  const { code } = await within(s.exited, 3000, 'exit after SIGTERM');
  t.is(code, 0);
  client.socket.destroy();
});

test('SIGINT also stops the router with exit 0', async (t) => {
  const s = await startServe([...EPHEMERAL, '--data', path.join(tempDir(), 'data')]);
  s.child.kill('SIGINT');
  t.is((await within(s.exited, 3000, 'exit after SIGINT')).code, 0);
});

test('--log-level info logs JSON lines on stderr', async (t) => {
  const s = await startServe([...EPHEMERAL, '--data', path.join(tempDir(), 'data'), '--log-level', 'info']);
  s.child.kill('SIGTERM');
  await s.exited;
  const lines = s
    .stderr()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.true(lines.length > 0);
  t.true(lines.every((l) => typeof l.level === 'string' && typeof l.msg === 'string'));
  t.true(lines.some((l) => l.msg === 'shutting down'));
});

for (const kind of ['ws', 'rawsocket'] as const) {
  test(`a port in use (--${kind}) is one clear message on stderr, exit 1`, async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const args =
        kind === 'ws'
          ? ['--ws', `127.0.0.1:${busy}`, '--rawsocket', '127.0.0.1:0']
          : ['--ws', '127.0.0.1:0', '--rawsocket', `127.0.0.1:${busy}`];
      const r = await runCli(['serve', ...args, '--data', path.join(tempDir(), 'data')]);
      t.is(r.code, 1);
      t.is(r.stdout, '');
      const transport = kind === 'ws' ? 'websocket' : 'rawsocket';
      t.regex(r.stderr, new RegExp(`^wampmesh: cannot listen on ${transport} 127\\.0\\.0\\.1:${busy}: .+$`, 'm'));
    } finally {
      blocker.close();
    }
  });
}

// bind(2) alone says EACCES for a folder that does not exist and a bare EINVAL for a path too
// long for sun_path; the error must name the real cause, on one line, without a stack trace.
test('a Unix socket in a folder that does not exist is refused naming the folder, exit 1', async (t) => {
  const dir = tempDir();
  const missing = path.join(dir, 'no-such-folder');
  const r = await runCli([
    'serve',
    ...EPHEMERAL,
    '--unix',
    path.join(missing, 'wampmesh.sock'),
    '--data',
    path.join(dir, 'data'),
  ]);
  t.is(r.code, 1);
  t.is(
    r.stderr,
    `wampmesh: cannot listen on unix socket ${path.join(missing, 'wampmesh.sock')}: the folder ${missing} does not exist\n`,
  );
  t.is(r.stdout, '');
});

test('a Unix socket path over the 107-octet sun_path limit is refused naming the limit and the length, exit 1', async (t) => {
  const dir = tempDir();
  const sock = path.join(dir, `${'s'.repeat(150 - dir.length)}.sock`);
  const r = await runCli(['serve', ...EPHEMERAL, '--unix', sock, '--data', path.join(dir, 'data')]);
  t.is(r.code, 1);
  t.is(
    r.stderr,
    `wampmesh: cannot listen on unix socket ${sock}: the path is ${Buffer.byteLength(sock)} octets long; Unix socket paths are limited to 107 (sun_path): use a shorter path\n`,
  );
  t.is(r.stdout, '');
});

test('a second router on the same data folder is refused, exit 1', async (t) => {
  const data = path.join(tempDir(), 'data');
  const first = await startServe([...EPHEMERAL, '--data', data]);
  try {
    const r = await runCli(['serve', ...EPHEMERAL, '--data', data]);
    t.is(r.code, 1);
    t.regex(r.stderr, /^wampmesh: .*wampmesh\.db: in use by another wampmesh process/m);
    t.is(r.stdout, '');
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
  }
});

test('a config file is applied and flags override it', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'wampmesh.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      dataDir: 'state',
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: { websocket: [{ host: '127.0.0.1', port: 0, path: '/wamp' }], rawsocket: [{ port: 0 }] },
    }),
  );
  const s = await startServe(['--config', file, '--rawsocket', '127.0.0.1:0']);
  t.like(s.listening.listeners[0], { transport: 'websocket', path: '/wamp' });
  t.like(s.listening.listeners[1], { transport: 'rawsocket', host: '127.0.0.1' });
  // The admin socket for the CLI is always there, in the data folder.
  t.like(s.listening.listeners[2], { transport: 'unix', path: path.join(dir, 'state', 'wampmesh.sock') });
  t.is(s.listening.listeners.length, 3);
  t.true(fs.statSync(path.join(dir, 'state')).isDirectory(), 'dataDir is relative to the config file');
  s.child.kill('SIGTERM');
  t.is((await s.exited).code, 0);
});
