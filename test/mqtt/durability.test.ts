// Durability of persistent sessions against the real router process and its SQLite file:
//  - a QoS 1 message in flight to a connected persistent client is on disk once the publisher
//    has its PUBACK: after kill -9 and a restart the client gets it on return;
//  - a persistent session comes back at start before its client: what is published after a
//    restart while the client is away waits for it (also over a second kill -9).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { RawMqtt, until } from './helpers.ts';

function routerIn(dir: string): Promise<RouterProcess> {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      realms: [{ uri: 'open', anonymous: true }],
      listeners: { mqtt: [{ host: '127.0.0.1', port: 0, realm: 'open' }] },
    }),
  );
  return startRouter({
    args: ['--config', file, '--rawsocket', '127.0.0.1:0'],
    dataDir: path.join(dir, 'data'),
    noWebSocket: true,
  });
}

const mqttPort = (r: RouterProcess): number => r.listeners.find((l) => l.transport === 'mqtt')!.port;

function killHard(r: RouterProcess): Promise<number> {
  process.kill(r.pid, 'SIGKILL');
  return r.stop();
}

/** Publishes `n` QoS 1 messages "0".."n-1" and waits for every PUBACK. */
async function publishAcked(port: number, topic: string, n: number): Promise<void> {
  const pub = await RawMqtt.connect(port, 4);
  try {
    await pub.open({ clientId: `pub-${topic.replace(/\W/g, '')}` });
    // In rounds of 20: the router's Receive Maximum is 32.
    for (let i = 0; i < n; i++) {
      pub.send({
        cmd: 'publish',
        topic,
        payload: Buffer.from(String(i)),
        qos: 1,
        messageId: i + 1,
        retain: false,
        dup: false,
      });
      if ((i + 1) % 20 === 0 || i === n - 1) {
        const want = i + 1;
        await until(() => pub.packets.filter((p) => p.cmd === 'puback').length === want, 10_000, `${want} PUBACKs`);
      }
    }
  } finally {
    pub.destroy();
  }
}

/** A persistent (clean session false) MQTT 3.1.1 client that acknowledges nothing unless told. */
async function persistentClient(port: number, clientId: string): Promise<{ c: RawMqtt; sessionPresent: boolean }> {
  const c = await RawMqtt.connect(port, 4);
  const connack = await c.open({ clientId, clean: false });
  return { c, sessionPresent: connack.sessionPresent === true };
}

const payloads = (c: RawMqtt): string[] =>
  c.packets.filter((p) => p.cmd === 'publish').map((p) => p.payload!.toString());
const range = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

test('kill -9 with QoS 1 messages in flight to a connected persistent client: it gets them after the restart', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-dur-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let router = await routerIn(dir);
  t.teardown(() => router.stop());
  const first = await persistentClient(mqttPort(router), 'dev-crash');
  first.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dur/crash', qos: 1 }] });
  await first.c.next('suback');
  await publishAcked(mqttPort(router), 'dur/crash', 20);
  // All 20 reached the client and none is acknowledged: every one is in flight.
  await until(() => payloads(first.c).length === 20, 5000, '20 PUBLISH');
  t.deepEqual(payloads(first.c), range(20));
  await killHard(router);
  first.c.destroy();

  router = await routerIn(dir);
  const back = await persistentClient(mqttPort(router), 'dev-crash');
  t.true(back.sessionPresent);
  await until(() => payloads(back.c).length >= 20, 5000, '20 PUBLISH again');
  t.deepEqual(payloads(back.c), range(20));
  // Acknowledged now: a third visit finds nothing waiting.
  for (const p of back.c.packets.filter((x) => x.cmd === 'publish'))
    back.c.send({ cmd: 'puback', messageId: p.messageId! });
  back.c.send({ cmd: 'disconnect' });
  await until(() => back.c.closed, 5000, 'disconnect');
  const third = await persistentClient(mqttPort(router), 'dev-crash');
  third.c.send({ cmd: 'pingreq' });
  await third.c.next('pingresp'); // anything queued would have come before the PINGRESP
  t.deepEqual(payloads(third.c), []);
  third.c.destroy();
});

test('restart while a persistent client is away: what is published after it waits for the client, also over kill -9', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-dur-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let router = await routerIn(dir);
  t.teardown(() => router.stop());
  const first = await persistentClient(mqttPort(router), 'dev-away');
  first.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dur/away', qos: 1 }] });
  await first.c.next('suback');
  first.c.send({ cmd: 'disconnect' });
  await until(() => first.c.closed, 5000, 'disconnect');
  t.is(await router.stop(), 0);

  router = await routerIn(dir);
  await publishAcked(mqttPort(router), 'dur/away', 100);
  // Acknowledged to the publisher means on disk: a crash now loses none of them.
  await killHard(router);

  router = await routerIn(dir);
  const back = await persistentClient(mqttPort(router), 'dev-away');
  t.true(back.sessionPresent);
  const got = (): string[] => payloads(back.c);
  // The window is 32: acknowledge as they come, so all 100 flow.
  const acked = new Set<number>();
  await until(
    () => {
      for (const p of back.c.packets)
        if (p.cmd === 'publish' && !acked.has(p.messageId!)) {
          acked.add(p.messageId!);
          back.c.send({ cmd: 'puback', messageId: p.messageId! });
        }
      return got().length >= 100;
    },
    10_000,
    '100 messages',
  );
  t.deepEqual(got(), range(100));
  back.c.destroy();
});
