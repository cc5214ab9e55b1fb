import test from 'ava';
import { lstat, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Peer, PeerAcceptor, PeerHandler } from '../../src/router/peer.ts';
import { json } from '../../src/serializers/index.ts';
import {
  SocketPathInUseError,
  listenRawSocket,
  type RawSocketListener,
  type RawSocketOptions,
  type RawSocketTarget,
} from '../../src/transport/rawsocket-server.ts';
import { isLoopback, unmapIPv4 } from '../../src/net/address.ts';

// ---- helpers ---------------------------------------------------------------------------

async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Attached {
  readonly peer: Peer;
  readonly received: Uint8Array[];
  closedCalls: number;
}

/** Echoes every frame back, unless a test gives it another reaction. Records everything. */
class EchoAcceptor implements PeerAcceptor {
  readonly attached: Attached[] = [];
  onFrame: (peer: Peer, frame: Uint8Array) => void = (peer, frame) => peer.send(frame);

  attach(peer: Peer): PeerHandler {
    const record: Attached = { peer, received: [], closedCalls: 0 };
    this.attached.push(record);
    return {
      receive: (frame) => {
        record.received.push(frame);
        this.onFrame(peer, frame);
      },
      closed: () => {
        record.closedCalls++;
      },
    };
  }

  last(): Attached {
    const a = this.attached.at(-1);
    if (!a) throw new Error('nothing attached');
    return a;
  }
}

/** A raw byte-level client: the test speaks the protocol itself, not through our framing code. */
class Client {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #length = 0;
  closed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#chunks.push(d);
      this.#length += d.length;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(to: { port: number } | { path: string }): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in to ? net.connect({ path: to.path }) : net.connect({ host: '127.0.0.1', port: to.port });
      socket.once('connect', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Uint8Array | number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.#length;
  }

  async read(n: number): Promise<Buffer> {
    await waitFor(() => this.#length >= n || this.closed, `${n} bytes`);
    if (this.#length < n) throw new Error(`connection closed after ${this.#length} of ${n} bytes`);
    const all = Buffer.concat(this.#chunks); // concat once per read, not per chunk
    this.#chunks = n < all.length ? [all.subarray(n)] : [];
    this.#length -= n;
    return all.subarray(0, n);
  }

  async handshake(serializer: number, lengthExp = 15): Promise<Buffer> {
    this.write([0x7f, (lengthExp << 4) | serializer, 0, 0]);
    return this.read(4);
  }

  sendFrame(type: number, payload: Uint8Array | string): void {
    this.socket.write(frame(type, payload));
  }

  async readFrame(): Promise<{ type: number; payload: string }> {
    const header = await this.read(4);
    const length = header.readUIntBE(1, 3);
    return { type: header[0] ?? -1, payload: (await this.read(length)).toString() };
  }

  waitClosed(what = 'connection close', timeoutMs = 3000): Promise<void> {
    return waitFor(() => this.closed, what, timeoutMs);
  }
}

function frame(type: number, payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  header[0] = type;
  return Buffer.concat([header, body]);
}

async function server(
  t: { teardown(fn: () => Promise<void>): void },
  options: RawSocketOptions = {},
  target: RawSocketTarget = { host: '127.0.0.1', port: 0 },
): Promise<{ acceptor: EchoAcceptor; listener: RawSocketListener; port: number }> {
  const acceptor = new EchoAcceptor();
  const listener = await listenRawSocket(target, acceptor, options);
  t.teardown(() => listener.close());
  return { acceptor, listener, port: listener.port ?? -1 };
}

// ---- handshake -------------------------------------------------------------------------

test('handshake accepted for JSON, MsgPack and CBOR with our length in the reply', async (t) => {
  const { acceptor, listener, port } = await server(t, { maxMessageSize: 100_000 }); // -> 64 KiB, LENGTH 7
  t.regex(listener.address, /^127\.0\.0\.1:\d+$/);
  t.true(port > 0);
  for (const [id, name] of [
    [1, 'json'],
    [2, 'msgpack'],
    [3, 'cbor'],
  ] as const) {
    const c = await Client.connect({ port });
    t.deepEqual([...(await c.handshake(id))], [0x7f, (7 << 4) | id, 0, 0]);
    await waitFor(() => acceptor.attached.length === id, 'attach');
    const { peer } = acceptor.last();
    t.is(peer.serializer.name, name);
    t.is(peer.info.type, 'rawsocket');
    t.true(peer.info.local);
    t.is(peer.info.peer, `127.0.0.1:${c.socket.localPort}`);
    c.socket.destroy();
  }
});

test('unsupported serializer (0, 4, or one switched off) gets error 1, then close', async (t) => {
  const { acceptor, port } = await server(t, { serializers: [json] });
  for (const id of [0, 4, 15, 2]) {
    const c = await Client.connect({ port });
    t.deepEqual([...(await c.handshake(id))], [0x7f, 0x10, 0, 0], `serializer ${id}`);
    await c.waitClosed();
  }
  t.is(acceptor.attached.length, 0);
});

test('nonzero reserved handshake octets get error 3', async (t) => {
  const { port } = await server(t);
  for (const tail of [
    [1, 0],
    [0, 1],
  ]) {
    const c = await Client.connect({ port });
    c.write([0x7f, 0xf1, ...tail]);
    t.deepEqual([...(await c.read(4))], [0x7f, 0x30, 0, 0]);
    await c.waitClosed();
  }
});

test('wrong magic octet: closed without a reply', async (t) => {
  const { acceptor, port } = await server(t);
  const c = await Client.connect({ port });
  c.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await c.waitClosed();
  t.is(c.buffered, 0);
  t.is(acceptor.attached.length, 0);
});

test('connection limit: handshake error 4 once maxConnections sessions are open', async (t) => {
  const { port } = await server(t, { maxConnections: 1 });
  const first = await Client.connect({ port });
  t.is((await first.handshake(1))[1], 0xf1);
  const second = await Client.connect({ port });
  t.deepEqual([...(await second.handshake(1))], [0x7f, 0x40, 0, 0]);
  await second.waitClosed();
  first.socket.destroy();
  await first.waitClosed();
  // The slot is free again once the first one's close has been processed.
  let accepted = false;
  for (const deadline = Date.now() + 2000; !accepted && Date.now() < deadline; ) {
    const third = await Client.connect({ port });
    accepted = (await third.handshake(1))[1] === 0xf1;
    third.socket.destroy();
  }
  t.true(accepted);
});

test('handshake timeout closes silent and half-sent handshakes', async (t) => {
  const { acceptor, port } = await server(t, { handshakeTimeoutMs: 150 });
  const silent = await Client.connect({ port });
  const partial = await Client.connect({ port });
  partial.write([0x7f, 0xf1]);
  const started = Date.now();
  await Promise.all([silent.waitClosed('silent close'), partial.waitClosed('partial close')]);
  t.true(Date.now() - started >= 100);
  t.is(acceptor.attached.length, 0);
});

test.serial('300 stalled handshakes do not hold up a normal client, and all time out', async (t) => {
  const { acceptor, port } = await server(t, { handshakeTimeoutMs: 1500 });
  const stalled = await Promise.all(Array.from({ length: 300 }, () => Client.connect({ port })));
  for (const c of stalled.slice(0, 150)) c.write([0x7f]); // half of them start, none finish
  const started = Date.now();
  const good = await Client.connect({ port });
  t.is((await good.handshake(1))[1], 0xf1);
  good.sendFrame(0, '[1,"realm1",{}]');
  t.deepEqual(await good.readFrame(), { type: 0, payload: '[1,"realm1",{}]' });
  t.true(Date.now() - started < 1000, 'normal client served well before the stalled ones time out');
  t.false(stalled.some((c) => c.closed));
  await waitFor(() => stalled.every((c) => c.closed), 'stalled handshakes to time out', 5000);
  t.false(good.closed);
  t.is(acceptor.attached.length, 1);
});

// ---- frames ----------------------------------------------------------------------------

test('frames split across many TCP chunks and many frames in one chunk', async (t) => {
  const { acceptor, port } = await server(t);
  const c = await Client.connect({ port });
  await c.handshake(1);

  // One byte per write, each flushed before the next.
  const split = frame(0, '[48,1,{},"com.example.add",[1,2]]');
  for (const b of split) {
    await new Promise<void>((r) => c.socket.write(Uint8Array.of(b), () => r()));
    await new Promise((r) => setImmediate(r));
  }
  t.deepEqual(await c.readFrame(), { type: 0, payload: '[48,1,{},"com.example.add",[1,2]]' });

  // 200 frames in a single write.
  const messages = Array.from({ length: 200 }, (_, i) => `[16,${i},{},"t"]`);
  c.socket.write(Buffer.concat(messages.map((m) => frame(0, m))));
  for (const m of messages) t.deepEqual(await c.readFrame(), { type: 0, payload: m });
  t.is(acceptor.last().received.length, 201);
});

test('handshake and first frames in the same chunk', async (t) => {
  const { port } = await server(t);
  const c = await Client.connect({ port });
  c.socket.write(Buffer.concat([Buffer.from([0x7f, 0xf1, 0, 0]), frame(0, '[1]'), frame(1, 'hi')]));
  t.deepEqual([...(await c.read(4))], [0x7f, 0xf1, 0, 0]);
  t.deepEqual(await c.readFrame(), { type: 0, payload: '[1]' });
  t.deepEqual(await c.readFrame(), { type: 2, payload: 'hi' });
});

test('PING is answered by a PONG with the same payload, not passed to the core', async (t) => {
  const { acceptor, port } = await server(t);
  const c = await Client.connect({ port });
  await c.handshake(2);
  c.sendFrame(1, 'are you there? \u00e9');
  t.deepEqual(await c.readFrame(), { type: 2, payload: 'are you there? \u00e9' });
  c.sendFrame(1, '');
  t.deepEqual(await c.readFrame(), { type: 2, payload: '' });
  c.sendFrame(2, 'unsolicited pong is ignored');
  c.sendFrame(0, 'after');
  t.deepEqual(await c.readFrame(), { type: 0, payload: 'after' });
  t.is(acceptor.last().received.length, 1);
});

test('a frame larger than our announced maximum closes the connection', async (t) => {
  const { acceptor, port } = await server(t, { maxMessageSize: 1024 });
  const c = await Client.connect({ port });
  t.is((await c.handshake(1))[1], (1 << 4) | 1);
  c.sendFrame(0, 'x'.repeat(1024)); // exactly the limit: fine
  t.is((await c.readFrame()).payload.length, 1024);
  c.sendFrame(0, 'x'.repeat(1025));
  await c.waitClosed();
  await waitFor(() => acceptor.last().closedCalls === 1, 'closed()');
  t.is(acceptor.last().received.length, 1);
});

test('reserved frame type or header bits close the connection', async (t) => {
  const { port } = await server(t);
  for (const first of [0x03, 0x07, 0x08, 0x80]) {
    const c = await Client.connect({ port });
    await c.handshake(1);
    c.socket.write(Buffer.from([first, 0, 0, 1, 0x20]));
    await c.waitClosed(`close after header 0x${first.toString(16)}`);
    t.is(c.buffered, 0);
  }
});

test('a frame bigger than the client announced is never sent; the connection closes', async (t) => {
  const { acceptor, port } = await server(t);
  const c = await Client.connect({ port });
  await c.handshake(1, 0); // the client accepts at most 512 octets
  acceptor.onFrame = (peer, f) => {
    peer.send(f); // small echo first: goes out
    peer.send(new Uint8Array(513).fill(0x61));
    peer.send(f); // after the violation: dropped, the peer is closing
  };
  c.sendFrame(0, '[1]');
  t.deepEqual(await c.readFrame(), { type: 0, payload: '[1]' });
  await c.waitClosed();
  t.is(c.buffered, 0);
  await waitFor(() => acceptor.last().closedCalls === 1, 'closed()');
});

// ---- lifecycle -------------------------------------------------------------------------

test('closed() exactly once on client hang-up; send afterwards does not throw', async (t) => {
  const { acceptor, port } = await server(t);
  const c = await Client.connect({ port });
  await c.handshake(1);
  await waitFor(() => acceptor.attached.length === 1, 'attach');
  c.socket.destroy();
  const a = acceptor.last();
  await waitFor(() => a.closedCalls > 0, 'closed()');
  t.notThrows(() => a.peer.send(Buffer.from('[1]')));
  t.notThrows(() => a.peer.close());
  t.is(typeof a.peer.bufferedAmount(), 'number');
  await new Promise((r) => setTimeout(r, 20));
  t.is(a.closedCalls, 1);
});

test('peer.close() flushes queued frames, then closes; closed() once', async (t) => {
  const { acceptor, port } = await server(t);
  acceptor.onFrame = (peer, f) => {
    peer.send(f);
    peer.close();
    peer.close();
    peer.send(f);
  };
  const c = await Client.connect({ port });
  await c.handshake(1);
  c.sendFrame(0, '[6,{},"wamp.close.normal"]');
  t.deepEqual(await c.readFrame(), { type: 0, payload: '[6,{},"wamp.close.normal"]' });
  await c.waitClosed();
  t.is(c.buffered, 0);
  await waitFor(() => acceptor.last().closedCalls === 1, 'closed()');
});

test('bufferedAmount counts queued bytes and drains', async (t) => {
  const { acceptor, port } = await server(t);
  let small = -1;
  let burst = -1;
  acceptor.onFrame = (peer) => {
    for (let i = 0; i < 10; i++) peer.send(new Uint8Array(100));
    small = peer.bufferedAmount();
    // Sent as it is queued (it is over one write's worth); what the kernel does not take is counted.
    for (let i = 0; i < 64; i++) peer.send(new Uint8Array(256 * 1024));
    burst = peer.bufferedAmount();
  };
  const c = await Client.connect({ port });
  await c.handshake(2);
  c.sendFrame(0, 'go');
  await waitFor(() => burst >= 0, 'burst');
  t.is(small, 10 * (4 + 100), 'frames held for the round are counted');
  t.true(burst > 0, 'more than the kernel takes at once');
  await c.read(10 * 104 + 64 * (4 + 256 * 1024));
  t.is(acceptor.last().peer.bufferedAmount(), 0);
});

test('listener close() destroys open and handshaking connections', async (t) => {
  const acceptor = new EchoAcceptor();
  const listener = await listenRawSocket({ host: '127.0.0.1', port: 0 }, acceptor);
  const port = listener.port ?? -1;
  const open = await Client.connect({ port });
  await open.handshake(1);
  const pending = await Client.connect({ port });
  await waitFor(() => acceptor.attached.length === 1, 'attach');
  await listener.close();
  t.is(acceptor.last().closedCalls, 1, 'close() resolves after the core heard about every close');
  await Promise.all([open.waitClosed(), pending.waitClosed()]);
  await t.throwsAsync(Client.connect({ port }));
});

// ---- Unix sockets ----------------------------------------------------------------------

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
