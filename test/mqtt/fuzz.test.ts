// Seeded fuzz of MQTT packets over real sockets: hostile connections send a CONNECT, then
// valid-but-odd packets, mutated packets and garbage, in one stream. Invariants (as for the WAMP
// fuzz suites): the router does not crash; what it sends parses as MQTT; a witness client's
// traffic carries on after every seed; once the hostile connections are gone, so are their
// sessions. A seed reproduces its run exactly; FUZZ_EXTRA_SEEDS=n runs more.

import test from 'ava';
import net from 'node:net';
import mqtt from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';
import { EXTRA_SEEDS, hex } from '../helpers/fuzz-checks.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { startWorld, until } from './helpers.ts';

const SEEDS = Array.from({ length: 40 + 10 * EXTRA_SEEDS }, (_, i) => 1000 + i);

const TOPICS = [
  'a',
  'a/b',
  'fz/x',
  'fz/+',
  'fz/#',
  '#',
  '+',
  'a//b',
  'a.b',
  '$SYS/x',
  '$share/g/a',
  'a/+/#',
  ' ',
  'é/ü',
  'witness/t',
  '',
];

function payload(rng: Rng): Buffer {
  switch (rng.int(4)) {
    case 0:
      return Buffer.from(JSON.stringify({ n: rng.int(100) }));
    case 1:
      return Buffer.from(rng.bytes(rng.int(64)));
    case 2:
      return Buffer.alloc(0);
    default:
      return Buffer.from('['.repeat(rng.int(300)));
  }
}

/** A packet a client could send, with odd but encodable fields. */
function packet(rng: Rng, v5: boolean): Packet {
  const id = rng.chance(0.1) ? 0 : 1 + rng.int(20);
  const qos = rng.int(3) as 0 | 1 | 2;
  switch (rng.int(12)) {
    case 0:
    case 1:
    case 2:
      return {
        cmd: 'publish',
        topic: rng.pick(TOPICS),
        payload: payload(rng),
        qos,
        dup: rng.chance(0.2),
        retain: rng.chance(0.2),
        ...(qos > 0 && { messageId: id }),
        ...(v5 &&
          rng.chance(0.4) && {
            properties: {
              ...(rng.chance(0.5) && { topicAlias: rng.int(20) }),
              ...(rng.chance(0.5) && { userProperties: { k: 'v'.repeat(rng.int(200)), e: [] } }),
              ...(rng.chance(0.3) && { messageExpiryInterval: rng.int(3) }),
              ...(rng.chance(0.3) && { correlationData: Buffer.from(rng.bytes(rng.int(40))) }),
              ...(rng.chance(0.3) && {
                contentType: 'x/y',
                responseTopic: 'r/t',
                payloadFormatIndicator: rng.chance(0.5),
              }),
            },
          }),
      };
    case 3:
    case 4:
      return {
        cmd: 'subscribe',
        messageId: id || 1,
        subscriptions: [
          {
            topic: rng.pick(TOPICS) || 'x',
            qos,
            ...(v5 && { nl: rng.chance(0.5), rap: rng.chance(0.5), rh: rng.int(3) }),
          },
        ],
      };
    case 5:
      return { cmd: 'unsubscribe', messageId: id || 1, unsubscriptions: [rng.pick(TOPICS) || 'x'] };
    case 6:
      return { cmd: 'puback', messageId: id || 1 };
    case 7:
      return { cmd: 'pubrec', messageId: id || 1 };
    case 8:
      return { cmd: 'pubrel', messageId: id || 1 };
    case 9:
      return { cmd: 'pubcomp', messageId: id || 1 };
    case 10:
      return { cmd: 'pingreq' };
    default:
      return rng.chance(0.5)
        ? { cmd: 'disconnect', ...(v5 && { reasonCode: rng.pick([0, 4, 0x80]) }) }
        : { cmd: 'connect', clientId: 'again', protocolVersion: v5 ? 5 : 4 };
  }
}

function mutate(rng: Rng, bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  switch (rng.int(4)) {
    case 0:
      if (b.length > 0) {
        const i = rng.int(b.length);
        b[i] = b[i]! ^ (1 << rng.int(8));
      }
      return b;
    case 1:
      return b.subarray(0, rng.int(b.length + 1));
    case 2: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from(rng.bytes(1 + rng.int(8))), b.subarray(at)]);
    }
    default:
      return Buffer.from(rng.bytes(1 + rng.int(32)));
  }
}

/** One hostile connection; resolves with what the router sent, once the connection is over. */
/** `persistent`: CONNECTs ask for kept sessions at random (and take each other's over). */
function hostile(
  port: number,
  seed: number,
  persistent: boolean,
): Promise<{ received: Buffer; bytesSent: number; v5: boolean }> {
  const rng = new Rng(seed);
  const v5 = rng.chance(0.5);
  const clean = !persistent || rng.chance(0.3);
  const chunks: Buffer[] = [];
  const will = rng.chance(0.2)
    ? { topic: rng.pick(TOPICS) || 'w', payload: payload(rng), qos: 1 as const, retain: false }
    : undefined;
  const connect = generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: v5 ? 5 : 4,
      clean,
      clientId: rng.chance(0.2) && clean ? '' : `fz${seed % 7}`,
      keepalive: rng.int(3),
      ...(v5 && {
        properties: {
          receiveMaximum: 1 + rng.int(3),
          topicAliasMaximum: rng.int(4),
          ...(persistent && { sessionExpiryInterval: rng.int(5) }),
        },
      }),
      ...(will && { will }),
    },
    { protocolVersion: v5 ? 5 : 4 },
  );
  chunks.push(rng.chance(0.1) ? mutate(rng, connect) : connect);
  const n = 5 + rng.int(30);
  for (let i = 0; i < n; i++) {
    let bytes: Buffer;
    try {
      bytes = generate(packet(rng, v5), { protocolVersion: v5 ? 5 : 4 });
    } catch {
      bytes = Buffer.from(rng.bytes(4));
    }
    chunks.push(rng.chance(0.15) ? mutate(rng, bytes) : bytes);
  }
  const [first, ...rest] = chunks;
  const stream = Buffer.concat(rest);
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let sentRest = false;
    const sendRest = (): void => {
      if (sentRest || socket.destroyed) return;
      sentRest = true;
      // Split at random points: the router must reassemble packets across reads.
      let at = 0;
      while (at < stream.length) {
        const len = 1 + rng.int(64);
        socket.write(stream.subarray(at, at + len));
        at += len;
      }
    };
    // CONNECT first, the rest once it is answered (or not, after a while): the hostile packets
    // then meet an established session rather than the handshake only.
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(first!);
      setTimeout(sendRest, 150);
    });
    socket.on('data', (d: Buffer) => {
      received.push(d);
      sendRest();
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => socket.destroy(), 500);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(received), bytesSent: first!.length + stream.length, v5 });
    });
  });
}

for (const persistent of [false, true]) {
  test(`seeded MQTT packet fuzz over real sockets${persistent ? ', persistent sessions' : ''}: no crash, valid replies, others undisturbed${persistent ? '' : ', nothing left behind'}`, async (t) => {
    t.timeout(120_000);
    const w = await startWorld({ maxPacketBytes: 4096, maxSessionExpirySec: persistent ? 3600 : 0 });
    try {
      const witness = await mqtt.connectAsync(`mqtt://127.0.0.1:${w.openPort}`, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        clientId: 'witness',
      });
      const heard: string[] = [];
      witness.on('message', (_topic, p) => heard.push(p.toString()));
      await witness.subscribeAsync('witness/t', { qos: 1 });
      const wamp = await w.wamp();
      const baseline = (await wamp.call('wamp.session.count'))[3] as number[];
      const failures: string[] = [];
      let accepted = 0;
      for (const seed of SEEDS) {
        const { received, v5 } = await hostile(w.openPort, seed + (persistent ? 100_000 : 0), persistent);
        // CONNACK accepted (3.1.1 and 5 alike: type 0x20, then the code in the fourth octet).
        if (received[0] === 0x20 && received[3] === 0) accepted++;
        // Everything the router sent must parse as MQTT of the client's version.
        const p = parser({ protocolVersion: v5 ? 5 : 4 });
        let bad: string | undefined;
        p.on('error', (e: Error) => {
          bad ??= e.message;
        });
        p.parse(received);
        if (bad !== undefined) failures.push(`seed ${seed}: unparsable reply (${bad}): ${hex(received)}`);
        // A topic alias or a will may make a hostile client's publication reach the witness topic;
        // the check is that the witness still gets the marker of this seed.
        wamp.send([16, wamp.requestId(), {}, 'witness.t', [`m${seed}`]]);
        try {
          await until(() => heard.includes(`"m${seed}"`), 3000, `witness marker of seed ${seed}`);
        } catch (e) {
          failures.push(`seed ${seed}: ${(e as Error).message}`);
        }
      }
      t.false(witness.disconnecting || !witness.connected, 'the witness stayed connected');
      // Kept sessions stay, by design; without them every hostile session must be gone.
      if (!persistent) {
        await until(
          async () => {
            const count = (await wamp.call('wamp.session.count'))[3] as number[];
            return count[0] === baseline[0];
          },
          10_000,
          'hostile sessions gone',
        );
      }
      t.deepEqual(failures, []);
      t.true(accepted > SEEDS.length / 2, `most hostile clients got past CONNECT (${accepted} of ${SEEDS.length})`);
      await witness.endAsync();
    } finally {
      await w.stop();
    }
  });
}
