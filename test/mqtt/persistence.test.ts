// Persistent sessions: a client with clean session false (or an MQTT 5 session expiry) goes
// away, 100 events are published, and it gets all 100 in order on return, also after a router
// restart; the queue is bounded (oldest dropped); a clean start discards what was kept.

import test from 'ava';
import mqtt from 'mqtt';
import { connectMqtt as connect, RawMqtt, run, startWorld, subscribed, until, type World } from './helpers.ts';

async function publish100(w: World, topic: string): Promise<void> {
  const pub = await w.wamp();
  for (let i = 0; i < 100; i++) pub.send([16, pub.requestId(), {}, topic, [i]]);
  // An acknowledged publication after them: all 100 went through the router before it.
  const request = pub.requestId();
  pub.send([16, request, { acknowledge: true }, topic.concat('.done'), []]);
  await pub.next((m) => m[0] === 17 && m[1] === request);
}

const hundred = Array.from({ length: 100 }, (_, i) => String(i));

for (const protocolVersion of [4, 5] as const) {
  test.serial(
    `MQTT ${protocolVersion === 5 ? '5 (session expiry)' : '3.1.1 (clean session false)'}: 100 events while away arrive in order on return`,
    async (t) => {
      const w = await startWorld();
      try {
        const options: mqtt.IClientOptions = {
          protocolVersion,
          clientId: `dev-${protocolVersion}`,
          clean: false,
          ...(protocolVersion === 5 && { properties: { sessionExpiryInterval: 3600 } }),
        };
        const first = await connect(w.openPort, options);
        t.false(first.sessionPresent);
        await first.client.subscribeAsync('persist/t', { qos: 1 });
        await first.client.endAsync();
        await publish100(w, 'persist.t');
        const back = await connect(w.openPort, options);
        t.true(back.sessionPresent);
        await until(() => back.got.length >= 100, 10_000, '100 messages');
        t.deepEqual(back.got, hundred);
        // The subscription came back with the session: live events flow again.
        const pub = await w.wamp();
        pub.send([16, pub.requestId(), {}, 'persist.t', ['live']]);
        await until(() => back.got.length === 101, 5000, 'live message');
        t.is(back.got[100], '"live"');
        await back.client.endAsync();
      } finally {
        await w.stop();
      }
    },
  );
}

test.serial(
  'across a router restart: queued in SQLite, resumed by mosquitto_sub -c -i (MQTT 5) after the restart',
  async (t) => {
    let w = await startWorld();
    const dir = w.dir;
    try {
      const args = ['-V', 'mqttv5', '-c', '-i', 'dev-restart', '-x', '3600', '-q', '1', '-t', 'restart/t'];
      // First visit: subscribe, leave at once (-E: exit after the subscription is acknowledged).
      const first = await run('mosquitto_sub', ['-p', String(w.openPort), ...args, '-E']);
      t.is(first.code, 0, first.stderr);
      await publish100(w, 'restart.t');
      await w.stop(true);
      w = await startWorld({}, dir);
      const back = await run('mosquitto_sub', ['-p', String(w.openPort), ...args, '-C', '100', '-W', '10']);
      t.is(back.code, 0, back.stderr);
      t.deepEqual(back.stdout.trim().split('\n'), hundred);
      // Acknowledged on this visit: a third one finds nothing left.
      const third = await run('mosquitto_sub', ['-p', String(w.openPort), ...args, '-C', '1', '-W', '1']);
      t.is(third.stdout, '');
    } finally {
      await w.stop();
    }
  },
);

test.serial('the queue of an absent client is bounded: the oldest are dropped', async (t) => {
  const w = await startWorld({ maxQueued: 10 });
  try {
    const options: mqtt.IClientOptions = { protocolVersion: 4, clientId: 'bounded', clean: false };
    const first = await connect(w.openPort, options);
    await first.client.subscribeAsync('bounded/t', { qos: 1 });
    await first.client.endAsync();
    await publish100(w, 'bounded.t');
    const back = await connect(w.openPort, options);
    await until(() => back.got.length >= 10, 5000, '10 messages');
    await new Promise((r) => setTimeout(r, 200)); // more would arrive now if the bound did not hold
    t.deepEqual(back.got, hundred.slice(90));
    await back.client.endAsync();
  } finally {
    await w.stop();
  }
});

test.serial('a clean start discards the kept session; QoS 0 is not kept for an absent client', async (t) => {
  const w = await startWorld();
  try {
    const first = await connect(w.openPort, { protocolVersion: 4, clientId: 'cleaned', clean: false });
    await first.client.subscribeAsync('clean/q1', { qos: 1 });
    await first.client.subscribeAsync('clean/q0', { qos: 0 });
    await first.client.endAsync();
    const pub = await w.wamp();
    await subscribed(pub, 'clean.q0');
    pub.send([16, pub.requestId(), {}, 'clean.q0', ['zero']]);
    pub.send([16, pub.requestId(), {}, 'clean.q1', ['one']]);
    const back = await connect(w.openPort, { protocolVersion: 4, clientId: 'cleaned', clean: false });
    await until(() => back.got.length >= 1, 5000, 'a message');
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(back.got, ['"one"']);
    await back.client.endAsync();
    const fresh = await connect(w.openPort, { protocolVersion: 4, clientId: 'cleaned', clean: true });
    t.false(fresh.sessionPresent);
    await fresh.client.endAsync();
    pub.send([16, pub.requestId(), {}, 'clean.q1', ['two']]);
    const after = await connect(w.openPort, { protocolVersion: 4, clientId: 'cleaned', clean: false });
    t.false(after.sessionPresent);
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(after.got, []);
    await after.client.endAsync();
  } finally {
    await w.stop();
  }
});

test.serial(
  'persistent sessions are bounded in number: one more is refused (0x97), clean ones and returning ones are not',
  async (t) => {
    const w = await startWorld({ maxPersistentSessions: 2 });
    try {
      const keep = (clientId: string): mqtt.IClientOptions => ({
        protocolVersion: 5,
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: 600 },
      });
      for (const id of ['k1', 'k2']) await (await connect(w.openPort, keep(id))).client.endAsync();
      const err = await t.throwsAsync(connect(w.openPort, keep('k3')));
      t.is((err as { code?: number }).code, 0x97);
      await (await connect(w.openPort, { protocolVersion: 5, clientId: 'k3', clean: true })).client.endAsync();
      const back = await connect(w.openPort, keep('k1'));
      t.true(back.sessionPresent);
      await back.client.endAsync();
    } finally {
      await w.stop();
    }
  },
);

test.serial(
  'message expiry (MQTT 5): what expires while the client is away is not delivered; the rest goes out with what is left of its expiry',
  async (t) => {
    const w = await startWorld();
    try {
      const options: mqtt.IClientOptions = {
        protocolVersion: 5,
        clientId: 'expiring',
        clean: false,
        properties: { sessionExpiryInterval: 600 },
      };
      const first = await connect(w.openPort, options);
      await first.client.subscribeAsync('exp/t', { qos: 1 });
      await first.client.endAsync();
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${w.openPort}`, { protocolVersion: 5, reconnectPeriod: 0 });
      await pub.publishAsync('exp/t', '"short"', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await pub.publishAsync('exp/t', '"long"', { qos: 1, properties: { messageExpiryInterval: 600 } });
      await pub.endAsync();
      await new Promise((r) => setTimeout(r, 1300)); // the first one expires meanwhile
      const client = mqtt.connect(`mqtt://127.0.0.1:${w.openPort}`, { ...options, reconnectPeriod: 0 });
      const packet = await new Promise<mqtt.IPublishPacket>((resolve) =>
        client.once('message', (_t, _p, p) => resolve(p)),
      );
      t.is(packet.payload.toString(), '"long"');
      t.true(packet.properties!.messageExpiryInterval! <= 600 && packet.properties!.messageExpiryInterval! >= 590);
      await new Promise((r) => setTimeout(r, 200));
      await client.endAsync();
    } finally {
      await w.stop();
    }
  },
);

test.serial(
  'a clean start taking over a connected persistent session with messages in flight: the old queue is discarded, nothing breaks',
  async (t) => {
    const w = await startWorld();
    try {
      const old = await RawMqtt.connect(w.openPort, 5);
      await old.open({ clientId: 'inflight', clean: false, properties: { sessionExpiryInterval: 600 } });
      old.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'inflight/t', qos: 1 }] });
      await old.next('suback');
      const wamp = await w.wamp();
      wamp.send([16, wamp.requestId(), {}, 'inflight.t', ['unacked']]);
      await old.next('publish'); // never acknowledged
      const fresh = await RawMqtt.connect(w.openPort, 5);
      const connack = await fresh.open({ clientId: 'inflight', clean: true });
      t.is(connack.reasonCode, 0);
      t.false(connack.sessionPresent);
      t.is((await old.next('disconnect')).reasonCode, 0x8e);
      fresh.send({ cmd: 'pingreq' });
      await fresh.next('pingresp');
      t.deepEqual(
        fresh.packets.filter((p) => p.cmd === 'publish'),
        [],
      );
      fresh.destroy();
    } finally {
      await w.stop();
    }
  },
);
