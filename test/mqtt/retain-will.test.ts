// Retain and the will on WAMP's terms: retain is WAMP retention (an empty payload clears it), the
// will is a testament (published when the connection is lost, never after DISCONNECT).

import test from 'ava';
import mqtt from 'mqtt';
import { PASSWORD, RawMqtt, run, subscribed } from './helpers.ts';
import { useWorld, w } from './world-per-file.ts';

const EVENT = 36;
useWorld();

for (const version of ['mqttv311', 'mqttv5'] as const) {
  test.serial(
    `retain (${version}): kept as WAMP retention, sent with the retain flag on subscribe, cleared by an empty payload`,
    async (t) => {
      const topic = `dev/${version}/state`;
      const pub = await run('mosquitto_pub', [
        '-p',
        String(w.openPort),
        '-V',
        version,
        '-q',
        '1',
        '-r',
        '-t',
        topic,
        '-m',
        '{"on":true}',
      ]);
      t.is(pub.code, 0, pub.stderr);
      // %r: the retain flag, %t topic, %p payload.
      const sub = await run('mosquitto_sub', [
        '-p',
        String(w.openPort),
        '-V',
        version,
        '-C',
        '1',
        '-W',
        '5',
        '-F',
        '%r %t %p',
        '-t',
        topic,
      ]);
      t.is(sub.stdout.trim(), `1 ${topic} {"on":true}`, sub.stderr);
      // A WAMP subscriber asking for retained events gets the same one.
      const wamp = await w.wamp();
      const request = wamp.requestId();
      wamp.send([32, request, { get_retained: true }, topic.split('/').join('.')]);
      const event = await wamp.next((m) => m[0] === EVENT);
      t.deepEqual(event[4], [{ on: true }]);
      t.is((event[3] as { retained?: boolean }).retained, true);
      const clear = await run('mosquitto_pub', [
        '-p',
        String(w.openPort),
        '-V',
        version,
        '-q',
        '1',
        '-r',
        '-n',
        '-t',
        topic,
      ]);
      t.is(clear.code, 0, clear.stderr);
      const none = await run('mosquitto_sub', [
        '-p',
        String(w.openPort),
        '-V',
        version,
        '-C',
        '1',
        '-W',
        '1',
        '-t',
        topic,
      ]);
      t.is(none.stdout, '');
    },
  );
}

test.serial('the will is a testament: published when the connection is lost, not after DISCONNECT', async (t) => {
  const sub = await w.wamp();
  await sub.subscribe('dev.status');
  const url = `mqtt://127.0.0.1:${w.openPort}`;
  const will = { topic: 'dev/status', payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: false };
  const polite = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, will });
  await polite.endAsync();
  const rude = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: { ...will, payload: Buffer.from('"lost"') },
  });
  rude.stream.destroy();
  const event = await sub.next((m) => m[0] === EVENT);
  t.deepEqual(event[4], ['lost'], "the first will event is the lost client's: the polite one published none");
});

test.serial('mosquitto_sub --will-*: killed, its will reaches a WAMP subscriber (retained when asked)', async (t) => {
  const wamp = await w.wamp();
  await wamp.subscribe('dev.mosq.lwt');
  const sub = run(
    'mosquitto_sub',
    [
      '-p',
      String(w.openPort),
      '-V',
      'mqttv5',
      '-i',
      'mosq-will',
      '-t',
      'dev/mosq/cmd',
      '--will-topic',
      'dev/mosq/lwt',
      '--will-payload',
      '"offline"',
      '--will-qos',
      '1',
      '--will-retain',
    ],
    10_000,
  );
  await subscribed(wamp, 'dev.mosq.cmd');
  sub.kill('SIGKILL');
  const event = await wamp.next((m) => m[0] === EVENT);
  t.deepEqual(event[4], ['offline']);
  const late = await run('mosquitto_sub', [
    '-p',
    String(w.openPort),
    '-C',
    '1',
    '-W',
    '5',
    '-F',
    '%r %p',
    '-t',
    'dev/mosq/lwt',
  ]);
  t.is(late.stdout.trim(), '1 "offline"');
});

test.serial(
  'a will needs a call grant on wamp.session.add_testament: without one, CONNECT is refused (v5 0x87)',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.appPort}`;
    const err = await t.throwsAsync(
      mqtt.connectAsync(url, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        username: 'bob',
        password: 'correct horse battery',
        will: { topic: 'sensors/bob', payload: Buffer.from('x'), qos: 0, retain: false },
      }),
    );
    t.is((err as { code?: number }).code, 0x87);
  },
);

test.serial(
  'a will on a topic its user may not publish to: CONNECT refused, 0x87 (v5) and return code 5 (3.1.1); on a granted topic it connects',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.appPort}`;
    const willa = { reconnectPeriod: 0, username: 'willa', password: PASSWORD };
    const denied = { topic: 'alerts/willa', payload: Buffer.from('"gone"'), qos: 0 as const, retain: false };
    const err = await t.throwsAsync(mqtt.connectAsync(url, { ...willa, protocolVersion: 5, will: denied }));
    t.is((err as { code?: number }).code, 0x87);
    const raw = await RawMqtt.connect(w.appPort, 4);
    const connack = await raw.open({ username: 'willa', password: Buffer.from(PASSWORD), will: denied });
    t.is(connack.returnCode, 5);
    raw.destroy();
    // Under "wamp." (the router's meta events) nobody may publish, even where anyone may publish
    // anything: refused as the PUBLISH would be, topic name invalid.
    const reserved = { ...denied, topic: 'wamp/session/on_leave' };
    const open = `mqtt://127.0.0.1:${w.openPort}`;
    const refused = await t.throwsAsync(
      mqtt.connectAsync(open, { reconnectPeriod: 0, protocolVersion: 5, will: reserved }),
    );
    t.is((refused as { code?: number }).code, 0x90);
    const raw311 = await RawMqtt.connect(w.openPort, 4);
    t.is((await raw311.open({ will: reserved })).returnCode, 3, '3.1.1 has no closer code than server unavailable');
    raw311.destroy();
    const granted = await mqtt.connectAsync(url, {
      ...willa,
      protocolVersion: 5,
      will: { ...denied, topic: 'sensors/willa' },
    });
    await granted.endAsync();
  },
);
