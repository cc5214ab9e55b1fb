// MQTT features on WAMP's: retain (WAMP retention; an empty payload clears), the will as a
// testament, QoS 2 both ways, Receive Maximum, topic aliases, No Local, session take-over.

import test from 'ava';
import mqtt from 'mqtt';
import { RawMqtt, run, startWorld, subscribed, until, type World } from './helpers.ts';

const EVENT = 36;
let w: World;

test.before(async () => {
  w = await startWorld();
});
test.after.always(async () => {
  await w?.stop();
});

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
