// The MQTT listener against real third-party clients over real sockets: mosquitto_pub and
// mosquitto_sub (Debian mosquitto-clients, MQTT 3.1.1 and 5) and the npm mqtt client, with a
// WAMP peer on RawSocket on the other side. Identity, grants and their refusal codes, topic and
// payload mapping, QoS 0 and 1 both ways.

import test from 'ava';
import mqtt from 'mqtt';
import { PASSWORD, run, startWorld, subscribed, type World } from './helpers.ts';

const EVENT = 36;
let w: World;

test.before(async () => {
  w = await startWorld();
});
test.after.always(async () => {
  await w?.stop();
});

for (const version of ['mqttv311', 'mqttv5'] as const) {
  for (const qos of ['0', '1'] as const) {
    test.serial(
      `mosquitto_pub ${version} QoS ${qos} -> WAMP subscriber: JSON as args[0], other payloads as bytes`,
      async (t) => {
        const sub = await w.wamp();
        const topic = `sensors.${version}.q${qos}.temp`;
        await sub.subscribe(topic);
        const mqttTopic = topic.split('.').join('/');
        const r1 = await run('mosquitto_pub', [
          '-p',
          String(w.openPort),
          '-V',
          version,
          '-q',
          qos,
          '-t',
          mqttTopic,
          '-m',
          '{"c":21.5}',
        ]);
        t.is(r1.code, 0, r1.stderr);
        const e1 = await sub.next((m) => m[0] === EVENT);
        t.deepEqual(e1[4], [{ c: 21.5 }]);
        const r2 = await run('mosquitto_pub', [
          '-p',
          String(w.openPort),
          '-V',
          version,
          '-q',
          qos,
          '-t',
          mqttTopic,
          '-m',
          'not json',
        ]);
        t.is(r2.code, 0, r2.stderr);
        const e2 = await sub.next((m) => m[0] === EVENT);
        // Binary on the wire ("\0" + base64 in JSON), decoded back to bytes by the client.
        t.deepEqual(e2[4], [Buffer.from('not json')]);
      },
    );
  }

  test.serial(`WAMP publisher -> mosquitto_sub ${version}: exact, "+" and "#" filters`, async (t) => {
    const pub = await w.wamp();
    const tag = version === 'mqttv5' ? 'v5' : 'v3';
    const sub = run(
      'mosquitto_sub',
      [
        '-p',
        String(w.openPort),
        '-V',
        version,
        '-q',
        '1',
        '-v',
        '-C',
        '3',
        '-t',
        `plant/${tag}/a/temp`,
        '-t',
        `hall/${tag}/+/humidity`,
        '-t',
        `yard/${tag}/#`,
      ],
      10_000,
    );
    await subscribed(pub, `hall.${tag}..humidity`, 'wildcard');
    await subscribed(pub, `yard.${tag}.`, 'prefix');
    pub.send([16, pub.requestId(), {}, `plant.${tag}.a.temp`, [{ v: 1 }]]);
    pub.send([16, pub.requestId(), {}, `hall.${tag}.b.humidity`, [55]]);
    pub.send([16, pub.requestId(), {}, `yard.${tag}.x.y`, [], { k: 'v' }]);
    const r = await sub;
    const lines = r.stdout.trim().split('\n');
    t.is(lines.length, 3, r.stdout + r.stderr);
    t.true(lines.includes(`plant/${tag}/a/temp {"v":1}`), r.stdout);
    t.true(lines.includes(`hall/${tag}/b/humidity 55`), r.stdout);
    t.true(lines.includes(`yard/${tag}/x/y {"args":[],"kwargs":{"k":"v"}}`), r.stdout);
  });
}

test.serial(
  'npm mqtt v5: wrong password gets CONNACK 0x86, 3.1.1 return code 4; anonymous where the realm has none: 0x87 / 5',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.appPort}`;
    const attempt = async (options: mqtt.IClientOptions): Promise<number | undefined> => {
      const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
      try {
        await new Promise<void>((resolve, reject) => {
          c.once('connect', () => resolve());
          c.once('error', reject);
        });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code;
      } finally {
        c.end(true);
      }
    };
    t.is(await attempt({ protocolVersion: 5, username: 'alice', password: 'wrong' }), 0x86);
    t.is(await attempt({ protocolVersion: 4, username: 'alice', password: 'wrong' }), 4);
    t.is(await attempt({ protocolVersion: 5 }), 0x87);
    t.is(await attempt({ protocolVersion: 4 }), 5);
    t.is(await attempt({ protocolVersion: 5, username: 'alice', password: PASSWORD }), 0);
  },
);

test.serial('npm mqtt: grants refused with SUBACK 0x87 (v5) / 0x80 (3.1.1) and PUBACK 0x87 (v5)', async (t) => {
  const url = `mqtt://127.0.0.1:${w.appPort}`;
  const bob5 = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    username: 'bob',
    password: PASSWORD,
    reconnectPeriod: 0,
  });
  const bob4 = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    username: 'bob',
    password: PASSWORD,
    reconnectPeriod: 0,
  });
  const alice = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    username: 'alice',
    password: PASSWORD,
    reconnectPeriod: 0,
  });
  try {
    // mqtt.js turns a v5 refusal into an error carrying the SUBACK.
    const refused = await t.throwsAsync(bob5.subscribeAsync('sensors/x', { qos: 1 }));
    t.deepEqual((refused as unknown as { packet: { granted: number[] } }).packet.granted, [0x87]);
    const refused4 = await t.throwsAsync(bob4.subscribeAsync('sensors/x', { qos: 1 }));
    t.deepEqual((refused4 as unknown as { packet: { granted: number[] } }).packet.granted, [0x80]);
    t.deepEqual(
      (await alice.subscribeAsync('sensors/x', { qos: 1 })).map((g) => g.qos),
      [1],
    );
    const err = await t.throwsAsync(alice.publishAsync('other/x', 'hi', { qos: 1 }));
    t.is((err as { code?: number }).code, 0x87);
    // bob may publish under sensors.: alice (subscribed at QoS 1) gets it at QoS 1.
    const got = new Promise<{ topic: string; payload: Buffer; qos: number }>((resolve) =>
      alice.once('message', (topic, payload, packet) => resolve({ topic, payload, qos: packet.qos })),
    );
    await bob5.publishAsync('sensors/x', '{"t":1}', { qos: 1 });
    const m = await got;
    t.is(m.topic, 'sensors/x');
    t.is(m.payload.toString(), '{"t":1}');
    t.is(m.qos, 1);
  } finally {
    await Promise.all([bob5.endAsync(), bob4.endAsync(), alice.endAsync()]);
  }
});
