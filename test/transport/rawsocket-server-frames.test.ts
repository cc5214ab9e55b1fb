// RawSocket frames through the server over real TCP: chunking both ways, PING/PONG, and the
// size limits each side announced in the handshake.

import test from 'ava';
import { Client, frame, server, waitFor } from './rawsocket-server-harness.ts';

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
