// The PUBLISH size counted without encoding (packet-size.ts) is the size mqtt-packet encodes, to
// the byte, for both protocol versions, multi-byte text, user property lists and the expiry;
// and what MQTT cannot carry is found before encoding (which throws on it).

import test from 'ava';
import { publishPacket, type OutboundMessage } from '../../src/mqtt/outbound.ts';
import { encodePacket } from '../../src/mqtt/packet-reader.ts';
import { isMqttString, messageSize } from '../../src/mqtt/packet-size.ts';

// As the router encodes (packet-reader.ts sets mqtt-packet up: with its number cache, a length
// over 65535 would be left out of the packet rather than throw).
const encoded = (m: OutboundMessage, v5: boolean): number =>
  encodePacket(publishPacket(m, m.qos > 0 ? 7 : undefined, false, v5, Date.now()), v5 ? 5 : 4).length;

test('exact size for both versions, across the variable-length boundaries', (t) => {
  const texts = ['a', '€', '€'.repeat(300), 'ä'.repeat(70), '\ud83d\ude00'.repeat(50), 'x'.repeat(20_000)];
  const payloads = [0, 1, 100, 116, 117, 16_300, 16_400, 2_100_000];
  let n = 0;
  for (const text of texts)
    for (const length of payloads)
      for (const qos of [0, 1, 2] as const) {
        const m: OutboundMessage = {
          topic: `t/${text.slice(0, 40)}`,
          payload: new Uint8Array(length),
          qos,
          retain: false,
          properties: {
            userProperties: { k: text, list: ['a', text] },
            contentType: text,
            responseTopic: 'r/t',
            correlationData: Buffer.from(text),
            payloadFormatIndicator: true,
          },
          ...(n % 2 === 0 && { expiresAt: Date.now() + 60_000 }),
        };
        n++;
        for (const v5 of [false, true]) t.is(messageSize(m, v5), encoded(m, v5), `${text.length} ${length} ${qos}`);
        t.is(messageSize({ ...m, properties: undefined }, true), encoded({ ...m, properties: undefined }, true));
      }
});

test('what MQTT cannot carry is Infinity, where encoding would throw', (t) => {
  const base: OutboundMessage = { topic: 't', payload: new Uint8Array(1), qos: 1, retain: false };
  const bad: OutboundMessage[] = [
    { ...base, topic: 'a'.repeat(65_536) },
    { ...base, topic: '€'.repeat(21_846) }, // 65538 bytes in 21846 UTF-16 units
    { ...base, properties: { contentType: '€'.repeat(30_000) } },
    { ...base, properties: { userProperties: { k: ['ok', '€'.repeat(30_000)] } } },
    { ...base, properties: { correlationData: Buffer.alloc(65_536) } },
  ];
  for (const m of bad) {
    t.is(messageSize(m, true), Number.POSITIVE_INFINITY);
    t.throws(() => encoded(m, true));
  }
  // MQTT 3.1.1 sends no properties: only the topic matters there.
  t.is(messageSize(bad[2]!, false), encoded(bad[2]!, false));
  t.true(isMqttString('€'.repeat(21_845)));
  t.false(isMqttString('€'.repeat(21_846)));
  t.false(isMqttString('a\u0000b'));
});
