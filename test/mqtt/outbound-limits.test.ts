// What the router sends an MQTT subscriber stays within MQTT's limits and its own, over real
// sockets with an in-process router (so the test can read what a session holds): events MQTT
// cannot express are skipped without holding an in-flight slot (live, while away, and as rows
// stored before they were checked); a client that never acknowledges pins a bounded number of
// bytes, its persistent messages read back from SQLite in order once it does; and a client's
// Maximum Packet Size is never exceeded, counted at the socket.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';
import { listenMqtt, type MqttListener } from '../../src/mqtt/listener.ts';
import type { MqttOptions } from '../../src/mqtt/options.ts';
import { MqttSessionStore } from '../../src/mqtt/persistence.ts';
import { Router } from '../../src/router/router.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { connectMqtt, RawMqtt, until, type Received } from './helpers.ts';

interface Fixture {
  port: number;
  listener: MqttListener;
  db: Db;
  /** A WAMP publisher in the same realm. */
  publish(topic: string, args: unknown[], options?: Record<string, unknown>): void;
}

async function fixture(t: ExecutionContext, options: Partial<MqttOptions> = {}): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-out-'));
  const db = openDatabase(dir);
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const sessions = new MqttSessionStore(db);
  const listener = await listenMqtt({ host: '127.0.0.1', port: 0 }, router, { realm: 'realm1', sessions, ...options });
  const wamp = new MemoryClient(router);
  wamp.join();
  let id = 1;
  t.teardown(async () => {
    await listener.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    port: listener.port,
    listener,
    db,
    publish: (topic, args, opts = {}) => wamp.send([16, id++, opts, topic, args]),
  };
}

const LONG_TOPIC = `poison.${'a'.repeat(70_000)}`; // a WAMP URI; as an MQTT topic, over 65535 bytes
const FAT_TYPE = { _mqtt: { content_type: '€'.repeat(30_000) } }; // 30000 units, 90000 UTF-8 bytes

test('events MQTT cannot encode never hold an in-flight slot: later ones flow, live and after a reconnect', async (t) => {
  const f = await fixture(t, { maxInflight: 4 });
  const options = { protocolVersion: 5 as const, clientId: 'poisoned', clean: false };
  const { client, got } = await connectMqtt(f.port, { ...options, properties: { sessionExpiryInterval: 600 } });
  await client.subscribeAsync('poison/#', { qos: 1 });
  const v4 = await connectMqtt(f.port, { protocolVersion: 4 });
  await v4.client.subscribeAsync('poison/#', { qos: 1 });
  // Ten of each, over a window of four: any one of them keeping its slot would stall the rest.
  for (let i = 0; i < 10; i++) f.publish(LONG_TOPIC, ['x']);
  for (let i = 0; i < 10; i++) f.publish('poison.ct', ['ct'], FAT_TYPE);
  f.publish('poison.ok', ['after']);
  await until(() => got.includes('"after"'), 5000, 'the event after them');
  // The content type MQTT cannot carry is left off; the message itself goes.
  t.deepEqual(got, [...Array(10).fill('"ct"'), '"after"']);
  await until(() => v4.got.includes('"after"'), 5000, 'the event after them (MQTT 3.1.1)');
  t.deepEqual(v4.got, [...Array(10).fill('"ct"'), '"after"']);
  await Promise.all([client.endAsync(), v4.client.endAsync()]);

  // Away: nothing unencodable is stored for it, and what follows is there when it returns.
  for (let i = 0; i < 10; i++) f.publish(LONG_TOPIC, ['x']);
  f.publish('poison.ok', ['while away']);
  const back = await connectMqtt(f.port, { ...options, properties: { sessionExpiryInterval: 600 } });
  t.true(back.sessionPresent);
  await until(() => back.got.includes('"while away"'), 5000, 'the event queued while away');
  t.deepEqual(back.got, ['"while away"']);
  await back.client.endAsync();

  // Rows stored before they were checked (an older router) give their slot back and are deleted.
  const insert = f.db.prepare(
    'INSERT INTO mqtt_queue (key, topic, payload, qos, retain) SELECT key, ?, ?, 1, 0 FROM mqtt_session',
  );
  for (let i = 0; i < 10; i++) insert.run(LONG_TOPIC.replace('.', '/'), Buffer.from('x'));
  f.publish('poison.ok', ['behind old rows']);
  const again = await connectMqtt(f.port, { ...options, properties: { sessionExpiryInterval: 600 } });
  await until(() => again.got.includes('"behind old rows"'), 5000, 'the event behind the stored rows');
  t.deepEqual(again.got, ['"behind old rows"']);
  await until(() => f.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM mqtt_queue').get()!.n === 0);
  await again.client.endAsync();
});

const BOUND = 64 * 1024;
const PAYLOAD = 8000; // each PUBLISH about 8 KB: eight of them fill the bound

/** A subscriber that reads everything and acknowledges nothing until told to. */
async function silentSubscriber(f: Fixture, topic: string, fields: Record<string, unknown>): Promise<RawMqtt> {
  const sub = await RawMqtt.connect(f.port, 5);
  await sub.open(fields);
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] } as Packet);
  await sub.next('suback');
  return sub;
}

/** Acknowledges whatever comes from now on; returns the payload numbers received, in order. */
function acknowledging(sub: RawMqtt): { seen: number[]; stop(): void } {
  const seen: number[] = [];
  let at = 0;
  const timer = setInterval(() => {
    for (; at < sub.packets.length; at++) {
      const p: Received = sub.packets[at]!;
      if (p.cmd !== 'publish') continue;
      seen.push(Number(JSON.parse(p.payload!.toString()).slice(0, 4)));
      sub.send({ cmd: 'puback', messageId: p.messageId! } as Packet);
    }
  }, 5);
  return { seen, stop: () => clearInterval(timer) };
}

const held = (listener: MqttListener): number =>
  Math.max(0, ...[...listener.hub.connections].map((c) => c.outboundBytes));

async function flood(t: ExecutionContext, f: Fixture, topic: string, count: number): Promise<void> {
  let most = 0;
  for (let i = 0; i < count; i++) {
    f.publish(topic, [String(i).padStart(4, '0') + 'x'.repeat(PAYLOAD)]);
    if (i % 10 === 9) {
      await new Promise((r) => setTimeout(r, 5));
      most = Math.max(most, held(f.listener));
    }
  }
  await new Promise((r) => setTimeout(r, 200));
  most = Math.max(most, held(f.listener));
  // The bound, and the newest message, which stays even past it.
  t.true(most > 0 && most <= BOUND + PAYLOAD + 100, `held ${most} bytes`);
}

test('a subscriber that never acknowledges pins a bounded number of bytes; the oldest waiting are dropped', async (t) => {
  const f = await fixture(t, { maxOutboundBytes: BOUND, maxQueued: 1000 });
  const sub = await silentSubscriber(f, 'noack/a', {});
  await flood(t, f, 'noack.a', 200);
  const acks = acknowledging(sub);
  await until(() => acks.seen.includes(199), 5000, 'the newest message');
  acks.stop();
  t.true(acks.seen.length < 200, 'the oldest waiting were dropped');
  t.deepEqual(
    acks.seen,
    [...acks.seen].sort((a, b) => a - b),
    'in order',
  );
  sub.destroy();
});

test('a persistent session past the bound keeps the rest in SQLite and reads it back in order', async (t) => {
  const f = await fixture(t, { maxOutboundBytes: BOUND, maxQueued: 1000 });
  const fields = { clientId: 'slow-kept', clean: false, properties: { sessionExpiryInterval: 600 } };
  const sub = await silentSubscriber(f, 'noack/b', fields);
  await flood(t, f, 'noack.b', 200);
  const acks = acknowledging(sub);
  await until(() => acks.seen.length >= 200, 10_000, 'every message');
  await new Promise((r) => setTimeout(r, 100));
  acks.stop();
  t.deepEqual(
    acks.seen,
    Array.from({ length: 200 }, (_, i) => i),
    'each once, in order',
  );
  t.true(held(f.listener) <= BOUND);
  sub.destroy();
});

/** An MQTT connection that also records the size of every packet it receives, from the bytes. */
class CountingClient {
  readonly sizes: number[] = [];
  readonly packets: Received[] = [];
  #pending = Buffer.alloc(0);
  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    const p = parser({ protocolVersion: 5 });
    p.on('packet', (packet: Packet) => this.packets.push(packet as Received));
    socket.on('data', (d: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, d]);
      this.#split();
      p.parse(d);
    });
  }

  #split(): void {
    for (;;) {
      const b = this.#pending;
      let remaining = 0;
      let i = 1;
      for (; i < b.length && i <= 4; i++) {
        remaining += (b[i]! & 0x7f) * 128 ** (i - 1);
        if ((b[i]! & 0x80) === 0) break;
      }
      if (i >= b.length || b.length < 1 + i + remaining) return;
      this.sizes.push(1 + i + remaining);
      this.#pending = b.subarray(1 + i + remaining);
    }
  }
}

test('a client announcing Maximum Packet Size never receives a larger packet (counted in UTF-8 bytes)', async (t) => {
  const f = await fixture(t);
  const socket = net.connect(f.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const sub = new CountingClient(socket);
  const raw = (packet: Packet) => socket.write(generate(packet, { protocolVersion: 5 }));
  raw({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clean: true,
    clientId: 'small',
    keepalive: 60,
    properties: { maximumPacketSize: 1000 },
  });
  raw({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mps/a', qos: 0 }] });
  await until(() => sub.packets.some((p) => p.cmd === 'suback'));
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${f.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
  // 400 x "€": 400 characters of JSON, 1200 bytes on the wire.
  await pub.publishAsync('mps/a', 'x', { properties: { userProperties: { k: '€'.repeat(400) } } });
  // PUBLISH of 1 + 2 + (2 + 5 + 1 + 989) bytes: exactly 1000, so it goes; one byte more does not.
  await pub.publishAsync('mps/a', 'z'.repeat(989));
  await pub.publishAsync('mps/a', 'z'.repeat(990));
  await pub.publishAsync('mps/a', 'ok');
  await until(() => sub.packets.some((p) => p.cmd === 'publish' && p.payload?.toString() === 'ok'));
  const got = sub.packets.filter((p) => p.cmd === 'publish').map((p) => p.payload!.length);
  t.deepEqual(got, [989, 2]);
  t.true(
    sub.sizes.every((n) => n <= 1000),
    `packet sizes ${sub.sizes.join(', ')}`,
  );
  t.true(sub.sizes.includes(1000));
  await pub.endAsync();
  socket.destroy();
});
