// Where and how the RawSocket server listens: Unix sockets (mode, stale files, live ones refused),
// its options checked before anything listens, and which peers count as local.

import test from 'ava';
import { lstat, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopback, unmapIPv4 } from '../../src/net/address.ts';
import { SocketPathInUseError, listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { Client, EchoAcceptor } from './rawsocket-server-harness.ts';

test('Unix socket: serves, chmods, replaces a stale file, refuses a live one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wampmesh-rs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'router.sock');

  // A stale socket file: bind elsewhere, move the file into place, then stop listening.
  const old = net.createServer();
  await new Promise<void>((r) => old.listen(join(dir, 'old.sock'), r));
  await rename(join(dir, 'old.sock'), path);
  await new Promise((r) => old.close(r));
  t.true((await lstat(path)).isSocket());

  const acceptor = new EchoAcceptor();
  const listener = await listenRawSocket({ path, mode: '0600' }, acceptor);
  t.is(listener.address, `unix:${path}`);
  t.is(listener.port, undefined);
  t.is((await lstat(path)).mode & 0o777, 0o600);

  const c = await Client.connect({ path });
  t.is((await c.handshake(3))[1], 0xf3);
  c.sendFrame(0, 'over unix');
  t.deepEqual(await c.readFrame(), { type: 0, payload: 'over unix' });
  t.deepEqual(acceptor.last().peer.info, { type: 'rawsocket', peer: `unix:${path}`, local: true });

  await t.throwsAsync(listenRawSocket({ path }, new EchoAcceptor()), { instanceOf: SocketPathInUseError });
  await listener.close();
  await t.throwsAsync(lstat(path), { code: 'ENOENT' });

  const file = join(dir, 'not-a-socket');
  await writeFile(file, 'keep me');
  await t.throwsAsync(listenRawSocket({ path: file }, new EchoAcceptor()), { instanceOf: SocketPathInUseError });
  t.true((await lstat(file)).isFile());
});

test('loopback detection', (t) => {
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.2']) t.true(isLoopback(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1', 'unknown']) t.false(isLoopback(a), a);
  t.is(unmapIPv4('::ffff:192.168.1.5'), '192.168.1.5');
});

test('maxMessageSize below 512 is a configuration error', async (t) => {
  await t.throwsAsync(listenRawSocket({ port: 0 }, new EchoAcceptor(), { maxMessageSize: 100 }), {
    instanceOf: RangeError,
  });
});

test('a malformed Unix socket mode is refused before anything listens', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wampmesh-rs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'r.sock');
  for (const mode of ['rw-rw----', '0999', 0o1777]) {
    await t.throwsAsync(listenRawSocket({ path, mode }, new EchoAcceptor()), { instanceOf: RangeError });
  }
  await t.throwsAsync(lstat(path), { code: 'ENOENT' });
});
