// Client certificates on TLS MQTT listeners (authmethod tls), against the real router wiring
// (startServer) and real clients: mosquitto_pub/mosquitto_sub (-V mqttv5 and mqttv311), the
// npm mqtt client, and Autobahn|Python over RawSocket-TLS for WAMP, with a CA and client
// certificates openssl makes at test time. The
// certificate's CN is the realm's user: its grants apply; an unknown or disabled user is refused
// with the right CONNACK code and throttled; a certificate of another CA, or none where one is
// required, is refused during the TLS handshake.

import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import { parseConfig } from '../../src/config/config.ts';
import { loadListenerTls } from '../../src/cli/tls-listeners.ts';
import { startServer, type Server } from '../../src/cli/serve.ts';
import { silentLogger } from '../../src/log.ts';
import { createSecurity } from '../../src/security/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { certificateAuthority, type Issued } from '../helpers/client-ca.ts';
import { selfSigned } from '../helpers/self-signed.ts';
import { PASSWORD, run } from './helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-cert-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const server = selfSigned(dir, 'router');
const devices = certificateAuthority(dir, 'devices');
const stranger = certificateAuthority(dir, 'stranger');
const alice = devices.issue('alice', '/O=Sensors/CN=alice');
const bob = devices.issue('bob', '/CN=bob');
const carol = devices.issue('carol', '/CN=carol'); // disabled
const dave = devices.issue('dave', '/CN=dave'); // revoked during a test
const mallory = devices.issue('mallory', '/CN=mallory'); // no such user
const twoNames = devices.issue('two-names', '/CN=alice/CN=bob');
const forged = stranger.issue('alice', '/CN=alice'); // right name, wrong CA

/** A data folder with realm "com.app" (tls and ticket) and "com.pw" (ticket only). */
function dataDir(name: string): string {
  const data = path.join(dir, name);
  const db = openDatabase(data);
  const store = createSecurity(db, {}).store;
  store.createRealm({ uri: 'com.app', authmethods: ['tls', 'ticket'] });
  store.createRealm({ uri: 'com.pw', authmethods: ['ticket'] });
  for (const realm of ['com.app', 'com.pw']) {
    for (const authid of ['alice', 'bob', 'dave']) store.createUser(realm, { authid, password: PASSWORD });
    store.createGrant(realm, {
      permissions: ['publish', 'subscribe'],
      uri: 'sensors.',
      match: 'prefix',
      to: ['user:alice'],
    });
    store.createGrant(realm, {
      permissions: ['publish'],
      uri: 'sensors.',
      match: 'prefix',
      to: ['user:bob', 'user:dave'],
    });
  }
  store.createUser('com.app', { authid: 'carol', password: PASSWORD, disabled: true });
  db.close();
  return data;
}

const serverTls = { cert: server.cert, key: server.key };
const required = { ...serverTls, clientCa: devices.cert, clientCrl: devices.crl };
const optional = { ...serverTls, clientCa: devices.cert, clientCertificate: 'optional' };

interface Router {
  server: Server;
  /** MQTT ports: "com.app" requiring a certificate, "com.app" and "com.pw" taking one optionally. */
  required: number;
  optional: number;
  passwordOnly: number;
  rawsocket: number;
}

async function startRouter(data: string): Promise<Router> {
  const mq = (realm: string, t: object) => ({ host: '127.0.0.1', port: 0, realm, tls: t });
  const config = parseConfig(
    {
      dataDir: data,
      listeners: {
        mqtt: [mq('com.app', required), mq('com.app', optional), mq('com.pw', optional)],
        rawsocket: [{ host: '127.0.0.1', port: 0, tls: optional }],
      },
    },
    'test',
  );
  const s = await startServer(config, silentLogger);
  const ports = s.listeners.filter((l) => l.transport === 'mqtt').map((l) => l.port);
  const raw = s.listeners.find((l) => l.transport === 'rawsocket')!;
  return { server: s, required: ports[0]!, optional: ports[1]!, passwordOnly: ports[2]!, rawsocket: raw.port };
}

let router: Router;
test.before(async () => {
  router = await startRouter(dataDir('data'));
});
test.after.always(async () => {
  await router?.server.stop();
});

type Version = 'mqttv5' | 'mqttv311';

function tlsArgs(port: number, version: Version, client?: Issued): string[] {
  return [
    ...['-h', '127.0.0.1', '-p', String(port), '--cafile', server.cert, '-V', version, '-d'],
    ...(client === undefined ? [] : ['--cert', client.cert, '--key', client.key]),
  ];
}

/** The CONNACK code mosquitto_pub -d reports ("received CONNACK (134)"), or undefined when it got none. */
async function connack(
  port: number,
  version: Version,
  client?: Issued,
  extra: string[] = [],
): Promise<number | undefined> {
  const r = await run('mosquitto_pub', [...tlsArgs(port, version, client), '-t', 'sensors/x', '-m', 'm', ...extra]);
  const m = /received CONNACK \((\d+)\)/.exec(r.stdout);
  return m === null ? undefined : Number(m[1]);
}

/** The npm mqtt client over mqtts; resolves with the connected client or the refusal code. */
async function npmClient(
  port: number,
  client: Issued | undefined,
  options: mqtt.IClientOptions = {},
): Promise<{ client: mqtt.MqttClient } | { code: number | string }> {
  const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    ca: fs.readFileSync(server.cert),
    ...(client !== undefined && { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) }),
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(Object.assign(new Error('closed'), { code: 'closed' })));
    });
    return { client: c };
  } catch (err) {
    c.end(true);
    return { code: (err as { code?: number | string }).code ?? 'unknown' };
  }
}

test.serial('the listening line shows which listeners ask for client certificates', (t) => {
  const modes = router.server.listeners
    .filter((l) => l.transport === 'mqtt')
    .map((l) => (l as { tls?: { clientCertificate?: string } }).tls?.clientCertificate);
  t.deepEqual(modes, ['required', 'optional', 'optional']);
});

/** Runs `mosquitto_sub -C 1` and publishes with `publish` until it gets one message. */
async function delivered(
  subArgs: string[],
  publish: () => Promise<unknown>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const sub = run('mosquitto_sub', [...subArgs, '-C', '1', '-W', '15'], 20_000);
  let exited = false;
  void sub.then(() => (exited = true));
  const deadline = Date.now() + 12_000;
  while (!exited && Date.now() < deadline) {
    await publish();
    await new Promise((r) => setTimeout(r, 100));
  }
  return sub;
}

for (const version of ['mqttv5', 'mqttv311'] as const) {
  test.serial(`${version}: a certificate logs its CN in, with that user's grants (mosquitto)`, async (t) => {
    // alice may publish and subscribe under sensors.; bob may only publish there.
    const got = await delivered(['-v', ...tlsArgs(router.required, version, alice), '-t', 'sensors/temp'], () =>
      run('mosquitto_pub', [...tlsArgs(router.required, version, bob), '-t', 'sensors/temp', '-m', '21.5']),
    );
    t.is(got.code, 0, got.stderr);
    t.regex(got.stdout, /^sensors\/temp 21\.5$/m);

    const bobSubscribes = await run('mosquitto_sub', [
      ...tlsArgs(router.required, version, bob),
      ...['-t', 'sensors/temp', '-W', '5'],
    ]);
    t.regex(bobSubscribes.stdout, version === 'mqttv5' ? /Subscribed \(mid: 1\): 135/ : /Subscribed \(mid: 1\): 128/);

    const forbidden = await run('mosquitto_pub', [
      ...tlsArgs(router.required, version, alice),
      ...['-t', 'other/topic', '-m', 'x', '-q', '1'],
    ]);
    // MQTT 3.1.1 has no way to refuse a PUBLISH; 5.0 says NOT_AUTHORIZED in the PUBACK.
    t.regex(forbidden.stdout, version === 'mqttv5' ? /received PUBACK \(Mid: 1, RC:135\)/ : /received PUBACK/);
  });
}

test.serial('a certificate of another CA, or none where one is required, is refused during TLS', async (t) => {
  for (const version of ['mqttv5', 'mqttv311'] as const) {
    const forged1 = await run('mosquitto_pub', [
      ...tlsArgs(router.required, version, forged),
      '-t',
      'sensors/x',
      '-m',
      'm',
    ]);
    t.notRegex(forged1.stdout, /CONNACK/, `${version}: another CA`);
    t.not(forged1.code, 0);
    const none = await run('mosquitto_pub', [...tlsArgs(router.required, version), '-t', 'sensors/x', '-m', 'm']);
    t.notRegex(none.stdout, /CONNACK/, `${version}: no certificate`);
    t.regex(none.stdout, /certificate required/);
  }
  // Where a certificate is optional, one that does not verify is refused all the same.
  t.is(await connack(router.optional, 'mqttv5', forged), undefined);
  const r = await npmClient(router.optional, forged, { protocolVersion: 5 });
  t.false('client' in r);
});

test.serial('optional: without a certificate, user name and password log in as before', async (t) => {
  const pw = ['-u', 'alice', '-P', PASSWORD];
  t.is(await connack(router.optional, 'mqttv5', undefined, pw), 0);
  t.is(await connack(router.optional, 'mqttv311', undefined, pw), 0);
  // com.app admits no anonymous sessions.
  t.is(await connack(router.optional, 'mqttv5'), 135);
  t.is(await connack(router.optional, 'mqttv311'), 5);
  // With a certificate, and the user name that is its CN: logged in by the certificate.
  t.is(await connack(router.optional, 'mqttv5', alice, ['-u', 'alice']), 0);
  const r = await npmClient(router.optional, undefined, { protocolVersion: 4, username: 'bob', password: PASSWORD });
  t.true('client' in r);
  if ('client' in r) r.client.end(true);
});

test.serial('a realm that does not take tls: a certificate only opens TLS; passwords work', async (t) => {
  t.is(await connack(router.passwordOnly, 'mqttv5', alice), 135, 'no method: NOT_AUTHORIZED');
  t.is(await connack(router.passwordOnly, 'mqttv311', alice), 5);
  t.is(await connack(router.passwordOnly, 'mqttv5', alice, ['-u', 'bob', '-P', PASSWORD]), 0);
});

test.serial('the npm mqtt client: accepted with the certificate user grants (5.0 and 3.1.1)', async (t) => {
  for (const protocolVersion of [5, 4] as const) {
    const r = await npmClient(router.required, alice, { protocolVersion });
    if (!('client' in r)) return t.fail(`refused: ${r.code}`);
    const c = r.client;
    const got = new Promise<string>((resolve) => c.once('message', (_topic, payload) => resolve(payload.toString())));
    const granted = await c.subscribeAsync('sensors/npm', { qos: 1 });
    t.is(granted[0]!.qos, 1);
    await c.publishAsync('sensors/npm', 'hello', { qos: 1 });
    t.is(await got, 'hello');
    if (protocolVersion === 5) {
      // mqtt.js rejects a PUBLISH whose PUBACK carries an error reason, with that code.
      const refused = await t.throwsAsync(c.publishAsync('other/topic', 'x', { qos: 1 }));
      t.is((refused as Error & { code?: number }).code, 135);
    }
    await c.endAsync();
  }
});

/**
 * MQTT 3.1.1 CONNECT over node:tls, offering `session` for resumption: the CONNACK return code
 * (undefined when the connection closes without one), whether TLS resumed, and the session to offer next.
 */
function connectOverTls(
  port: number,
  client: Issued,
  session?: Buffer,
): Promise<{ code: number | undefined; resumed: boolean; session: Buffer | undefined }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: fs.readFileSync(server.cert),
      cert: fs.readFileSync(client.cert),
      key: fs.readFileSync(client.key),
      ...(session !== undefined && { session }),
    });
    let resumed = false;
    let next: Buffer | undefined;
    let code: number | undefined;
    socket.on('session', (s: Buffer) => (next = s));
    socket.once('secureConnect', () => {
      resumed = socket.isSessionReused();
      socket.write(
        generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 0 }),
      );
    });
    socket.on('data', (d: Buffer) => {
      if (d[0] === 0x20) code = d[3];
      socket.end();
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve({ code, resumed, session: next }));
  });
}

test.serial('a revoked certificate (tls.clientCrl) is refused once the files are reloaded (SIGHUP)', async (t) => {
  t.is(await connack(router.required, 'mqttv5', dave), 0);
  const first = await connectOverTls(router.required, dave);
  t.is(first.code, 0);
  // A resumed TLS session still carries its certificate, and logs in by it.
  const resumed = await connectOverTls(router.required, dave, first.session);
  t.true(resumed.resumed);
  t.is(resumed.code, 0);

  devices.revoke(dave.cert);
  const results = await router.server.reloadTls();
  t.true(
    results.every((r) => r.error === undefined),
    JSON.stringify(results),
  );
  t.is(await connack(router.required, 'mqttv5', dave), undefined, 'refused during TLS');
  // Resuming a session from before the reload does not skip the new revocation list.
  const stale = await connectOverTls(router.required, dave, resumed.session ?? first.session);
  t.false(stale.resumed);
  t.is(stale.code, undefined);
  t.is(await connack(router.required, 'mqttv5', alice), 0, 'others still get in');
});

const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';
const tlsClient = fileURLToPath(new URL('../transport/python/tls_client.py', import.meta.url));

/** Autobahn|Python over RawSocket-TLS, offering authmethod tls: its one JSON line. */
async function autobahnTls(client: Issued | undefined, authid?: string): Promise<Record<string, unknown>> {
  const args = [tlsClient, '--port', String(router.rawsocket), '--realm', 'com.app', '--ca', server.cert];
  if (client !== undefined) args.push('--cert', client.cert, '--key', client.key);
  if (authid !== undefined) args.push('--authid', authid);
  // Not spawnSync: the router runs in this process.
  const r = await run(python, args, 20_000);
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  } catch {
    return { output: r.stdout + r.stderr };
  }
}

test.serial('WAMP over RawSocket-TLS: Autobahn|Python with a certificate joins by authmethod tls', async (t) => {
  t.like(await autobahnTls(alice), { joined: true, authid: 'alice', authmethod: 'tls', authrole: 'user' });
  t.like(await autobahnTls(alice, 'bob'), { joined: false, reason: 'wamp.error.authentication_failed' });
  t.like(await autobahnTls(undefined), { joined: false, reason: 'wamp.error.no_auth_method' });
  t.like(await autobahnTls(forged), { joined: false, error: 'closed before WELCOME' });
});

test.serial('unknown, disabled or ambiguous certificate users are refused with the right code', async (t) => {
  // A router of its own: these failures spend its per-address budget.
  const other = await startRouter(dataDir('data-refusals'));
  try {
    for (const [version, code] of [
      ['mqttv5', 134],
      ['mqttv311', 4],
    ] as const) {
      t.is(await connack(other.required, version, mallory), code, `${version}: no such user`);
      t.is(await connack(other.required, version, carol), code, `${version}: disabled user`);
      t.is(await connack(other.required, version, twoNames), code, `${version}: two CNs name nobody`);
      t.is(await connack(other.required, version, alice, ['-u', 'bob']), code, `${version}: user name is not the CN`);
    }
    const npm5 = await npmClient(other.required, mallory, { protocolVersion: 5 });
    t.deepEqual(npm5, { code: 134 });
    const npm4 = await npmClient(other.required, mallory, { protocolVersion: 4 });
    t.deepEqual(npm4, { code: 4 });
  } finally {
    await other.server.stop();
  }
});

test.serial('certificate failures are throttled per address like failed passwords', async (t) => {
  const other = await startRouter(dataDir('data-throttle'));
  try {
    // The per-address budget is 10 failures: spent at once, even a good certificate is refused.
    const burst = await Promise.all(Array.from({ length: 10 }, () => connack(other.required, 'mqttv5', mallory)));
    t.deepEqual(burst, Array(10).fill(134));
    t.is(await connack(other.required, 'mqttv5', alice), 134);
    t.is(await connack(other.required, 'mqttv311', alice), 4);
    // One budget for every way of logging in from the address.
    t.is(await connack(other.optional, 'mqttv5', undefined, ['-u', 'alice', '-P', PASSWORD]), 134);
  } finally {
    await other.server.stop();
  }
});

test('config: client certificate fields need a CA; a CA file without certificates refuses the start', (t) => {
  const base = { listeners: { mqtt: [{ port: 0, tls: { ...serverTls, clientCertificate: 'optional' } }] } };
  t.throws(() => parseConfig(base, 'test'), {
    message: /listeners\.mqtt\[0\]\.tls\.clientCertificate: needs tls\.clientCa/,
  });
  const ws = { listeners: { websocket: [{ port: 0, tls: { ...serverTls, clientCa: devices.cert } }] } };
  t.throws(() => parseConfig(ws, 'test'), { message: /listeners\.websocket\[0\]\.tls\.clientCa: unknown field/ });
  const empty = path.join(dir, 'empty-ca.pem');
  fs.writeFileSync(empty, 'not a certificate\n');
  t.throws(() => loadListenerTls('listeners.mqtt[0]', { ...serverTls, clientCa: empty }), {
    message: /listeners\.mqtt\[0\]\.tls\.clientCa: .* holds no PEM certificate/,
  });
  t.throws(() => loadListenerTls('listeners.mqtt[0]', { ...serverTls, clientCa: devices.cert, clientCrl: empty }), {
    message: /listeners\.mqtt\[0\]\.tls\.clientCrl: .* holds no usable PEM CRL/,
  });
});
