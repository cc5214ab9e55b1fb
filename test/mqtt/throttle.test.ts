// MQTT logins share the per-address throttle of every other authentication: after a burst of
// wrong passwords from one address, even the right one is refused there for a while.

import test from 'ava';
import mqtt from 'mqtt';
import { PASSWORD, startWorld } from './helpers.ts';

async function attempt(port: number, password: string): Promise<number> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 4,
    username: 'alice',
    password,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  } finally {
    c.end(true);
  }
}

test('wrong passwords over MQTT are throttled per address like any failed authentication', async (t) => {
  const w = await startWorld();
  try {
    t.is(await attempt(w.appPort, PASSWORD), 0, 'the right password works at first');
    const started = Date.now();
    const wrong = await Promise.all(Array.from({ length: 10 }, () => attempt(w.appPort, 'wrong')));
    t.deepEqual(wrong, Array(10).fill(4));
    t.true(Date.now() - started >= 900, 'failures are answered late');
    t.is(await attempt(w.appPort, PASSWORD), 4, 'the burst is spent: refused even with the right password');
  } finally {
    await w.stop();
  }
});
