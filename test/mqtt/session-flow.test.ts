// MQTT 5 flow control and session rules on the router: QoS 2 both ways (a resent PUBLISH counts
// once), Receive Maximum, topic aliases, and a second connection taking the session over.

import test from 'ava';
import { RawMqtt, run, subscribed, until } from './helpers.ts';
import { useWorld, w } from './world-per-file.ts';

const EVENT = 36;
useWorld();

test.serial('QoS 2 both ways with mosquitto clients; a resent QoS 2 PUBLISH is published once', async (t) => {
  const wamp = await w.wamp();
  await wamp.subscribe('q2.in');
  const pub = await run('mosquitto_pub', [
    '-p',
    String(w.openPort),
    '-V',
    'mqttv5',
    '-q',
    '2',
    '-t',
    'q2/in',
    '-m',
    '42',
  ]);
  t.is(pub.code, 0, pub.stderr);
  t.deepEqual((await wamp.next((m) => m[0] === EVENT))[4], [42]);
  const sub = run('mosquitto_sub', [
    '-p',
    String(w.openPort),
    '-V',
    'mqttv311',
    '-q',
    '2',
    '-C',
    '1',
    '-W',
    '5',
    '-F',
    '%q %p',
    '-t',
    'q2/out',
  ]);
  await subscribed(wamp, 'q2.out');
  wamp.send([16, wamp.requestId(), {}, 'q2.out', ['x']]);
  t.is((await sub).stdout.trim(), '2 "x"');
  const raw = await RawMqtt.connect(w.openPort, 5);
  await raw.open();
  const packet = {
    cmd: 'publish' as const,
    messageId: 5,
    qos: 2 as const,
    dup: false,
    retain: false,
    topic: 'q2/in',
    payload: Buffer.from('1'),
  };
  raw.send(packet);
  t.is((await raw.next('pubrec')).reasonCode, 0);
  raw.send({ ...packet, dup: true });
  await raw.next('pubrec');
  raw.send({ cmd: 'pubrel', messageId: 5 });
  t.is((await raw.next('pubcomp')).reasonCode, 0);
  raw.send({ ...packet, payload: Buffer.from('2') }); // identifier free again: a new message
  await raw.next('pubrec');
  t.deepEqual((await wamp.next((m) => m[0] === EVENT))[4], [1]);
  t.deepEqual((await wamp.next((m) => m[0] === EVENT))[4], [2]);
  raw.destroy();
});

test.serial('Receive Maximum: no more unacknowledged QoS 1 PUBLISHes than the client allows', async (t) => {
  const wamp = await w.wamp();
  const raw = await RawMqtt.connect(w.openPort, 5);
  await raw.open({ properties: { receiveMaximum: 2 } });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/t', qos: 1 }] });
  await raw.next('suback');
  for (let i = 0; i < 5; i++) wamp.send([16, wamp.requestId(), {}, 'rm.t', [i]]);
  await until(() => raw.packets.filter((p) => p.cmd === 'publish').length >= 2, 3000, 'two PUBLISHes');
  await new Promise((r) => setTimeout(r, 200)); // a third would come now if the window were wrong
  const first = raw.packets.splice(0).filter((p) => p.cmd === 'publish');
  t.deepEqual(
    first.map((p) => p.payload!.toString()),
    ['0', '1'],
  );
  const got = [...first];
  while (got.length < 5) {
    raw.send({ cmd: 'puback', messageId: got.at(-1)!.messageId! });
    const p = await raw.next('publish');
    got.push(p);
  }
  t.deepEqual(
    got.map((p) => p.payload!.toString()),
    ['0', '1', '2', '3', '4'],
  );
  raw.destroy();
});

test.serial('topic aliases (v5): set with the topic, then used alone', async (t) => {
  const wamp = await w.wamp();
  await wamp.subscribe('alias.topic');
  const raw = await RawMqtt.connect(w.openPort, 5);
  const connack = await raw.open();
  t.is(connack.properties?.topicAliasMaximum, 16);
  raw.send({
    cmd: 'publish',
    qos: 0,
    dup: false,
    retain: false,
    topic: 'alias/topic',
    payload: Buffer.from('1'),
    properties: { topicAlias: 3 },
  });
  raw.send({
    cmd: 'publish',
    qos: 0,
    dup: false,
    retain: false,
    topic: '',
    payload: Buffer.from('2'),
    properties: { topicAlias: 3 },
  });
  t.deepEqual((await wamp.next((m) => m[0] === EVENT))[4], [1]);
  t.deepEqual((await wamp.next((m) => m[0] === EVENT))[4], [2]);
  raw.send({
    cmd: 'publish',
    qos: 0,
    dup: false,
    retain: false,
    topic: '',
    payload: Buffer.from('3'),
    properties: { topicAlias: 9 },
  });
  t.is((await raw.next('disconnect')).reasonCode, 0x82);
});

test.serial('a second connection with the same client identifier takes the session over (v5 0x8E)', async (t) => {
  const first = await RawMqtt.connect(w.openPort, 5);
  await first.open({ clientId: 'same-id' });
  const second = await RawMqtt.connect(w.openPort, 5);
  t.is((await second.open({ clientId: 'same-id' })).reasonCode, 0);
  t.is((await first.next('disconnect')).reasonCode, 0x8e);
  await until(() => first.closed, 3000, 'close');
  second.send({ cmd: 'pingreq' });
  await second.next('pingresp');
  second.destroy();
});
