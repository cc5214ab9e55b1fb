// The limits before login (README "Limits before login") on MQTT, as on WAMP: a packet over
// limits.preAuthMaxMessageSize before CONNACK is refused at its header (over TCP and WebSocket),
// one address holds at most limits.preAuthConnectionsPerAddress connections that have not
// logged in, and all of them together at most limits.preAuthBufferBytes: a connection that
// finds no share left waits, unread, until one comes back. After CONNACK maxPacketBytes applies.

import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parser, type Packet } from 'mqtt-packet';
import { startServer, type Server } from '../../src/cli/serve.ts';
import { parseConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/log.ts';
import { maskedFrame } from '../helpers/raw-client.ts';
import { RawMqtt, until } from './helpers.ts';
import { connect4, connect5, publish4, str, varint } from './raw-bytes.ts';
import { servesWellBehavedClients } from './well-behaved.ts';

interface Router {
  server: Server;
  mqttPort: number;
  wsPort: number;
  stop(): Promise<void>;
}

async function startRouter(limits: Record<string, number> = {}): Promise<Router> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-prelogin-'));
  const config = parseConfig(
    {
      dataDir: dir,
      realms: [{ uri: 'open', anonymous: true }],
      limits,
      listeners: {
        mqtt: [{ host: '127.0.0.1', port: 0, realm: 'open' }],
        websocket: [{ host: '127.0.0.1', port: 0, path: '/ws', mqtt: { path: '/mqtt', realm: 'open' } }],
      },
    },
    'test',
  );
  const server = await startServer(config, silentLogger);
  const portOf = (transport: string) =>
    (server.listeners.find((l) => l.transport === transport) as { port: number }).port;
  return {
    server,
    mqttPort: portOf('mqtt'),
    wsPort: portOf('websocket'),
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP connection from `localAddress` whose MQTT packets (of `version`) are collected. */
async function from(localAddress: string, port: number, version: 4 | 5 = 4) {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const packets: Packet[] = [];
  const p = parser({ protocolVersion: version });
  p.on('packet', (packet: Packet) => packets.push(packet));
  socket.on('data', (d: Buffer) => p.parse(d));
  socket.on('error', () => undefined);
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  return { socket, packets, closed: () => closed };
}

/** The start of a CONNECT whose header declares most of a 1 MiB packet: the rest never comes. */
function hugeConnectStart(level: 4 | 5): Buffer {
  const size = (1 << 20) - 8;
  return Buffer.concat([Buffer.from([0x10]), varint(size), str('MQTT'), Buffer.from([level, 0x02, 0, 60])]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial(
  'a packet over the pre-login limit before CONNACK: 3.1.1 closed, 5.0 CONNACK 0x95, WebSocket closed; after CONNACK maxPacketBytes applies',
  async (t) => {
    const router = await startRouter();
    try {
      const v4 = await from('127.0.0.1', router.mqttPort, 4);
      v4.socket.write(hugeConnectStart(4));
      await until(v4.closed, 3000, '3.1.1 closed');
      t.deepEqual(v4.packets, []);
      const v5 = await from('127.0.0.1', router.mqttPort, 5);
      v5.socket.write(hugeConnectStart(5));
      await until(v5.closed, 3000, '5.0 closed');
      t.deepEqual(
        v5.packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]),
        [['connack', 0x95]],
      );

      // Over WebSocket (path /mqtt): the same limit, from the packet's header.
      const ws = net.connect({ host: '127.0.0.1', port: router.wsPort });
      const got: Buffer[] = [];
      ws.on('data', (d: Buffer) => got.push(d));
      ws.on('error', () => undefined);
      let wsClosed = false;
      ws.on('close', () => {
        wsClosed = true;
      });
      ws.write(
        'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
      );
      await until(() => Buffer.concat(got).includes('\r\n\r\n'), 3000, 'upgrade');
      t.true(Buffer.concat(got).toString('latin1').startsWith('HTTP/1.1 101'));
      ws.write(maskedFrame(0x2, Buffer.concat([hugeConnectStart(4), Buffer.alloc(100 * 1024)])));
      await until(() => wsClosed, 3000, 'WebSocket closed');

      // Logged in, a 200 KiB PUBLISH (under maxPacketBytes, 1 MiB) is fine.
      const c = await RawMqtt.connect(router.mqttPort, 4);
      await c.open();
      c.sendBytes(publish4('big', 'x'.repeat(200 * 1024), 1, 3));
      await c.next('puback');
      t.false(c.closed);
      c.destroy();
      t.true(await servesWellBehavedClients(router.mqttPort));
    } finally {
      await router.stop();
    }
  },
);

test.serial(
  'one address holds at most preAuthConnectionsPerAddress connections before CONNACK; the next waits for a share, others are not held back',
  async (t) => {
    const router = await startRouter({ handshakeTimeoutMs: 5000 });
    const stalled = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = await from('127.0.0.5', router.mqttPort);
        s.socket.write(connect4(`stall-${i}`).subarray(0, 10));
        stalled.push(s);
      }
      const fifth = await from('127.0.0.5', router.mqttPort);
      fifth.socket.write(connect4('fifth'));
      // Another address is served at once, while the fifth from 127.0.0.5 waits.
      const other = await from('127.0.0.6', router.mqttPort);
      other.socket.write(connect4('other'));
      await until(() => other.packets.length > 0, 3000, 'CONNACK from 127.0.0.6');
      t.is(other.packets[0]!.cmd, 'connack');
      await sleep(300);
      t.deepEqual(fifth.packets, [], 'the fifth waits');
      // A stalled one goes: its share goes to the fifth, which logs in.
      stalled[0]!.socket.destroy();
      await until(() => fifth.packets.length > 0, 3000, 'CONNACK for the fifth');
      t.is(fifth.packets[0]!.cmd, 'connack');
      t.true(await servesWellBehavedClients(router.mqttPort));
      other.socket.destroy();
      fifth.socket.destroy();
    } finally {
      for (const s of stalled) s.socket.destroy();
      await router.stop();
    }
  },
);

test.serial(
  'strangers of all addresses share limits.preAuthBufferBytes: past it a connection waits until a share comes back',
  async (t) => {
    // Room for two strangers (4 KiB each) at once.
    const router = await startRouter({
      preAuthMaxMessageSize: 4096,
      preAuthBufferBytes: 8192,
      handshakeTimeoutMs: 5000,
    });
    const stalled = [];
    try {
      for (const address of ['127.0.0.7', '127.0.0.8']) {
        const s = await from(address, router.mqttPort, 5);
        s.socket.write(connect5('stall').subarray(0, 10));
        stalled.push(s);
      }
      const third = await from('127.0.0.9', router.mqttPort, 5);
      third.socket.write(connect5('third'));
      await sleep(300);
      t.deepEqual(third.packets, [], 'the third waits');
      stalled[1]!.socket.destroy();
      await until(() => third.packets.length > 0, 3000, 'CONNACK for the third');
      t.is((third.packets[0] as { reasonCode?: number }).reasonCode, 0);
      // Logged in, it gives its share back: the next stranger is served at once.
      t.true(await servesWellBehavedClients(router.mqttPort));
      third.socket.destroy();
    } finally {
      for (const s of stalled) s.socket.destroy();
      await router.stop();
    }
  },
);
