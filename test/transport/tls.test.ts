// TLS on the client listeners, against the real router process: wss with Autobahn|JS verifying
// the certificate (NODE_EXTRA_CA_CERTS), RawSocket inside node:tls, the fingerprint in the
// listening line and `wampmesh tls`, SIGHUP reloading the files (and keeping the old ones when
// the new ones are broken), and a start refused with the field of a bad file named.

import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { startRouter, wampmeshBin, type RouterProcess } from '../helpers/router-process.ts';
import { selfSigned } from '../helpers/self-signed.ts';
import { openTcp, waitFor, within } from '../helpers/raw-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'wampmesh-tls-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const a = selfSigned(dir, 'first');
const b = selfSigned(dir, 'second');
// The files the router is configured with; the test swaps their content.
const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
copyFileSync(a.cert, live.cert);
copyFileSync(a.key, live.key);
const configFile = join(dir, 'config.json');
writeFileSync(
  configFile,
  JSON.stringify({
    logLevel: 'info',
    listeners: {
      websocket: [{ host: '127.0.0.1', port: 0, tls: { cert: 'live.crt', key: 'live.key' } }],
      rawsocket: [{ host: '127.0.0.1', port: 0, tls: { cert: 'live.crt', key: 'live.key' } }],
      mqtt: [{ host: '127.0.0.1', port: 0, tls: { cert: 'live.crt', key: 'live.key' } }],
    },
  }),
);

function presented(port: number): Promise<{ fingerprint: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.once('secureConnect', () =>
      resolve({ fingerprint: socket.getPeerX509Certificate()!.fingerprint256, socket }),
    );
    socket.once('error', reject);
  });
}

/** RawSocket handshake (JSON, 2^24) and HELLO over a verified TLS connection; resolves with WELCOME. */
function rawsocketHello(port: number, ca: string): Promise<{ welcome: unknown[]; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca) });
    let buffered = Buffer.alloc(0);
    socket.once('secureConnect', () => {
      socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
      const hello = Buffer.from(JSON.stringify([1, 'realm1', { roles: { publisher: {} } }]));
      const header = Buffer.alloc(4);
      header.writeUInt32BE(hello.length);
      socket.write(Buffer.concat([header, hello]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      const length = buffered.readUInt32BE(4) & 0xffffff;
      if (buffered.length < 8 + length) return;
      socket.removeAllListeners('data');
      resolve({ welcome: JSON.parse(buffered.subarray(8, 8 + length).toString()) as unknown[], socket });
    });
    socket.once('error', reject);
  });
}

/** Autobahn|JS in its own process, trusting only `ca`: resolves with the session id it got. */
function autobahnOverWss(url: string, ca: string): { status: number | null; out: string } {
  const script = `
    const autobahn = require('autobahn');
    const c = new autobahn.Connection({ url: ${JSON.stringify(url)}, realm: 'realm1', max_retries: 0 });
    const t = setTimeout(() => { console.log('timeout'); process.exit(3); }, 8000);
    c.onopen = (s) => { console.log('session ' + s.id); clearTimeout(t); c.close(); process.exit(0); };
    c.onclose = (reason, details) => { console.log('closed ' + reason + ' ' + (details.message || '')); process.exit(2); };
    c.open();`;
  const r = spawnSync(join(process.cwd(), 'scripts/node24'), ['-e', script], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let router: RouterProcess;
test.before(async () => {
  router = await startRouter({ args: ['--config', configFile] });
});
test.after.always(async () => {
  await router?.stop();
});

const portOf = (transport: string): number => router.listeners.find((l) => l.transport === transport)!.port;

test.serial('the listening line shows each TLS listener certificate fingerprint, as openssl computes it', (t) => {
  for (const transport of ['websocket', 'rawsocket']) {
    const l = router.listeners.find((x) => x.transport === transport) as unknown as { tls?: { fingerprint: string } };
    t.is(l.tls?.fingerprint, a.fingerprint, transport);
  }
  t.false(JSON.stringify(router.listeners).includes('live.key'), 'no key path or passphrase in the line');
});

test.serial(
  'wss: Autobahn|JS verifying the certificate gets a session; trusting another certificate it does not',
  (t) => {
    const url = `wss://127.0.0.1:${portOf('websocket')}/ws`;
    const ok = autobahnOverWss(url, a.cert);
    t.is(ok.status, 0, ok.out);
    t.regex(ok.out, /^session \d+/m);
    const refused = autobahnOverWss(url, b.cert);
    t.not(refused.status, 0, refused.out);
  },
);

test.serial(
  'RawSocket over TLS: a verified connection gets WELCOME; plain RawSocket on the port gets handshake error 3',
  async (t) => {
    const { welcome, socket } = await rawsocketHello(portOf('rawsocket'), a.cert);
    t.is(welcome[0], 2);
    socket.destroy();
    const plain = await openTcp(portOf('rawsocket'));
    plain.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
    await within(plain.closed, 2000, 'the router closes the plain connection');
    t.deepEqual([...plain.received()], [0x7f, 0x30, 0, 0]);
  },
);

test.serial(
  'MQTT over TLS: mosquitto_sub and mosquitto_pub verifying the certificate exchange a message',
  async (t) => {
    const port = portOf('mqtt');
    const line = router.listeners.find((l) => l.transport === 'mqtt') as unknown as { tls?: { fingerprint: string } };
    t.is(line.tls?.fingerprint, a.fingerprint);
    const tlsArgs = ['-h', '127.0.0.1', '-p', String(port), '--cafile', a.cert, '-V', 'mqttv5'];
    const sub = spawn('mosquitto_sub', [...tlsArgs, '-t', 'tls/test', '-C', '1', '-W', '15'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sub.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => sub.once('close', resolve));
    // Publish until the subscriber has its subscription in place and receives one.
    const deadline = Date.now() + 10_000;
    while (out === '' && Date.now() < deadline) {
      spawnSync('mosquitto_pub', [...tlsArgs, '-t', 'tls/test', '-m', 'over tls'], { timeout: 5_000 });
      await new Promise((r) => setTimeout(r, 200));
    }
    t.is(await exited, 0, out);
    t.is(out.trim(), 'over tls');
    // Trusting another certificate, the client refuses the connection.
    const refused = spawnSync(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '--cafile', b.cert, '-t', 'x', '-m', 'y'],
      {
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    t.not(refused.status, 0);
  },
);

test.serial(
  'SIGHUP serves the new files to new connections; open sessions stay; broken files keep the old certificate',
  async (t) => {
    const held = await rawsocketHello(portOf('rawsocket'), a.cert);
    copyFileSync(b.cert, live.cert);
    copyFileSync(b.key, live.key);
    process.kill(router.pid, 'SIGHUP');
    for (const transport of ['websocket', 'rawsocket', 'mqtt']) {
      await waitFor(
        async () => {
          const { fingerprint, socket } = await presented(portOf(transport));
          socket.destroy();
          return fingerprint === b.fingerprint;
        },
        5000,
        `${transport} presents the new certificate`,
      );
    }
    const ok = autobahnOverWss(`wss://127.0.0.1:${portOf('websocket')}/ws`, b.cert);
    t.is(ok.status, 0, ok.out);
    // The session opened before the reload still works: a PUBLISH with acknowledge gets PUBLISHED.
    const publish = Buffer.from(JSON.stringify([16, 7, { acknowledge: true }, 'com.example.t']));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(publish.length);
    held.socket.write(Buffer.concat([header, publish]));
    const reply = await new Promise<unknown[]>((resolve) =>
      held.socket.once('data', (d: Buffer) => resolve(JSON.parse(d.subarray(4).toString()) as unknown[])),
    );
    t.deepEqual(reply.slice(0, 2), [17, 7]);
    held.socket.destroy();

    writeFileSync(live.key, 'not a key\n');
    process.kill(router.pid, 'SIGHUP');
    await waitFor(() => router.stderr().includes('TLS reload failed'), 5000, 'the failed reload is logged');
    t.regex(router.stderr(), /listeners\.(websocket|rawsocket)\[0\]\.tls\.key/);
    const { fingerprint, socket } = await presented(portOf('rawsocket'));
    socket.destroy();
    t.is(fingerprint, b.fingerprint, 'still the last good certificate');
    copyFileSync(b.key, live.key);
  },
);

test('`wampmesh tls` prints the fingerprints from the config; a bad key file refuses the start naming its field', async (t) => {
  const cfg = join(dir, 'tls-cli.json');
  writeFileSync(
    cfg,
    JSON.stringify({ listeners: { rawsocket: [{ host: '127.0.0.1', port: 0, tls: { cert: a.cert, key: a.key } }] } }),
  );
  const out = execFileSync(wampmeshBin, ['tls', '--config', cfg], { encoding: 'utf8' });
  const line = JSON.parse(out.trim()) as { listener: string; fingerprint: string };
  t.is(line.listener, 'listeners.rawsocket[0]');
  t.is(line.fingerprint, a.fingerprint);

  const bad = join(dir, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({ listeners: { rawsocket: [{ host: '127.0.0.1', port: 0, tls: { cert: a.cert, key: b.key } }] } }),
  );
  const r = spawnSync(wampmeshBin, ['serve', '--config', bad, '--data', join(dir, 'data-bad')], { encoding: 'utf8' });
  t.is(r.status, 1);
  t.regex(r.stderr, /listeners\.rawsocket\[0\]\.tls\.key: .* is not the key of the certificate/);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
});
