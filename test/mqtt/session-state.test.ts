// What a persistent session carries from one connection to the next besides subscriptions and
// queued messages: the QoS 2 identifiers received and not yet released (MQTT 4.1, 4.3.3), over a
// reconnect and over a router restart, so a resent PUBLISH is published once and its PUBREL
// completes; and how long it is kept, which an MQTT 5 DISCONNECT may change (3.14.2.2.2).

import test from 'ava';
import type { Packet } from 'mqtt-packet';
import type { RawClient } from '../helpers/raw-client.ts';
import { keepSession as keep, RawMqtt, startWorld, until } from './helpers.ts';

const EVENT = 36;

function qos2(messageId: number, payload: unknown, dup = false): Packet {
  const body = Buffer.from(JSON.stringify(payload));
  return { cmd: 'publish', topic: 'q2s/t', payload: body, qos: 2, messageId, retain: false, dup };
}

/** The next `n` events' first arguments, in order. */
async function events(wamp: RawClient, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(((await wamp.next((m) => m[0] === EVENT)) as unknown[])[4]);
  return out;
}

for (const v of [4, 5] as const) {
  test.serial(
    `MQTT ${v === 5 ? '5' : '3.1.1'}: a QoS 2 PUBLISH resent after a reconnect is published once; PUBREL then completes`,
    async (t) => {
      const w = await startWorld();
      try {
        const wamp = await w.wamp();
        await wamp.subscribe('q2s.t');
        const first = await RawMqtt.connect(w.openPort, v);
        await first.open(keep(`q2-${v}`, v));
        first.send(qos2(42, 'once'));
        await first.next('pubrec');
        first.destroy(); // as if the PUBREC never reached the client
        await until(() => first.closed, 3000, 'closed');
        const back = await RawMqtt.connect(w.openPort, v);
        t.true((await back.open(keep(`q2-${v}`, v))).sessionPresent);
        back.send(qos2(42, 'once', true));
        const pubrec = await back.next('pubrec');
        if (v === 5) t.is(pubrec.reasonCode, 0);
        back.send({ cmd: 'pubrel', messageId: 42 });
        const pubcomp = await back.next('pubcomp');
        if (v === 5) t.is(pubcomp.reasonCode, 0, 'PUBCOMP success, not 0x92 Packet Identifier not found');
        // The identifier is free again: the next PUBLISH under it is a new message.
        back.send(qos2(42, 'next'));
        await back.next('pubrec');
        t.deepEqual(await events(wamp, 2), [['once'], ['next']]);
        back.destroy();
      } finally {
        await w.stop();
      }
    },
  );
}

test.serial(
  'MQTT 5: a connection that resumes a kept session without keeping it (Clean Start 0, Session Expiry 0) still holds its QoS 2 identifiers',
  async (t) => {
    const w = await startWorld();
    try {
      const wamp = await w.wamp();
      await wamp.subscribe('q2s.t');
      const first = await RawMqtt.connect(w.openPort, 5);
      await first.open(keep('q2-resume', 5));
      first.send(qos2(9, 'nine'));
      await first.next('pubrec');
      first.destroy();
      await until(() => first.closed, 3000, 'closed');
      const back = await RawMqtt.connect(w.openPort, 5);
      t.true((await back.open({ clientId: 'q2-resume', clean: false })).sessionPresent);
      back.send(qos2(9, 'nine', true));
      t.is((await back.next('pubrec')).reasonCode, 0);
      back.send({ cmd: 'pubrel', messageId: 9 });
      t.is((await back.next('pubcomp')).reasonCode, 0, 'PUBCOMP success, not 0x92 Packet Identifier not found');
      back.send(qos2(10, 'ten'));
      await back.next('pubrec');
      t.deepEqual(await events(wamp, 2), [['nine'], ['ten']], 'published once');
      back.destroy();
    } finally {
      await w.stop();
    }
  },
);

test.serial(
  'the QoS 2 identifiers a session holds survive a router restart: a resent PUBLISH is not published again, a PUBREL completes',
  async (t) => {
    let w = await startWorld();
    try {
      const first = await RawMqtt.connect(w.openPort, 5);
      await first.open(keep('q2-restart', 5));
      first.send(qos2(7, 'seven'));
      first.send(qos2(8, 'eight'));
      await first.next('pubrec');
      await first.next('pubrec');
      first.destroy();
      await until(() => first.closed, 3000, 'closed');
      const dir = w.dir;
      await w.stop(true);
      w = await startWorld({}, dir);
      const wamp = await w.wamp();
      await wamp.subscribe('q2s.t');
      const back = await RawMqtt.connect(w.openPort, 5);
      t.true((await back.open(keep('q2-restart', 5))).sessionPresent);
      back.send(qos2(7, 'seven', true)); // its PUBREC was lost
      t.is((await back.next('pubrec')).reasonCode, 0);
      back.send({ cmd: 'pubrel', messageId: 7 });
      t.is((await back.next('pubcomp')).reasonCode, 0);
      back.send({ cmd: 'pubrel', messageId: 8 }); // its PUBREC arrived; PUBREL did not
      t.is((await back.next('pubcomp')).reasonCode, 0);
      back.send(qos2(7, 'after'));
      await back.next('pubrec');
      t.deepEqual(await events(wamp, 1), [['after']], 'neither held message published again');
      back.destroy();
    } finally {
      await w.stop();
    }
  },
);

test.serial('MQTT 5: DISCONNECT with Session Expiry Interval 0 ends the kept session', async (t) => {
  const w = await startWorld();
  try {
    const first = await RawMqtt.connect(w.openPort, 5);
    await first.open(keep('leaving', 5));
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'leaving/t', qos: 1 }] });
    await first.next('suback');
    first.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await until(() => first.closed, 3000, 'closed');
    const wamp = await w.wamp();
    // Its subscription went with it.
    await until(
      async () => {
        const r = await wamp.call('wamp.subscription.lookup', ['leaving.t', {}]);
        return r[0] === 50 && (r[3] as unknown[])[0] === null;
      },
      3000,
      'subscription gone',
    );
    const back = await RawMqtt.connect(w.openPort, 5);
    t.false((await back.open(keep('leaving', 5))).sessionPresent);
    back.destroy();
  } finally {
    await w.stop();
  }
});

test.serial(
  'MQTT 5: DISCONNECT may shorten the expiry; a non-zero one after none at CONNECT is a Protocol Error (0x82)',
  async (t) => {
    const w = await startWorld();
    try {
      const first = await RawMqtt.connect(w.openPort, 5);
      await first.open(keep('short', 5));
      first.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 1 } });
      await until(() => first.closed, 3000, 'closed');
      await new Promise((r) => setTimeout(r, 1200));
      const back = await RawMqtt.connect(w.openPort, 5);
      t.false((await back.open(keep('short', 5))).sessionPresent, 'expired after 1 s, not 600');
      back.destroy();
      const clean = await RawMqtt.connect(w.openPort, 5);
      await clean.open({ clientId: 'no-expiry' });
      clean.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
      t.is((await clean.next('disconnect')).reasonCode, 0x82);
      await until(() => clean.closed, 3000, 'closed');
      const after = await RawMqtt.connect(w.openPort, 5);
      t.false((await after.open({ clientId: 'no-expiry', clean: false })).sessionPresent);
      after.destroy();
    } finally {
      await w.stop();
    }
  },
);
