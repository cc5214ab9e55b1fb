// What mqtt-packet lets through but MQTT forbids (src/mqtt/packet-rules.ts), over real sockets:
// SUBSCRIBE and UNSUBSCRIBE without filters, repeated MQTT 5 properties, floods of user
// properties, ill-formed UTF-8 and U+0000 in strings, packet identifier 0, DUP on QoS 0, will
// QoS 3, Receive Maximum or Maximum Packet Size 0, PINGREQ with a body. A 3.1.1 client is closed
// unanswered; a 5.0 one gets the spec's reason code (CONNACK for CONNECT, else DISCONNECT).
// After each, a well-behaved client is still served.

import test, { type ExecutionContext } from 'ava';
import { RawMqtt, subscribed, until } from './helpers.ts';
import { connect4, connect5, packet, publish4, publish5, str, u16, u32, userProperty, varint } from './raw-bytes.ts';
import { servesWellBehavedClients } from './well-behaved.ts';
import { useWorld, w } from './world-per-file.ts';

useWorld();

type Expect = { connack: number } | { disconnect: number } | 'closed';

/** Sends `bytes` (after a CONNECT of its own when `login`) and checks the router's answer. */
async function expectRefusal(
  t: ExecutionContext,
  name: string,
  version: 4 | 5,
  bytes: Buffer,
  expect: Expect,
  login = true,
): Promise<void> {
  const c = await RawMqtt.connect(w.openPort, version);
  try {
    if (login) await c.open();
    c.sendBytes(bytes);
    await until(() => c.closed, 3000, `${name}: the connection closed`);
    const seen = c.packets.map((p) => `${p.cmd}:${p.reasonCode ?? p.returnCode ?? ''}`);
    if (expect === 'closed') t.deepEqual(seen, [], `${name}: closed unanswered`);
    else if ('connack' in expect) t.deepEqual(seen, [`connack:${expect.connack}`], name);
    else t.deepEqual(seen, [`disconnect:${expect.disconnect}`], name);
  } finally {
    c.destroy();
  }
}

const noProps = varint(0);

test('SUBSCRIBE and UNSUBSCRIBE without topic filters: 3.1.1 closed unanswered (no UNSUBACK), 5.0 DISCONNECT 0x82', async (t) => {
  await expectRefusal(t, 'SUBSCRIBE 3.1.1', 4, packet(0x82, u16(1)), 'closed');
  await expectRefusal(t, 'SUBSCRIBE 5.0', 5, packet(0x82, Buffer.concat([u16(1), noProps])), { disconnect: 0x82 });
  await expectRefusal(t, 'UNSUBSCRIBE 3.1.1', 4, packet(0xa2, u16(1)), 'closed');
  await expectRefusal(t, 'UNSUBSCRIBE 5.0', 5, packet(0xa2, Buffer.concat([u16(1), noProps])), { disconnect: 0x82 });
  t.true(await servesWellBehavedClients(w.openPort));
});

test('a property given twice is a Protocol Error (0x82); user properties may repeat', async (t) => {
  const rm = (n: number) => Buffer.concat([Buffer.from([0x21]), u16(n)]);
  await expectRefusal(
    t,
    'Receive Maximum twice',
    5,
    connect5('rm2', Buffer.concat([rm(10), rm(20)])),
    { connack: 0x82 },
    false,
  );
  const expiry = (n: number) => Buffer.concat([Buffer.from([0x11]), u32(n)]);
  await expectRefusal(
    t,
    'Session Expiry twice',
    5,
    connect5('se2', Buffer.concat([expiry(10), expiry(20)])),
    { connack: 0x82 },
    false,
  );
  const alias = (n: number) => Buffer.concat([Buffer.from([0x23]), u16(n)]);
  const twice = publish5('a/b', 'x', 1, 3, Buffer.concat([alias(3), alias(4)]));
  await expectRefusal(t, 'Topic Alias twice', 5, twice, { disconnect: 0x82 });

  // Receive Maximum once: QoS 1 messages reach the client (with it twice the window was NaN).
  const c = await RawMqtt.connect(w.openPort, 5);
  c.sendBytes(connect5('rm1', rm(10)));
  t.is((await c.next('connack')).reasonCode, 0);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rules/rm', qos: 1 }] });
  await c.next('suback');
  // A user property whose name repeats is legal, and arrives.
  const repeated = Buffer.concat([userProperty('k', 'v'), userProperty('k', 'w')]);
  const p = await RawMqtt.connect(w.openPort, 5);
  await p.open();
  p.sendBytes(publish5('rules/rm', 'm', 1, 9, repeated));
  t.is((await p.next('puback')).reasonCode, 0);
  const got = await c.next('publish');
  t.deepEqual(got.properties?.userProperties, { k: ['v', 'w'] });
  c.destroy();
  p.destroy();
  t.true(await servesWellBehavedClients(w.openPort));
});

test('user properties are bounded per packet (64, 16 KiB): more is DISCONNECT 0x95, before the PUBLISH is decoded', async (t) => {
  const props = (n: number, value = 'v') =>
    Buffer.concat(Array.from({ length: n }, (_, i) => userProperty(`k${i}`, value)));
  // At the limit: published, and a WAMP subscriber gets them all.
  const wamp = await w.wamp();
  await wamp.subscribe('rules.props');
  const c = await RawMqtt.connect(w.openPort, 5);
  await c.open();
  c.sendBytes(publish5('rules/props', 'x', 1, 1, props(64)));
  t.is((await c.next('puback')).reasonCode, 0);
  const event = await wamp.next((m) => m[0] === 36);
  const details = event[3] as { _mqtt?: { user_properties?: unknown } };
  t.is(Object.keys(details._mqtt?.user_properties as object).length, 64);
  c.destroy();

  await expectRefusal(t, '65 user properties', 5, publish5('rules/props', 'x', 1, 2, props(65)), { disconnect: 0x95 });
  await expectRefusal(t, 'over 16 KiB of them', 5, publish5('rules/props', 'x', 0, 0, props(2, 'v'.repeat(9000))), {
    disconnect: 0x95,
  });
  // The audit's flood: a 1 MB PUBLISH of 84,000 user properties is refused at once.
  const flood: Buffer[] = [];
  for (let i = 0, size = 0; size < 1_000_000; i++) size += flood[flood.push(userProperty(`k${i}`, 'v')) - 1]!.length;
  const started = performance.now();
  await expectRefusal(t, '84,000 user properties', 5, publish5('rules/props', 'x', 0, 0, Buffer.concat(flood)), {
    disconnect: 0x95,
  });
  t.true(performance.now() - started < 2000);
  // Other packets too (checked once decoded): SUBSCRIBE with 65.
  const subscribe = packet(
    0x82,
    Buffer.concat([u16(1), varint(props(65).length), props(65), str('a/b'), Buffer.from([1])]),
  );
  await expectRefusal(t, 'SUBSCRIBE with 65', 5, subscribe, { disconnect: 0x95 });
  t.true(await servesWellBehavedClients(w.openPort));
});

const BAD_UTF8 = Buffer.from([0x61, 0xff, 0x62]);
const SURROGATE = Buffer.from([0x61, 0xed, 0xa0, 0x80]);
const will5 = (topic: string | Buffer) => Buffer.concat([varint(0), str(topic), str('bye')]);
const will4 = (topic: string | Buffer) => Buffer.concat([str(topic), str('bye')]);

/** [name, version, bytes, expected, after a CONNECT of its own] */
const rules: [string, 4 | 5, Buffer, Expect, boolean][] = [
  ['client id ill-formed (3.1.1)', 4, connect4(Buffer.from([0xc3, 0x28, 0xff])), 'closed', false],
  ['client id with U+0000 (3.1.1)', 4, connect4('ab\u0000cd'), 'closed', false],
  ['client id ill-formed (5.0)', 5, connect5(BAD_UTF8), { connack: 0x81 }, false],
  ['will topic an encoded surrogate (3.1.1)', 4, connect4('wt', 0x06, will4(SURROGATE)), 'closed', false],
  ['will topic ill-formed (5.0)', 5, connect5('wt5', Buffer.alloc(0), 0x06, will5(BAD_UTF8)), { connack: 0x81 }, false],
  ['will QoS 3 (3.1.1)', 4, connect4('wq', 0x02 | 0x04 | 0x18, will4('w/t')), 'closed', false],
  ['will QoS 3 (5.0)', 5, connect5('wq5', Buffer.alloc(0), 0x02 | 0x04 | 0x18, will5('w/t')), { connack: 0x81 }, false],
  ['Receive Maximum 0', 5, connect5('rm0', Buffer.concat([Buffer.from([0x21]), u16(0)])), { connack: 0x82 }, false],
  ['Maximum Packet Size 0', 5, connect5('mp0', Buffer.concat([Buffer.from([0x27]), u32(0)])), { connack: 0x82 }, false],
  ['PUBLISH topic ill-formed (3.1.1)', 4, publish4(BAD_UTF8, 'x', 1, 7), 'closed', true],
  ['PUBLISH topic ill-formed (5.0)', 5, publish5(BAD_UTF8, 'x', 1, 7), { disconnect: 0x81 }, true],
  ['PUBLISH topic an encoded surrogate (5.0)', 5, publish5(SURROGATE, 'x', 1, 7), { disconnect: 0x81 }, true],
  ['PUBLISH topic with U+0000', 4, publish4('a/\u0000b', 'x', 1, 7), 'closed', true],
  ['PUBLISH QoS 1 packet id 0', 4, publish4('a/b', 'x', 1, 0), 'closed', true],
  ['PUBLISH QoS 2 packet id 0', 5, publish5('a/b', 'x', 2, 0), { disconnect: 0x82 }, true],
  ['PUBLISH QoS 0 with DUP (3.1.1)', 4, publish4('a/b', 'x', 0, 0, 0x08), 'closed', true],
  ['PUBLISH QoS 0 with DUP (5.0)', 5, publish5('a/b', 'x', 0, 0, Buffer.alloc(0), 0x08), { disconnect: 0x81 }, true],
  [
    'PUBLISH with a Subscription Identifier',
    5,
    publish5('a/b', 'x', 1, 3, Buffer.from([0x0b, 5])),
    { disconnect: 0x82 },
    true,
  ],
  ['SUBSCRIBE packet id 0', 4, packet(0x82, Buffer.concat([u16(0), str('a/b'), Buffer.from([1])])), 'closed', true],
  [
    'UNSUBSCRIBE packet id 0',
    5,
    packet(0xa2, Buffer.concat([u16(0), noProps, str('a/b')])),
    { disconnect: 0x82 },
    true,
  ],
  [
    'SUBSCRIBE filter ill-formed',
    4,
    packet(0x82, Buffer.concat([u16(1), str(BAD_UTF8), Buffer.from([1])])),
    'closed',
    true,
  ],
  [
    'UNSUBSCRIBE filter with U+0000 (5.0)',
    5,
    packet(0xa2, Buffer.concat([u16(1), noProps, str('ok'), str('a\u0000')])),
    { disconnect: 0x81 },
    true,
  ],
  ['PINGREQ with a body', 4, Buffer.from([0xc0, 1, 0]), 'closed', true],
];

test('spec rules mqtt-packet does not enforce: each refused as the spec says', async (t) => {
  for (const [name, version, bytes, expect, login] of rules)
    await expectRefusal(t, name, version, bytes, expect, login);
  t.true(await servesWellBehavedClients(w.openPort));
});

test('a real U+FFFD is legal: in a client identifier, a topic and a filter, accepted', async (t) => {
  const c = await RawMqtt.connect(w.openPort, 5);
  c.sendBytes(connect5('id-\uFFFD'));
  t.is((await c.next('connack')).reasonCode, 0);
  c.sendBytes(packet(0x82, Buffer.concat([u16(1), noProps, str('rules/\uFFFD'), Buffer.from([1])])));
  t.deepEqual((await c.next('suback')).granted, [1]);
  const wamp = await w.wamp();
  await subscribed(wamp, 'rules.\uFFFD');
  c.sendBytes(publish5('rules/\uFFFD', 'ok', 1, 5));
  await c.next('puback');
  t.is((await c.next('publish')).topic, 'rules/\uFFFD');
  t.false(c.closed);
  c.destroy();
});
