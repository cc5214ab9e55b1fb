// Subscription options and overlaps: No Local, Retain As Published, and one PUBLISH per
// publication at the highest QoS of the filters it matches.

import test from 'ava';
import mqtt from 'mqtt';
import { until } from './helpers.ts';
import { useWorld, w } from './world-per-file.ts';

useWorld();

test.serial('No Local (v5): a client does not get its own publications on such a subscription', async (t) => {
  const url = `mqtt://127.0.0.1:${w.openPort}`;
  const me = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  const other = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  const got: string[] = [];
  me.on('message', (_topic, payload) => got.push(payload.toString()));
  await me.subscribeAsync('nl/t', { qos: 1, nl: true });
  await me.publishAsync('nl/t', '"mine"', { qos: 1 });
  await other.publishAsync('nl/t', '"theirs"', { qos: 1 });
  await until(() => got.length > 0, 3000, 'a message');
  t.deepEqual(got, ['"theirs"']);
  // Without No Local, MQTT delivers a client's own publications (WAMP's exclude_me is off).
  await me.subscribeAsync('nl/u', { qos: 0 });
  await me.publishAsync('nl/u', '"echo"', { qos: 1 });
  await until(() => got.length > 1, 3000, 'own message');
  t.deepEqual(got, ['"theirs"', '"echo"']);
  await Promise.all([me.endAsync(), other.endAsync()]);
});

test.serial(
  'Retain As Published: live retained publications keep the retain flag only for subscriptions asking for it',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.openPort}`;
    const sub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    const flags: Record<string, boolean> = {};
    sub.on('message', (topic, _p, packet) => {
      flags[topic] = packet.retain;
    });
    await sub.subscribeAsync('rap/yes', { qos: 1, rap: true });
    await sub.subscribeAsync('rap/no', { qos: 1, rap: false });
    const pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    await pub.publishAsync('rap/yes', '1', { qos: 1, retain: true });
    await pub.publishAsync('rap/no', '1', { qos: 1, retain: true });
    await until(() => Object.keys(flags).length === 2, 3000, 'both');
    t.deepEqual(flags, { 'rap/yes': true, 'rap/no': false });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  },
);

test.serial(
  'overlapping filters: one PUBLISH per publication, at the highest QoS of the filters it matches (MQTT 3.3.5)',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.openPort}`;
    const sub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    const got: { topic: string; qos: number }[] = [];
    sub.on('message', (topic, _p, packet) => got.push({ topic, qos: packet.qos }));
    await sub.subscribeAsync('ov/#', { qos: 0 });
    await sub.subscribeAsync('ov/x', { qos: 1 });
    await sub.subscribeAsync('+/x', { qos: 0 });
    const pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    for (const topic of ['ov/x', 'ov/y', 'ov/x', 'ov/end']) await pub.publishAsync(topic, '1', { qos: 1 });
    // 'ov/end' matches one filter only and comes last: once it is in, every copy before it is.
    await until(() => got.some((g) => g.topic === 'ov/end'), 3000, 'the last publication');
    t.deepEqual(got, [
      { topic: 'ov/x', qos: 1 },
      { topic: 'ov/y', qos: 0 },
      { topic: 'ov/x', qos: 1 },
      { topic: 'ov/end', qos: 0 },
    ]);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  },
);
