// The MQTT bridge against a real Debian mosquitto: events out in order, queued on disk while the
// broker is down (acknowledged all the same) and all delivered in order once it is back; MQTT
// messages in, published as the bridge's session and never sent back out; grants apply to it.

import test from 'ava';
import mqtt from 'mqtt';
import { Mosquitto, subscriber, until } from './mosquitto.ts';
import { publishAck, startWorld } from './world.ts';
import { openDatabase } from '../../src/store/database.ts';
import { createSecurity } from '../../src/security/index.ts';
import fs from 'node:fs';
import path from 'node:path';

const outBridge = (url: string, extra: Record<string, unknown> = {}) => ({
  name: 'cloud',
  type: 'mqtt',
  url,
  realm: 'realm1',
  retry: { initialMs: 50, maxMs: 200 },
  rules: [{ direction: 'out', wamp: 'tele.', match: 'prefix', mqtt: 'site7/tele/', qos: 1 }],
  ...extra,
});

test.serial(
  'out: while the broker is down events are acknowledged from disk; all N arrive in order when it returns',
  async (t) => {
    const broker = await Mosquitto.start();
    const w = await startWorld([outBridge(broker.url)]);
    t.teardown(async () => {
      await w.stop();
      await broker.stop();
    });
    const sub = await subscriber(broker, 'site7/tele/#');
    // It reconnects on its own: left open after a failure, it would keep the test process alive.
    t.teardown(() => void sub.client.end(true));
    const pub = await w.wamp();
    await until(() => w.status('cloud').state === 'up', 5000, 'bridge up');
    t.is((await publishAck(pub, 'tele.a.b', ['first']))[0], 17);
    await until(() => sub.got.length === 1, 5000, 'first message');
    t.deepEqual(sub.topics, ['site7/tele/a/b']);
    t.is(sub.got[0], '"first"');

    await broker.pause();
    await until(() => w.status('cloud').state === 'down', 5000, 'bridge down');
    const N = 300;
    for (let i = 0; i < N; i++) {
      const reply = await publishAck(pub, 'tele.seq', [i]);
      t.is(reply[0], 17, 'PUBLISHED while the broker is down: the event is on disk');
    }
    const queued = w.status('cloud');
    t.is(queued.queue.depth, N);
    t.true(queued.lastError !== null);
    await broker.resume();
    await until(() => sub.got.length >= N + 1 && w.status('cloud').queue.depth === 0, 20_000, 'drain');
    t.deepEqual(
      sub.got.slice(1),
      Array.from({ length: N }, (_, i) => String(i)),
      'all N, in order, once each',
    );
    const s = w.status('cloud');
    t.is(s.state, 'up');
    t.is(s.counters.queued, N + 1);
    t.true(s.counters.retries >= 1 || s.counters.sent === N + 1);
    await sub.client.endAsync();
  },
);

test.serial(
  "in: MQTT messages become WAMP events of the bridge's session; its own are not sent back out",
  async (t) => {
    const broker = await Mosquitto.start();
    const w = await startWorld([
      {
        ...outBridge(broker.url),
        // Overlapping on purpose: what comes in under cmd. would go out again without loop prevention.
        rules: [
          { direction: 'in', mqtt: 'site7/cmd/#', wamp: 'cmd.', qos: 1 },
          { direction: 'out', wamp: 'cmd.', match: 'prefix', mqtt: 'site7/cmd/', qos: 1 },
        ],
      },
    ]);
    t.teardown(async () => {
      await w.stop();
      await broker.stop();
    });
    const wampSub = await w.wamp();
    const request = wampSub.requestId();
    wampSub.send([32, request, { match: 'prefix' }, 'cmd.']);
    await wampSub.next((m) => m[0] === 33 && m[1] === request);
    await until(() => w.status('cloud').state === 'up', 5000, 'bridge up');
    const watcher = await subscriber(broker, 'site7/cmd/#', 'watcher');
    t.teardown(() => void watcher.client.end(true));
    const device = mqtt.connect(broker.url, { reconnectPeriod: 0 });
    await new Promise((r) => device.once('connect', r));
    await device.publishAsync('site7/cmd/valve/open', JSON.stringify({ pct: 40 }), { qos: 1 });
    const event = await wampSub.next((m) => m[0] === 36, 5000);
    t.deepEqual(event[4], [{ pct: 40 }]);
    t.is((event[3] as { topic: string }).topic, 'cmd.valve.open');
    await until(() => w.status('cloud').counters.inPublished === 1, 5000, 'counted');
    // A WAMP client's own publication under cmd. does go out...
    const pub = await w.wamp();
    await publishAck(pub, 'cmd.pump.stop', ['now']);
    await until(() => watcher.got.length >= 2, 5000, 'the watcher sees the device and the WAMP client');
    // ...and the bridged one was never queued: only the WAMP client's event went through the outbox.
    t.is(w.status('cloud').counters.queued, 1);
    t.deepEqual(watcher.topics, ['site7/cmd/valve/open', 'site7/cmd/pump/stop']);
    await device.endAsync();
    await watcher.client.endAsync();
  },
);

test.serial("in: the bridge's user needs a publish grant; refusals are counted with the error", async (t) => {
  const broker = await Mosquitto.start();
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'wampmesh-bridge-'));
  const ticketFile = path.join(dir, 'bridge.ticket');
  fs.writeFileSync(ticketFile, 'bridge secret ticket\n');
  const w = await startWorld(
    [
      {
        ...outBridge(broker.url),
        realm: 'com.app',
        as: { authid: 'bridge', ticketFile },
        rules: [{ direction: 'in', mqtt: 'site7/#', wamp: 'site.', qos: 1 }],
      },
    ],
    {
      dir,
      setUp(d) {
        const db = openDatabase(d);
        const store = createSecurity(db, {}).store;
        store.createRealm({ uri: 'com.app', authmethods: ['ticket'] });
        store.createUser('com.app', { authid: 'bridge', password: 'bridge secret ticket' });
        store.createGrant('com.app', {
          permissions: ['publish'],
          uri: 'site.ok.',
          match: 'prefix',
          to: ['user:bridge'],
        });
        db.close();
      },
    },
  );
  t.teardown(async () => {
    await w.stop();
    await broker.stop();
  });
  await until(() => w.status('cloud').state === 'up', 5000, 'bridge up (its session logged in with its ticket)');
  const device = mqtt.connect(broker.url, { reconnectPeriod: 0 });
  await new Promise((r) => device.once('connect', r));
  await device.publishAsync('site7/ok/x', '1', { qos: 1 });
  await device.publishAsync('site7/secret/x', '2', { qos: 1 });
  await until(() => w.status('cloud').counters.inReceived === 2, 5000, 'both received');
  await until(() => w.status('cloud').counters.inRefused === 1, 5000, 'one refused');
  const s = w.status('cloud');
  t.is(s.counters.inPublished, 1);
  t.regex(s.lastError ?? '', /site\.secret\.x.*not_authorized/);
  await device.endAsync();
});
