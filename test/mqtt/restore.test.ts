// Kept sessions of users come back at start under their identity, and only while that
// identity may still log in: a user deleted or disabled while the router was down ends them.

import test from 'ava';
import type mqtt from 'mqtt';
import { openDatabase } from '../../src/store/database.ts';
import { createSecurity } from '../../src/security/index.ts';
import { connectMqtt as connect, PASSWORD, startWorld, until, type World } from './helpers.ts';

const alice: mqtt.IClientOptions = {
  protocolVersion: 5,
  clientId: 'alice-dev',
  clean: false,
  username: 'alice',
  password: PASSWORD,
  properties: { sessionExpiryInterval: 3600 },
  reconnectPeriod: 0,
};

/** Bob (publish grant on sensors.) publishes at QoS 1: PUBACK means on disk. */
async function bobPublishes(port: number, n: number): Promise<void> {
  const bob = await connect(port, { protocolVersion: 5, username: 'bob', password: PASSWORD, reconnectPeriod: 0 });
  for (let i = 0; i < n; i++) await bob.client.publishAsync('sensors/t', String(i), { qos: 1 });
  await bob.client.endAsync();
}

/** Alice subscribes at QoS 1 and leaves; the router stops with her session kept. */
async function keepSession(w: World): Promise<void> {
  const first = await connect(w.appPort, alice);
  await first.client.subscribeAsync('sensors/t', { qos: 1 });
  await first.client.endAsync();
  await w.stop(true);
}

function editUsers(dir: string, edit: (store: ReturnType<typeof createSecurity>['store']) => void): void {
  const db = openDatabase(dir);
  try {
    edit(createSecurity(db, {}).store);
  } finally {
    db.close();
  }
}

test.serial(
  "a user's kept session is back after a restart before its client: events meanwhile wait for it",
  async (t) => {
    let w = await startWorld();
    const dir = w.dir;
    try {
      await keepSession(w);
      w = await startWorld({}, dir);
      await bobPublishes(w.appPort, 5);
      const back = await connect(w.appPort, alice);
      t.true(back.sessionPresent);
      await until(() => back.got.length >= 5, 5000, '5 messages');
      t.deepEqual(back.got, ['0', '1', '2', '3', '4']);
      await back.client.endAsync();
    } finally {
      await w.stop();
    }
  },
);

test.serial('a kept session whose user was disabled while the router was down ends at start', async (t) => {
  let w = await startWorld();
  const dir = w.dir;
  try {
    await keepSession(w);
    editUsers(dir, (s) => s.updateUser('com.app', 'alice', { disabled: true }));
    w = await startWorld({}, dir);
    await bobPublishes(w.appPort, 1); // nobody queues it
    await w.stop(true);
    editUsers(dir, (s) => s.updateUser('com.app', 'alice', { disabled: false }));
    w = await startWorld({}, dir);
    const back = await connect(w.appPort, alice);
    t.false(back.sessionPresent);
    t.deepEqual(back.got, []);
    await back.client.endAsync();
  } finally {
    await w.stop();
  }
});
