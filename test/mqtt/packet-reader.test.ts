// The packet reader shares one mqtt-packet parser between connections: a malformed packet on
// one connection must leave nothing behind for the next packet of another.

import test from 'ava';
import { generate } from 'mqtt-packet';
import { PacketError, PacketReader } from '../../src/mqtt/packet-reader.ts';
import { Rng } from '../helpers/fuzz-input.ts';

test("garbage on one connection does not change how another one's packets parse", (t) => {
  const good = new PacketReader(1 << 20);
  t.deepEqual(
    good
      .push(
        generate(
          { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'w', clean: true, keepalive: 0 },
          { protocolVersion: 5 },
        ),
      )
      .map((p) => p.cmd),
    ['connect'],
  );
  const subscribe = generate(
    { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'x/y', qos: 1 }] },
    { protocolVersion: 5 },
  );
  // A CONNECT whose protocol name is cut short stopped the parser mid-packet (read offset left behind).
  t.throws(() => new PacketReader(4096).push(Buffer.from('1013072e67a24b5d500247caf6cc76507f72fffc2c', 'hex')), {
    instanceOf: PacketError,
  });
  const rng = new Rng(7);
  for (let i = 0; i < 500; i++) {
    try {
      new PacketReader(4096).push(Buffer.from(rng.bytes(2 + rng.int(30))));
    } catch {
      // expected for most
    }
    const [packet] = good.push(subscribe);
    t.like(packet, { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'x/y', qos: 1 }] });
  }
});

test('a packet over the limit is refused from its fixed header: 0x95', (t) => {
  const error = t.throws(() => new PacketReader(100).push(Buffer.from([0x30, 0xff, 0x01])), {
    instanceOf: PacketError,
  });
  t.is(error.reason, 0x95);
});
