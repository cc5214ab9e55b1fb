// MQTT <-> WAMP with a WAMP peer this project did not write: Autobahn|JS (npm autobahn, over
// RawSocket/JSON) against the router, mosquitto_pub / mosquitto_sub (Debian mosquitto-clients)
// on the MQTT side, each QoS level in each direction, MQTT 3.1.1 and 5.

import test from 'ava';
import { openSession, type OpenSession } from '../interop/support/autobahn-js.ts';
import { run, startWorld, until, type World } from './helpers.ts';

let w: World;
let ab: OpenSession;

test.before(async () => {
  w = await startWorld();
  ab = await openSession({ type: 'rawsocket', host: '127.0.0.1', port: w.rawPort }, 'autobahn', 'open');
});

test.after.always(async () => {
  await ab?.close();
  await w?.stop();
});

/** Waits until the router has a subscription on `topic` (Autobahn calls the meta API). */
async function subscribedTo(topic: string): Promise<void> {
  await until(
    async () => {
      const r = (await ab.session.call('wamp.subscription.lookup', [topic])) as unknown;
      return typeof r === 'number';
    },
    5000,
    `subscription on '${topic}'`,
  );
}

const cases = [
  { qos: 0, version: 'mqttv311' },
  { qos: 1, version: 'mqttv5' },
  { qos: 2, version: 'mqttv311' },
] as const;

for (const { qos, version } of cases) {
  test.serial(`mosquitto_pub ${version} QoS ${qos} -> Autobahn|JS subscriber: JSON as args[0]`, async (t) => {
    const got: unknown[][] = [];
    const topic = `ab.in.q${qos}`;
    const sub = await ab.session.subscribe(topic, (args) => got.push(args));
    try {
      const pub = await run('mosquitto_pub', [
        ...['-p', String(w.openPort), '-V', version, '-q', String(qos)],
        ...['-t', topic.replaceAll('.', '/'), '-m', '{"temperature":21.5}'],
      ]);
      t.is(pub.code, 0, pub.stderr);
      await until(() => got.length === 1, 5000, 'the event');
      t.deepEqual(got[0], [{ temperature: 21.5 }]);
    } finally {
      await ab.session.unsubscribe(sub);
    }
  });
}

for (const { qos, version } of cases.map((c) => ({ ...c, version: c.version === 'mqttv5' ? 'mqttv311' : 'mqttv5' }))) {
  test.serial(`Autobahn|JS publisher -> mosquitto_sub ${version} QoS ${qos}: args[0] out as JSON`, async (t) => {
    const topic = `ab.out.q${qos}`;
    const sub = run('mosquitto_sub', [
      ...['-p', String(w.openPort), '-V', version, '-q', String(qos)],
      ...['-t', topic.replaceAll('.', '/'), '-C', '1', '-W', '10'],
    ]);
    await subscribedTo(topic);
    await ab.session.publish(topic, [{ level: qos, on: true }], {}, { acknowledge: true });
    const out = await sub;
    t.is(out.code, 0, out.stderr);
    t.deepEqual(JSON.parse(out.stdout), { level: qos, on: true });
  });
}
