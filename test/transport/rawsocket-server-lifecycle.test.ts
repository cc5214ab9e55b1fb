// A RawSocket connection's lifecycle as the core sees it: closed() exactly once, close() after the
// queued frames, bufferedAmount for backpressure, and the listener closing everything it holds.

import test from 'ava';
import { listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { Client, EchoAcceptor, server, waitFor } from './rawsocket-server-harness.ts';

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
