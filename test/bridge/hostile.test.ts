// Bad configuration and bad remote input: every mistake in a bridge's config is refused with
// the field named; a fake broker speaking malformed MQTT, or nothing at all, is an error the
// bridge reports and retries, while the router keeps serving and keeps the events.

import test from 'ava';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { until } from './mosquitto.ts';
import { publishAck, startWorld } from './world.ts';

const good = {
  name: 'cloud',
  type: 'mqtt',
  url: 'mqtt://127.0.0.1:1883',
  realm: 'realm1',
  rules: [{ direction: 'out', wamp: 'tele.', match: 'prefix', mqtt: 'site/', qos: 1 }],
};

function problems(bridges: unknown[]): string[] {
  try {
    parseConfig({ realms: [{ uri: 'realm1', anonymous: true }], bridges }, 'cfg.json');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.field}: ${i.problem}`);
    throw e;
  }
  return [];
}

test('bad bridge configs are refused with the field at fault', (t) => {
  t.deepEqual(problems([good]), []);
  const cases: [unknown, RegExp][] = [
    [{ ...good, type: 'kafka' }, /^bridges\[0\]\.type: expected type "mqtt", "webhook" or "wamp"/],
    [{ ...good, url: 'http://x' }, /^bridges\[0\]\.url: expected mqtt:\/\//],
    [{ ...good, name: 'a b' }, /^bridges\[0\]\.name: /],
    [{ ...good, rules: [] }, /^bridges\[0\]\.rules: expected at least one rule/],
    [{ ...good, rules: [{ direction: 'sideways', wamp: 'a' }] }, /^bridges\[0\]\.rules\[0\]\.direction: /],
    [
      { ...good, rules: [{ direction: 'out', wamp: 'a', qos: 3 }] },
      /^bridges\[0\]\.rules\[0\]\.qos: expected 0, 1 or 2/,
    ],
    [{ ...good, rules: [{ direction: 'in', mqtt: 'a/#/b', wamp: 'a.' }] }, /^bridges\[0\]\.rules\[0\]\.mqtt: /],
    [{ ...good, rules: [{ direction: 'out', wamp: 'a', mqtt: 'x/+/y' }] }, /^bridges\[0\]\.rules\[0\]\.mqtt: /],
    [{ ...good, queue: { inflight: 0 } }, /^bridges\[0\]\.queue\.inflight: expected integer 1\.\.1000/],
    [{ ...good, queue: { onFull: 'block' } }, /^bridges\[0\]\.queue\.onFull: /],
    [{ ...good, retry: { initialMs: 1000, maxMs: 100 } }, /^bridges\[0\]\.retry\.maxMs: must be at least initialMs/],
    [{ ...good, passwordFile: '/x' }, /^bridges\[0\]\.username: passwordFile needs username/],
    [{ ...good, colour: 'red' }, /^bridges\[0\]\.colour: unknown field/],
    [
      { ...good, type: 'webhook', url: 'https://x/h', rules: [{ wamp: 'a', mqtt: 'b' }] },
      /^bridges\[0\]\.rules\[0\]\.mqtt: unknown field/,
    ],
  ];
  for (const [bridge, expected] of cases) {
    const got = problems([bridge]);
    t.true(
      got.some((p) => expected.test(p)),
      `${JSON.stringify(bridge)}: ${got.join('; ')}`,
    );
  }
  t.true(problems([good, good]).some((p) => /^bridges\[1\]\.name: duplicate bridge "cloud"/.test(p)));
});

test('a bridge to a realm the router does not serve, or with an unreadable secret, stops the start with a clear error', async (t) => {
  const e1 = await t.throwsAsync(startWorld([{ ...good, realm: 'nowhere' }]));
  t.regex(e1.message, /bridge cloud: realm 'nowhere' is not served by this router/);
  const e2 = await t.throwsAsync(
    startWorld([
      {
        ...good,
        type: 'webhook',
        url: 'http://127.0.0.1:1/',
        hmacSecretFile: '/nonexistent/secret',
        rules: [{ wamp: 'a' }],
      },
    ]),
  );
  t.regex(e2.message, /^bridges\[0\]\.hmacSecretFile: cannot read \/nonexistent\/secret: ENOENT$/);
});

/** A TCP server that answers each MQTT connection with `reply` once the client has spoken. */
async function fakeBroker(
  reply: Buffer | undefined,
): Promise<{ port: number; connections: () => number; close(): void }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    s.once('data', () => {
      if (reply !== undefined) s.write(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => n, close: () => server.close() };
}

for (const [what, reply, error] of [
  // A CONNACK, then a PUBLISH whose remaining length runs past the maximum varint.
  [
    'malformed packets',
    Buffer.from([0x20, 0x02, 0x00, 0x00, 0x30, 0xff, 0xff, 0xff, 0xff, 0xff]),
    /MQTT broker .*: Invalid variable byte integer/,
  ],
  ['garbage instead of CONNACK', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), /MQTT broker .*: Invalid header/],
  ['silence (no CONNACK)', undefined, /MQTT broker .*: connack timeout/],
] as const) {
  test.serial(`a fake broker sending ${what}: reported, retried, events kept, the router serves on`, async (t) => {
    const broker = await fakeBroker(reply);
    const w = await startWorld([
      {
        ...good,
        protocolVersion: 4,
        url: `mqtt://127.0.0.1:${broker.port}`,
        connectTimeoutMs: 300,
        retry: { initialMs: 20, maxMs: 100 },
      },
    ]);
    t.teardown(async () => {
      await w.stop();
      broker.close();
    });
    const pub = await w.wamp();
    t.is((await publishAck(pub, 'tele.x', [1]))[0], 17);
    await until(() => broker.connections() >= 3, 10_000, 'reconnect attempts');
    const s = w.status('cloud');
    t.not(s.state, 'up');
    t.regex(s.lastError ?? '', error);
    t.is(s.queue.depth, 1, 'the event waits in the outbox');
    const other = await w.wamp();
    t.is((await publishAck(other, 'elsewhere', [2]))[0], 17);
  });
}

test.serial(
  'a broker that takes events and never confirms them: the link is failed after confirmTimeoutMs and the events sent again',
  async (t) => {
    // MQTT 5: CONNACK and PINGRESP, never a PUBACK.
    const publishes: number[] = [];
    let connections = 0;
    const server = net.createServer((socket) => {
      const connection = ++connections;
      socket.on('error', () => {});
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      const send = (p: object) => socket.write(mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: 5 }));
      parser.on('packet', (p) => {
        if (p.cmd === 'connect') send({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
        else if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
        else if (p.cmd === 'publish') publishes.push(connection);
      });
      socket.on('data', (d) => parser.parse(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const w = await startWorld([
      {
        ...good,
        url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        queue: { confirmTimeoutMs: 300 },
        retry: { initialMs: 20, maxMs: 100 },
      },
    ]);
    t.teardown(async () => {
      await w.stop();
      server.close();
    });
    const pub = await w.wamp();
    t.is((await publishAck(pub, 'tele.x', [1]))[0], 17);
    await until(() => new Set(publishes).size >= 3, 10_000, 'the event sent again on new connections');
    const s = w.status('cloud');
    t.regex(s.lastError ?? '', /no confirmation of event \d+ within 300 ms/);
    t.is(s.queue.depth, 1, 'the event stays in the outbox until confirmed');
    t.true(s.counters.retries >= 2);
  },
);

test('a full outbox with onFull "reject" refuses acknowledged publications with an error; other topics go on', async (t) => {
  const w = await startWorld([{ ...good, url: 'mqtt://127.0.0.1:1', queue: { maxMessages: 2, onFull: 'reject' } }]);
  t.teardown(() => w.stop());
  const pub = await w.wamp();
  t.is((await publishAck(pub, 'tele.a', [1]))[0], 17);
  t.is((await publishAck(pub, 'tele.a', [2]))[0], 17);
  const refused = await publishAck(pub, 'tele.a', [3]);
  t.deepEqual(refused.slice(0, 2), [8, 16]);
  t.is(refused[4], 'wampmesh.error.bridge_queue_full');
  t.is(w.status('cloud').counters.dropped.full, 1);
  // Unmatched topics are not held by the full bridge.
  t.is((await publishAck(pub, 'other', [4]))[0], 17);
});

test("a bridge's secret and certificate files are relative to the config file's folder", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-bridgecfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      bridges: [
        {
          ...good,
          url: 'mqtts://127.0.0.1:8883', // tls only with an encrypted url
          username: 'u',
          passwordFile: 'pw',
          tls: { ca: 'certs/ca.pem' },
          as: { authid: 'b', ticketFile: '/abs/ticket' },
        },
        { ...good, name: 'hook', type: 'webhook', url: 'http://x/', hmacSecretFile: 's', rules: [{ wamp: 'a' }] },
      ],
    }),
  );
  const [mqttBridge, hook] = loadConfig(file).bridges;
  t.like(mqttBridge, {
    passwordFile: path.join(dir, 'pw'),
    tls: { ca: path.join(dir, 'certs/ca.pem') },
    as: { ticketFile: '/abs/ticket' },
  });
  t.like(hook, { hmacSecretFile: path.join(dir, 's') });
});

/**
 * A RawSocket server that accepts the handshake, then answers the HELLO with `reply`, and with
 * `once` nothing after it (a router that takes PUBLISHes and never answers them).
 */
async function fakeRouter(
  reply: Buffer,
  once = false,
): Promise<{ port: number; connections: () => number; close(): void }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    let greeted = false;
    let answered = false;
    s.on('data', () => {
      if (!greeted) {
        greeted = true;
        s.write(Buffer.from([0x7f, 0xf1, 0, 0]));
        return;
      }
      if (once && answered) return;
      answered = true;
      const frame = Buffer.alloc(4 + reply.length);
      frame.writeUInt32BE(reply.length, 0);
      reply.copy(frame, 4);
      s.write(frame);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => n, close: () => server.close() };
}

for (const [what, reply, error, once] of [
  ['text that is not JSON', Buffer.from('{"not json'), /undecodable message/, false],
  ['JSON that is no WAMP message', Buffer.from('[999, "x"]'), /protocol violation/, false],
  ['a WELCOME without a session id', Buffer.from('[2, "x", {}]'), /protocol violation/, false],
  ['a WELCOME and then no PUBLISHED', Buffer.from('[2, 7, {"roles": {"broker": {}}}]'), /no confirmation/, true],
] as const) {
  test.serial(
    `an uplink to a fake router sending ${what}: reported, retried, events kept, the router serves on`,
    async (t) => {
      const remote = await fakeRouter(reply, once);
      const w = await startWorld([
        {
          name: 'hq',
          type: 'wamp',
          url: `rs://127.0.0.1:${remote.port}`,
          realm: 'realm1',
          queue: { confirmTimeoutMs: 300 },
          retry: { initialMs: 20, maxMs: 100 },
          rules: [{ direction: 'out', wamp: 'tele.', match: 'prefix' }],
        },
      ]);
      t.teardown(async () => {
        await w.stop();
        remote.close();
      });
      const pub = await w.wamp();
      t.is((await publishAck(pub, 'tele.x', [1]))[0], 17);
      await until(() => remote.connections() >= 3, 10_000, 'reconnect attempts');
      const s = w.status('hq');
      // The silent one answers each new connection's HELLO: up again until the next deadline.
      if (!once) t.not(s.state, 'up');
      t.regex(s.lastError ?? '', error);
      t.is(s.queue.depth, 1);
      t.is((await publishAck(await w.wamp(), 'elsewhere', [2]))[0], 17);
    },
  );
}

test.serial('events of a bridge renamed in the config stay in the outbox and are reported at each start', async (t) => {
  const first = await startWorld([{ ...good, name: 'up', url: 'mqtt://127.0.0.1:1', retry: { initialMs: 10_000 } }]);
  const pub = await first.wamp();
  for (let i = 0; i < 3; i++) t.is((await publishAck(pub, 'tele.x', [i]))[0], 17);
  await first.stop(true);
  t.teardown(() => fs.rmSync(first.dir, { recursive: true, force: true }));
  for (const bridges of [[{ ...good, name: 'renamed', url: 'mqtt://127.0.0.1:1' }], []]) {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (l) => void lines.push(l) } });
    const w = await startWorld(bridges, { dir: first.dir, logger });
    await w.stop(true);
    const reported = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.bridge === 'up');
    t.is(reported.length, 1, `${bridges.length} bridges configured: ${lines.join('')}`);
    t.like(reported[0], { level: 'warn', events: 3, deadLetters: 0 });
  }
});
