// A CONNECT refused after the client authenticated (its will refused: a topic WAMP cannot carry,
// no grant for the testament; one persistent session too many) changes nothing of the session
// kept for the same identity, connected or away (MQTT 3.1.4: take-over and clean start belong to
// an accepted CONNECT), and leaves no session of its own behind.

import fs from 'node:fs';
import test from 'ava';
import type { Packet } from 'mqtt-packet';
import { openDatabase } from '../../src/store/database.ts';
import { keepSession as keep, PASSWORD, RawMqtt, startWorld, until } from './helpers.ts';

/** A will the router refuses: an empty topic level has no WAMP URI. */
const BAD_WILL = { topic: 'a//b', payload: Buffer.from('bye'), qos: 0 as const, retain: false };

function codeOf(connack: { reasonCode?: number; returnCode?: number }): number | undefined {
  return connack.reasonCode ?? connack.returnCode;
}

async function publishQos1(port: number, topic: string, payloads: string[], v: 4 | 5, login = {}): Promise<void> {
  const pub = await RawMqtt.connect(port, v);
  accepted(await pub.open(login));
  payloads.forEach((payload, i) =>
    pub.send({
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos: 1,
      messageId: i + 1,
      retain: false,
      dup: false,
    }),
  );
  for (const _ of payloads) await pub.next('puback');
  pub.destroy();
}

function accepted(connack: { reasonCode?: number; returnCode?: number }): void {
  if (codeOf(connack) !== 0) throw new Error(`CONNECT refused: ${codeOf(connack)}`);
}

/** PUBLISHes as they come, each acknowledged. */
async function receive(c: RawMqtt, n: number): Promise<string[]> {
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = await c.next('publish');
    got.push(p.payload!.toString());
    c.send({ cmd: 'puback', messageId: p.messageId! });
  }
  return got;
}

for (const v of [4, 5] as const) {
  test.serial(
    `MQTT ${v === 5 ? '5' : '3.1.1'}: CONNECTs whose will is refused (clean and not) leave the kept session and what it queues for the next accepted one`,
    async (t) => {
      const w = await startWorld();
      try {
        const device = await RawMqtt.connect(w.openPort, v);
        accepted(await device.open(keep(`dev-${v}`, v)));
        device.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `kept/${v}`, qos: 1 }] });
        await device.next('suback');
        device.send({ cmd: 'disconnect' });
        await until(() => device.closed, 3000, 'device closed');
        for (const clean of [false, true]) {
          const refused = await RawMqtt.connect(w.openPort, v);
          const connack = await refused.open({ ...keep(`dev-${v}`, v), clean, will: BAD_WILL });
          t.not(codeOf(connack), 0, `clean ${clean}: refused`);
          t.false(connack.sessionPresent);
          await until(() => refused.closed, 3000, 'refused connection closed');
        }
        const sent = ['m1', 'm2', 'm3', 'm4', 'm5'];
        await publishQos1(w.openPort, `kept/${v}`, sent, v); // all acknowledged: the router owes them
        const back = await RawMqtt.connect(w.openPort, v);
        const connack = await back.open(keep(`dev-${v}`, v));
        t.is(codeOf(connack), 0);
        t.true(connack.sessionPresent);
        t.deepEqual(await receive(back, 5), sent);
        back.destroy();
      } finally {
        await w.stop();
      }
    },
  );
}

test.serial(
  'a CONNECT refused for its will (no grant, v5 0x87) does not take over the connected session of the same identity',
  async (t) => {
    const w = await startWorld();
    try {
      const alice = { username: 'alice', password: Buffer.from(PASSWORD) };
      const bob = { username: 'bob', password: Buffer.from(PASSWORD) };
      const device = await RawMqtt.connect(w.appPort, 5);
      accepted(await device.open({ ...keep('alice-dev', 5), ...alice }));
      device.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'sensors/a', qos: 1 }] });
      await device.next('suback');
      // alice has no call grant on wamp.session.add_testament: any will of hers is refused.
      const will = { topic: 'sensors/status', payload: Buffer.from('"gone"'), qos: 0 as const, retain: false };
      const refused = await RawMqtt.connect(w.appPort, 5);
      const connack = await refused.open({ ...keep('alice-dev', 5), ...alice, will });
      t.is(connack.reasonCode, 0x87);
      await until(() => refused.closed, 3000, 'refused connection closed');
      // Still connected, still subscribed: no 0x8E, and a live message arrives.
      device.send({ cmd: 'pingreq' });
      await device.next('pingresp');
      await publishQos1(w.appPort, 'sensors/a', ['"live"'], 5, bob);
      t.deepEqual(await receive(device, 1), ['"live"']);
      t.false(device.packets.some((p) => p.cmd === 'disconnect'));
      t.false(device.closed);
      device.destroy();
    } finally {
      await w.stop();
    }
  },
);

test.serial(
  'refused CONNECTs with clean session false keep no session: they use up no maxPersistentSessions and leave no row',
  async (t) => {
    const w = await startWorld({ maxPersistentSessions: 2 });
    const dir = w.dir;
    let running = true;
    try {
      for (let i = 0; i < 3; i++) {
        const refused = await RawMqtt.connect(w.openPort, 4);
        const connack = await refused.open({ ...keep(`refused-${i}`, 4), will: BAD_WILL });
        t.not(connack.returnCode, 0);
        await until(() => refused.closed, 3000, 'refused connection closed');
      }
      // Both slots are free for the clients that are accepted.
      for (const id of ['k1', 'k2']) {
        const c = await RawMqtt.connect(w.openPort, 5);
        t.is((await c.open(keep(id, 5))).reasonCode, 0, id);
        c.send({ cmd: 'disconnect' } as Packet);
        await until(() => c.closed, 3000, `${id} closed`);
      }
      await w.stop(true);
      running = false;
      const db = openDatabase(dir);
      try {
        const rows = db.prepare('SELECT key, expires_at FROM mqtt_session').all() as {
          key: string;
          expires_at: number | null;
        }[];
        t.deepEqual(rows.map((r) => r.key.split('\u0000').at(-1)).sort(), ['k1', 'k2']);
        t.true(
          rows.every((r) => r.expires_at !== null),
          'every kept session expires',
        );
      } finally {
        db.close();
      }
    } finally {
      if (running) await w.stop();
      else fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
