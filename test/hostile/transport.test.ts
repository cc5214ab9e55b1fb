// Hostile input at the transport layer, against the real router process: broken RawSocket
// handshakes and frames, oversize messages, wrong WebSocket subprotocols and frame types.
// After every case a fresh client must still complete a call through a callee session that
// lived through it: hostile peers end their own connection, never the router's service.

import test from 'ava';
import { connect, openTcp, within } from '../helpers/raw-client.ts';
import { servedRouter } from '../helpers/served-router.ts';

// Small enough to exceed cheaply; RawSocket announces it as LENGTH nibble 11 (2^20).
const MAX_MESSAGE = 1 << 20;

const fx = servedRouter(test, { limits: { maxMessageSize: MAX_MESSAGE } }, { checkAfterEach: true });

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test.serial('wrong magic octet: closed without a reply', async (t) => {
  for (const hello of [Uint8Array.of(0x00, 0xf1, 0, 0), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]) {
    const probe = await openTcp(fx.router.rawsocketPort);
    probe.socket.write(hello);
    await within(probe.closed, 3_000, 'router closes a non-RawSocket client');
    t.is(probe.received().length, 0, `no reply to ${hex(hello.subarray(0, 4))}`);
    await fx.service.assertServing();
  }
});

test.serial('unsupported serializer ids get handshake error 1, then close', async (t) => {
  // 0 is illegal, 4 (UBJSON) and 5 (FlatBuffers) exist but are not offered, 15 is unassigned.
  for (const id of [0, 4, 5, 15]) {
    const probe = await openTcp(fx.router.rawsocketPort);
    probe.socket.write(Uint8Array.of(0x7f, 0xf0 | id, 0, 0));
    await within(probe.closed, 3_000, `router closes after refusing serializer ${id}`);
    t.is(hex(probe.received()), '7f100000', `serializer ${id}: error reply with code 1`);
    await fx.service.assertServing();
  }
});

test.serial('reserved handshake octets get error 3, then close', async (t) => {
  const probe = await openTcp(fx.router.rawsocketPort);
  probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 1));
  await within(probe.closed, 3_000, 'router closes');
  t.is(hex(probe.received()), '7f300000');
});

test.serial('the router announces the configured maximum and accepts a message of exactly that size', async (t) => {
  const probe = await openTcp(fx.router.rawsocketPort);
  probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
  await within(new Promise<void>((resolve) => probe.socket.once('data', () => resolve())), 3_000, 'handshake reply');
  t.is(hex(probe.received()), '7fb10000', 'LENGTH nibble 11 = 2^20 octets');
  probe.socket.destroy();

  const client = await connect({ transport: 'rawsocket', port: fx.router.rawsocketPort, serializer: 'json' });
  await client.join();
  // Pad a CALL so its JSON encoding is exactly MAX_MESSAGE octets.
  const base = Buffer.byteLength(JSON.stringify([48, 1, {}, fx.service.procedure, ['']]));
  const pad = 'x'.repeat(MAX_MESSAGE - base);
  const frame = Buffer.from(JSON.stringify([48, 1, {}, fx.service.procedure, [pad]]));
  t.is(frame.length, MAX_MESSAGE);
  client.sendFrame(frame);
  // The echo comes back slightly larger than the router's maximum, which bounds what it
  // accepts, not what it sends (we announced 16 MiB).
  const result = await client.next((m) => m[0] === 50 || m[0] === 8 || m[0] === 3, 10_000);
  t.is(result[0], 50, JSON.stringify(result).slice(0, 200));
  await client.destroy();
});

test.serial('a frame header over the announced maximum fails the connection', async (t) => {
  for (const joined of [false, true]) {
    const client = await connect({ transport: 'rawsocket', port: fx.router.rawsocketPort, serializer: 'cbor' });
    if (joined) await client.join();
    const n = MAX_MESSAGE + 1;
    // Only the header: the router must not wait for (or buffer) a megabyte to refuse it.
    client.sendRaw(Uint8Array.of(0, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
    await within(client.closed, 3_000, 'router fails the connection');
    t.true(client.isClosed, joined ? 'established session' : 'before HELLO');
    t.log(
      `${joined ? 'joined' : 'not joined'}: closed with ${JSON.stringify(client.closeInfo)}; messages before close: ${JSON.stringify(client.inbox)}`,
    );
    await fx.service.assertServing();
  }
});

test.serial('reserved RawSocket frame types and header bits fail the connection', async (t) => {
  for (const first of [3, 7, 0x08, 0x80]) {
    const client = await connect({ transport: 'rawsocket', port: fx.router.rawsocketPort, serializer: 'json' });
    client.sendRaw(Uint8Array.of(first, 0, 0, 1, 0x20));
    await within(client.closed, 3_000, `router fails the connection on header octet 0x${first.toString(16)}`);
    t.true(client.isClosed);
    await fx.service.assertServing();
  }
});

test.serial('a RawSocket PING is answered with a PONG carrying the same payload', async (t) => {
  const probe = await openTcp(fx.router.rawsocketPort);
  probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
  probe.socket.write(Uint8Array.of(1, 0, 0, 3, 0x61, 0x62, 0x63));
  const deadline = Date.now() + 3_000;
  while (probe.received().length < 4 + 7 && Date.now() < deadline) {
    await new Promise<void>((resolve) => probe.socket.once('data', () => resolve()));
  }
  t.is(hex(probe.received()), '7fb10000' + '02000003616263');
  probe.socket.destroy();
});

test.serial('WebSocket: a message over the maximum closes the connection', async (t) => {
  const client = await connect({ transport: 'websocket', url: fx.router.wsUrl, serializer: 'msgpack' });
  await client.join();
  client.sendRaw(new Uint8Array(MAX_MESSAGE + 1));
  const info = await within(client.closed, 3_000, 'router closes the WebSocket');
  t.log(`closed with ${JSON.stringify(info)}`);
  t.not(info.code, 1000, 'not a normal closure');
});

test.serial('WebSocket: a binary frame on the JSON subprotocol (and text on MsgPack) is refused', async (t) => {
  // The spec fixes the frame type per serializer: text for JSON, binary for the others.
  for (const [serializer, bytes, binary] of [
    ['json', Buffer.from('[1]'), true],
    ['msgpack', Buffer.from('[1]'), false],
  ] as const) {
    const client = await connect({ transport: 'websocket', url: fx.router.wsUrl, serializer, websocketImpl: 'net' });
    client.sendRaw(bytes, binary);
    const info = await within(
      client.closed,
      3_000,
      `router closes on a ${binary ? 'binary' : 'text'} frame (${serializer})`,
    );
    t.log(`${serializer}: closed with ${JSON.stringify(info)}; before close: ${JSON.stringify(client.inbox)}`);
    t.is(info.code, 1003, `${serializer}: closed as unsupported data`);
    await fx.service.assertServing();
  }
});

test.serial('WebSocket: text that is not UTF-8 on the JSON subprotocol closes the connection', async (t) => {
  const client = await connect({
    transport: 'websocket',
    url: fx.router.wsUrl,
    serializer: 'json',
    websocketImpl: 'net',
  });
  client.sendRaw(Uint8Array.of(0x5b, 0xff, 0xfe, 0x5d));
  const info = await within(client.closed, 3_000, 'router closes');
  t.log(`closed with ${JSON.stringify(info)}; before close: ${JSON.stringify(client.inbox)}`);
  // RFC 6455 8.1: invalid UTF-8 fails the WebSocket connection; a 1007 close frame is
  // optional (uWS just drops the TCP connection, seen here as 1006).
  t.true(info.code === 1006 || info.code === 1007, JSON.stringify(info));
});

test.serial('WebSocket: an unknown or missing WAMP subprotocol is refused at the upgrade', async (t) => {
  for (const protocols of [['wamp.2.ubjson'], ['chat'], []]) {
    const ws = new WebSocket(fx.router.wsUrl, protocols);
    const outcome = await within(
      new Promise<string>((resolve) => {
        ws.onopen = () => {
          resolve(`opened with '${ws.protocol}'`);
          ws.close();
        };
        ws.onerror = () => resolve('refused');
      }),
      3_000,
      'upgrade outcome',
    );
    t.is(outcome, 'refused', JSON.stringify(protocols));
    await fx.service.assertServing();
  }
});
