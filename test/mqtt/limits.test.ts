// Limits and bad input on the MQTT listener over real sockets: topics WAMP cannot express
// refused with the right codes, keep-alive, maximum packet size, malformed packets, protocol
// errors; each ends only the client at fault, others carry on.

import test from 'ava';
import { RawMqtt, startWorld, until, type World } from './helpers.ts';

let w: World;

test.before(async () => {
  w = await startWorld({ maxPacketBytes: 2048 });
});
test.after.always(async () => {
  await w?.stop();
});

test('SUBACK codes (v5) for filters WAMP cannot express; 3.1.1 gets 0x80', async (t) => {
  const c5 = await RawMqtt.connect(w.openPort, 5);
  t.is((await c5.open()).reasonCode, 0);
  c5.send({
    cmd: 'subscribe',
    messageId: 1,
    subscriptions: [
      { topic: 'a/b', qos: 1 },
      { topic: 'a/b.c', qos: 0 },
      { topic: 'a/+/#', qos: 0 },
      { topic: '$share/g/a', qos: 0 },
      { topic: 'a//b', qos: 0 },
      { topic: '#', qos: 2 },
    ],
  });
  const suback = await c5.next('suback');
  t.deepEqual(suback.granted, [1, 0x8f, 0xa2, 0x9e, 0x8f, 2]);
  c5.destroy();
  const c4 = await RawMqtt.connect(w.openPort, 4);
  t.is((await c4.open()).returnCode, 0);
  c4.send({
    cmd: 'subscribe',
    messageId: 2,
    subscriptions: [
      { topic: 'a/b.c', qos: 0 },
      { topic: 'x/+/y', qos: 1 },
    ],
  });
  t.deepEqual((await c4.next('suback')).granted, [0x80, 1]);
  c4.destroy();
});

test('PUBACK 0x90 for a topic name WAMP cannot carry (v5); 3.1.1 is acknowledged and the message dropped', async (t) => {
  const sub = await w.wamp();
  await sub.subscribe('ok.topic');
  const c5 = await RawMqtt.connect(w.openPort, 5);
  await c5.open();
  c5.send({
    cmd: 'publish',
    messageId: 7,
    qos: 1,
    dup: false,
    retain: false,
    topic: 'bad//level',
    payload: Buffer.from('1'),
  });
  t.is((await c5.next('puback')).reasonCode, 0x90);
  c5.send({
    cmd: 'publish',
    messageId: 8,
    qos: 1,
    dup: false,
    retain: false,
    topic: 'ok/topic',
    payload: Buffer.from('2'),
  });
  t.is((await c5.next('puback')).reasonCode, 0);
  const event = await sub.next((m) => m[0] === 36);
  t.deepEqual(event[4], [2]);
  const c4 = await RawMqtt.connect(w.openPort, 4);
  await c4.open();
  c4.send({
    cmd: 'publish',
    messageId: 9,
    qos: 1,
    dup: false,
    retain: false,
    topic: 'has.dot',
    payload: Buffer.from('3'),
  });
  t.is((await c4.next('puback')).messageId, 9);
  c5.destroy();
  c4.destroy();
});

test('keep-alive: a silent client is closed after 1.5 x its keep-alive, v5 told 0x8D', async (t) => {
  const c = await RawMqtt.connect(w.openPort, 5);
  await c.open({ keepalive: 1 });
  const started = Date.now();
  const d = await c.next('disconnect', 5000);
  t.is(d.reasonCode, 0x8d);
  await until(() => c.closed, 3000, 'close');
  t.true(Date.now() - started >= 1000);
});

test('a PINGREQ keeps a client alive', async (t) => {
  const c = await RawMqtt.connect(w.openPort, 4);
  await c.open({ keepalive: 1 });
  for (let i = 0; i < 4; i++) {
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    await new Promise((r) => setTimeout(r, 600));
  }
  t.false(c.closed);
  c.destroy();
});

test('over the maximum packet size: DISCONNECT 0x95 from the header alone; the CONNACK announced the limit', async (t) => {
  const other = await RawMqtt.connect(w.openPort, 5);
  await other.open();
  const c = await RawMqtt.connect(w.openPort, 5);
  const connack = await c.open();
  t.is(connack.properties?.maximumPacketSize, 2048);
  // Only the fixed header of a 1 MB PUBLISH: refused before any body is buffered.
  c.sendBytes(Buffer.from([0x30, 0x80, 0x80, 0x40]));
  t.is((await c.next('disconnect')).reasonCode, 0x95);
  await until(() => c.closed, 3000, 'close');
  other.send({ cmd: 'pingreq' });
  await other.next('pingresp');
  other.destroy();
});

test('malformed packets end that client with 0x81; protocol errors with 0x82; others undisturbed', async (t) => {
  const other = await RawMqtt.connect(w.openPort, 5);
  await other.open();
  const bad = await RawMqtt.connect(w.openPort, 5);
  await bad.open();
  // SUBSCRIBE with reserved flags wrong (must be 0010) and a truncated payload.
  bad.sendBytes(Buffer.from([0x80, 0x03, 0x00, 0x01, 0x00]));
  t.is((await bad.next('disconnect')).reasonCode, 0x81);
  await until(() => bad.closed, 3000, 'close');
  const again = await RawMqtt.connect(w.openPort, 5);
  await again.open();
  again.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'x', keepalive: 0 });
  t.is((await again.next('disconnect')).reasonCode, 0x82);
  const v3 = await RawMqtt.connect(w.openPort, 4);
  v3.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: true, clientId: 'old', keepalive: 0 });
  t.is((await v3.next('connack')).returnCode, 1);
  await until(() => v3.closed, 3000, 'close');
  other.send({ cmd: 'pingreq' });
  await other.next('pingresp');
  t.false(other.closed);
  other.destroy();
});

test('the first packet must be CONNECT: anything else closes the connection unanswered', async (t) => {
  const c = await RawMqtt.connect(w.openPort, 4);
  c.send({ cmd: 'pingreq' });
  await until(() => c.closed, 3000, 'close');
  t.deepEqual(c.packets, []);
});

test('connections beyond maxConnections are closed at once; those within carry on', async (t) => {
  const small = await startWorld({ maxConnections: 2 });
  try {
    const a = await RawMqtt.connect(small.openPort, 4);
    await a.open();
    const b = await RawMqtt.connect(small.openPort, 4);
    await b.open();
    const c = await RawMqtt.connect(small.openPort, 4);
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'third', keepalive: 0 });
    await until(() => c.closed, 3000, 'the third closed');
    t.deepEqual(c.packets, []);
    a.send({ cmd: 'pingreq' });
    await a.next('pingresp');
    a.destroy();
    b.destroy();
  } finally {
    await small.stop();
  }
});
