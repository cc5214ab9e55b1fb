// The uplink (a bridge of type "wamp"): this router as a plain WAMP client of another router,
// tested against a second wampmesh and against fox-wamp (npm, another implementation). Events go
// up through the outbox (kept while the other router is down, all delivered in order when it is
// back), topics come down, and procedures here are registered there as proxies: a call there
// reaches the callee here, and while the uplink is down the procedure is simply not there.

import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/store/database.ts';
import { createSecurity } from '../../src/security/index.ts';
import { fileURLToPath } from 'node:url';
import { RawClient } from '../helpers/raw-client.ts';
import { startChild } from '../bench/common.ts';
import { until } from './mosquitto.ts';
import { publishAck, startWorld, type World } from './world.ts';

const uplink = (url: string, rules: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'hq',
  type: 'wamp',
  url,
  realm: 'realm1',
  retry: { initialMs: 50, maxMs: 200 },
  rules,
  ...extra,
});

/** A TCP relay to `port` whose connections can be cut and refused (the link down) and allowed again. */
async function relay(port: number): Promise<{ port: number; cut(): void; restore(): void; close(): void }> {
  const open = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(port, '127.0.0.1');
    open.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end).pipe(upstream);
    upstream.on('error', end).on('close', end).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      refusing = true;
      for (const s of open) s.destroy();
    },
    restore() {
      refusing = false;
    },
    close() {
      for (const s of open) s.destroy();
      server.close();
    },
  };
}

async function ws(url: string): Promise<RawClient> {
  const c = await RawClient.connect({ transport: 'websocket', url, serializer: 'json' });
  await c.join('realm1');
  return c;
}

async function subscribe(c: RawClient, topic: string, match = 'prefix'): Promise<void> {
  const request = c.requestId();
  c.send([32, request, { match }, topic]);
  await c.next((m) => m[0] === 33 && m[1] === request);
}

/** A callee here answering every call with its arguments. */
async function echoCallee(c: RawClient, procedure: string): Promise<void> {
  await c.register(procedure);
  void (async () => {
    for (;;) {
      const inv = await c.next((m) => m[0] === 68, 60_000).catch(() => undefined);
      if (inv === undefined) return;
      c.send([70, inv[1], {}, inv[4] ?? []]);
    }
  })();
}

async function call(c: RawClient, procedure: string, args: unknown[]): Promise<unknown[]> {
  return c.call(procedure, args, {}, 10_000);
}

for (const transport of ['websocket', 'rawsocket'] as const)
  test.serial(
    `to a second wampmesh over ${transport}: up while it is down and back (all N in order), down, and calls to a procedure here`,
    async (t) => {
      const hq: World = await startWorld([], { websocketPort: 0 });
      const link = await relay(transport === 'websocket' ? Number(new URL(hq.wsUrl).port) : hq.rawPort);
      const edge = await startWorld([
        uplink(transport === 'websocket' ? `ws://127.0.0.1:${link.port}/ws` : `rs://127.0.0.1:${link.port}`, [
          { direction: 'out', wamp: 'tele.', match: 'prefix' },
          { direction: 'in', wamp: 'cmd.', match: 'prefix' },
          { direction: 'procedure', wamp: 'edge7.echo' },
        ]),
      ]);
      t.teardown(async () => {
        await edge.stop();
        await hq.stop();
        link.close();
      });
      await until(() => edge.status('hq').state === 'up', 10_000, 'uplink up');
      const local = await edge.wamp();
      await echoCallee(local, 'edge7.echo');

      // Up.
      const up = await ws(hq.wsUrl);
      await subscribe(up, 'tele.');
      await publishAck(local, 'tele.temp', [21.5]);
      const ev = await up.next((m) => m[0] === 36, 5000);
      t.deepEqual(ev[4], [21.5]);
      t.is((ev[3] as { topic: string }).topic, 'tele.temp');

      // Down.
      const localSub = await edge.wamp();
      await subscribe(localSub, 'cmd.');
      await publishAck(up, 'cmd.valve', ['open']);
      const down = await localSub.next((m) => m[0] === 36, 5000);
      t.deepEqual(down[4], ['open']);

      // A procedure here, called there.
      await until(async () => (await call(up, 'edge7.echo', [1]))[0] === 50, 5000, 'the proxy registered there');
      t.deepEqual((await call(up, 'edge7.echo', ['ping']))[3], ['ping']);

      // The link goes down: events wait on disk, acknowledged; the procedure is gone there.
      await subscribe(up, 'tele.seq', 'exact');
      up.inbox.splice(0);
      link.cut();
      await until(() => edge.status('hq').state !== 'up', 5000, 'uplink down');
      await until(
        async () => (await call(up, 'edge7.echo', [1]))[4] === 'wamp.error.no_such_procedure',
        5000,
        'registration gone',
      );
      const N = 50;
      for (let i = 0; i < N; i++) t.is((await publishAck(local, 'tele.seq', [i]))[0], 17);
      t.is(edge.status('hq').queue.depth, N);
      link.restore();
      const got: unknown[] = [];
      await until(
        () => {
          for (const m of up.inbox.splice(0))
            if (m[0] === 36 && (m[3] as { topic?: string }).topic === undefined) got.push((m[4] as unknown[])[0]);
          return got.length >= N;
        },
        15_000,
        'all N after the return',
      );
      t.deepEqual(
        got,
        Array.from({ length: N }, (_, i) => i),
      );
      await until(async () => (await call(up, 'edge7.echo', [2]))[0] === 50, 5000, 'the proxy registered again');
      // A procedure whose callee here is gone: the caller there gets the error from here.
      local.destroy();
      await until(
        async () => (await call(up, 'edge7.echo', [3]))[4] === 'wamp.error.no_such_procedure',
        5000,
        'no callee here',
      );
      t.is(edge.status('hq').queue.depth, 0);
      up.destroy();
    },
  );

test.serial('to fox-wamp (npm, another WAMP router): events up and down, a procedure here called there', async (t) => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fox = await startChild(path.join(here, '../bench/fox.ts'), [], 60_000);
  const foxUrl = `ws://127.0.0.1:${fox.hello.fox as number}/`;
  const edge = await startWorld([
    uplink(foxUrl, [
      { direction: 'out', wamp: 'tele.', match: 'prefix' },
      { direction: 'in', wamp: 'cmd.valve' },
      { direction: 'procedure', wamp: 'edge7.echo' },
    ]),
  ]);
  t.teardown(async () => {
    await edge.stop();
    fox.stop();
  });
  await until(() => edge.status('hq').state === 'up', 10_000, 'uplink up');
  const local = await edge.wamp();
  await echoCallee(local, 'edge7.echo');
  const localSub = await edge.wamp();
  await subscribe(localSub, 'cmd.valve', 'exact');
  const remote = await ws(foxUrl);
  // fox-wamp matches prefixes its own way: an exact subscription there.
  await subscribe(remote, 'tele.temp', 'exact');
  for (let i = 0; i < 5; i++) t.is((await publishAck(local, 'tele.temp', [i]))[0], 17);
  const ups: unknown[] = [];
  await until(
    () => {
      for (const m of remote.inbox.splice(0)) if (m[0] === 36) ups.push((m[4] as unknown[])[0]);
      return ups.length >= 5;
    },
    5000,
    'events at fox-wamp',
  );
  t.deepEqual(ups, [0, 1, 2, 3, 4]);
  const request = remote.requestId();
  remote.send([16, request, { acknowledge: true }, 'cmd.valve', ['close']]);
  const down = await localSub.next((m) => m[0] === 36, 5000);
  t.deepEqual(down[4], ['close']);
  await until(async () => (await call(remote, 'edge7.echo', [1]))[0] === 50, 5000, 'registered at fox-wamp');
  t.deepEqual((await call(remote, 'edge7.echo', ['via fox']))[3], ['via fox']);
  t.is(edge.status('hq').counters.callsIn >= 2, true);
  remote.destroy();
});

for (const method of ['ticket', 'wampcra', 'cryptosign'] as const) {
  test.serial(`logs in to the other router with ${method}; that router's grants apply to what goes up`, async (t) => {
    const seed = crypto.randomBytes(32);
    const key = crypto.createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const pubkey = Buffer.from(crypto.createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const hq = await startWorld([], {
      websocketPort: 0,
      setUp(dir) {
        const db = openDatabase(dir);
        const store = createSecurity(db, {}).store;
        store.createRealm({ uri: 'com.hq', authmethods: ['anonymous', 'ticket', 'wampcra', 'cryptosign'] });
        store.createUser('com.hq', { authid: 'edge7', password: 'edge seven secret', pubkeys: [pubkey] });
        store.createGrant('com.hq', { permissions: ['publish'], uri: 'tele.', match: 'prefix', to: ['user:edge7'] });
        store.createGrant('com.hq', { permissions: ['subscribe'], uri: 'tele.', match: 'prefix', to: ['anonymous'] });
        db.close();
      },
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-uplink-'));
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, method === 'cryptosign' ? `${seed.toString('hex')}\n` : 'edge seven secret\n');
    const field = { ticket: 'ticketFile', wampcra: 'wampcraSecretFile', cryptosign: 'cryptosignKeyFile' }[method];
    const edge = await startWorld([
      uplink(hq.wsUrl, [{ direction: 'out', wamp: 'tele', match: 'prefix' }], {
        remoteRealm: 'com.hq',
        remote: { authid: 'edge7', [field]: file },
      }),
    ]);
    t.teardown(async () => {
      await edge.stop();
      await hq.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await until(() => edge.status('hq').state === 'up', 10_000, `logged in with ${method}`);
    const watcher = await RawClient.connect({ transport: 'websocket', url: hq.wsUrl, serializer: 'json' });
    await watcher.join('com.hq');
    await subscribe(watcher, 'tele.');
    const local = await edge.wamp();
    await publishAck(local, 'tele.ok', ['up']);
    t.deepEqual((await watcher.next((m) => m[0] === 36, 5000))[4], ['up']);
    // Outside the grant there: refused for good, a dead letter, not retried forever.
    await publishAck(local, 'telex.secret', ['not for hq']);
    await until(() => edge.status('hq').queue.deadLetters === 1, 5000, 'a dead letter');
    t.regex(edge.status('hq').lastError ?? '', /not_authorized/);
    t.is(edge.status('hq').queue.depth, 0);
    watcher.destroy();
  });
}
