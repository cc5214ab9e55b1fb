// The RawSocket opening handshake as the server answers it: serializers, reserved octets, the
// magic octet, the connection limit, and timeouts that stalled clients cannot exploit.

import test from 'ava';
import { json } from '../../src/serializers/index.ts';
import { Client, server, waitFor } from './rawsocket-server-harness.ts';

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
