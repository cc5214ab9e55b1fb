// MQTT 5 properties across WAMP: user properties, content type and correlation data both ways,
// one encoding per kind of subscriber, and a WAMP publisher's malformed _mqtt details.

import test from 'ava';
import mqtt from 'mqtt';
import { until } from './helpers.ts';
import { useWorld, w } from './world-per-file.ts';

useWorld();

test.serial(
  'MQTT 5 properties through WAMP: user properties, content type, correlation data reach MQTT 5 subscribers and WAMP details',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.openPort}`;
    const sub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    const wamp = await w.wamp();
    await wamp.subscribe('props.t');
    const got = new Promise<mqtt.IPublishPacket>((resolve) => sub.once('message', (_t, _p, packet) => resolve(packet)));
    await sub.subscribeAsync('props/t', { qos: 1 });
    await pub.publishAsync('props/t', '{"v":1}', {
      qos: 1,
      properties: {
        userProperties: { site: 'north', tags: ['a', 'b'] },
        contentType: 'application/json',
        correlationData: Buffer.from('c0ffee', 'hex'),
        responseTopic: 'reply/here',
      },
    });
    const packet = await got;
    t.deepEqual(packet.properties?.userProperties, { site: 'north', tags: ['a', 'b'] });
    t.is(packet.properties?.contentType, 'application/json');
    t.is(packet.properties?.responseTopic, 'reply/here');
    t.deepEqual(packet.properties?.correlationData, Buffer.from('c0ffee', 'hex'));
    const event = await wamp.next((m) => m[0] === 36);
    t.like((event[3] as { _mqtt: unknown })._mqtt, {
      user_properties: { site: 'north', tags: ['a', 'b'] },
      content_type: 'application/json',
    });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  },
);

test.serial(
  'one QoS 0 publication to MQTT 5 and 3.1.1 subscribers, with and without Retain As Published: each gets the PUBLISH of its version and flag (encoded once per kind, shared)',
  async (t) => {
    const url = `mqtt://127.0.0.1:${w.openPort}`;
    const kinds = [
      { protocolVersion: 5, rap: true },
      { protocolVersion: 5, rap: false },
      { protocolVersion: 4, rap: false },
      { protocolVersion: 5, rap: true },
      { protocolVersion: 4, rap: false },
    ] as const;
    const got: mqtt.IPublishPacket[][] = kinds.map(() => []);
    const subs = await Promise.all(
      kinds.map(async (k, i) => {
        const c = await mqtt.connectAsync(url, { protocolVersion: k.protocolVersion, reconnectPeriod: 0 });
        c.on('message', (_t, _p, packet) => got[i]!.push(packet));
        await c.subscribeAsync('shared/kinds', { qos: 0, ...(k.protocolVersion === 5 && { rap: k.rap }) });
        return c;
      }),
    );
    const pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    await pub.publishAsync('shared/kinds', '{"n":1}', {
      qos: 0,
      retain: true,
      properties: { userProperties: { a: 'b' } },
    });
    await pub.publishAsync('shared/kinds', '{"n":2}', { qos: 0 });
    await until(() => got.every((g) => g.length === 2), 3000, 'two messages for every subscriber');
    kinds.forEach((k, i) => {
      const [first, second] = got[i]!;
      t.is(first!.payload.toString(), '{"n":1}');
      t.is(second!.payload.toString(), '{"n":2}');
      t.is(first!.retain, k.rap, `retain flag for ${JSON.stringify(k)}`);
      t.false(second!.retain);
      t.is(first!.qos, 0);
      if (k.protocolVersion === 5) t.deepEqual(first!.properties?.userProperties, { a: 'b' });
      else t.is(first!.properties, undefined);
      t.is(second!.properties?.userProperties, undefined);
    });
    await pub.publishAsync('shared/kinds', '', { qos: 0, retain: true }); // clears the retained one
    await Promise.all([...subs.map((c) => c.endAsync()), pub.endAsync()]);
  },
);

test.serial(
  "a WAMP publisher's malformed _mqtt details are ignored field by field; the message still arrives",
  async (t) => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${w.openPort}`, { protocolVersion: 5, reconnectPeriod: 0 });
    const got = new Promise<mqtt.IPublishPacket>((resolve) => sub.once('message', (_t, _p, packet) => resolve(packet)));
    await sub.subscribeAsync('odd/props', { qos: 1 });
    const wamp = await w.wamp();
    wamp.send([
      16,
      wamp.requestId(),
      {
        _mqtt: {
          user_properties: { ok: 'yes', bad: 5 },
          response_topic: 'a/#',
          correlation_data: 'not bytes',
          expires_at: 'soon',
          content_type: 123,
          retain: 'yes',
        },
      },
      'odd.props',
      ['x'],
    ]);
    const packet = await got;
    t.is(packet.payload.toString(), '"x"');
    t.deepEqual(packet.properties, { userProperties: { ok: 'yes' } });
    t.false(packet.retain);
    await sub.endAsync();
  },
);
