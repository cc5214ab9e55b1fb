// Smoke suite against the BUILT single executables (see harness.ts for how each is run here):
// --version, RawSocket CBOR and WebSocket JSON sessions with call round-trips, a retained event
// that survives a restart (SQLite in the data folder, checked with PRAGMA integrity_check),
// SIGTERM -> exit 0, and the native-addon cache failures (unwritable, noexec).
// Set WAMPMESH_SKIP_BINARY=1 to skip (the build of both binaries takes ~20-30 s when the
// sources changed; --if-changed makes it a no-op otherwise).

import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { connect } from '../helpers/raw-client.ts';
import { Mosquitto, subscriber, until } from '../bridge/mosquitto.ts';
import { publishAck } from '../bridge/world.ts';
import { hostGlibc, runOnce, tempDir, type Runner } from './harness.ts';
import { BOTH, config, port, roundTrip, runnerOr, skip, start, useBuiltRouters, VERSION_LINE } from './suite.ts';

useBuiltRouters();

for (const arch of ['x64', 'arm64'] as const) {
  // Under qemu-user every step is ~10x slower: generous deadlines, all polled.
  const slow = arch === 'arm64' ? 4 : 1;

  test.serial(`${arch}: --version names version, git revision and build date`, (t) => {
    if (skip) return t.pass();
    const runner = runnerOr(t, arch);
    if (!runner) return;
    const r = runOnce(runner, ['--version']);
    t.is(r.status, 0, r.stderr);
    // Nothing on stderr: a code cache that V8 rejects (x64 has one) says so there.
    t.is(r.stderr, '');
    t.regex(r.stdout.trim(), VERSION_LINE);
    t.true(r.stdout.includes(`linux-${arch}`));
    t.log(`${runner.how}: ${r.stdout.trim()}`);
  });

  test.serial(
    `${arch}: RawSocket CBOR + WebSocket JSON round-trips, retained event survives a restart, SIGTERM exits 0`,
    async (t) => {
      if (skip) return t.pass();
      const runner = runnerOr(t, arch);
      if (!runner) return;
      t.timeout(240_000 * slow);
      const dir = tempDir(`wampmesh-bin-${arch}-`);
      // A fresh addon cache: the executable must extract, verify and load its addons.
      const env = { WAMPMESH_CACHE_DIR: path.join(dir, 'cache') };
      const cfg = config(dir, BOTH);
      try {
        const t0 = performance.now();
        let router = await start(runner, ['--config', cfg], env, 60_000 * slow);
        t.log(`${runner.how}: listening after ${Math.round(performance.now() - t0)} ms (cold cache)`);
        const cached = fs.readdirSync(env.WAMPMESH_CACHE_DIR).filter((f) => f.endsWith('.node'));
        t.deepEqual(cached.map((f) => f.replace(/-[0-9a-f]{16}\.node$/, '')).sort(), [
          `better_sqlite3-${arch}`,
          `uws-${arch}`,
        ]);

        const callee = await connect({
          transport: 'rawsocket',
          serializer: 'cbor',
          port: port(router, 'rawsocket'),
          timeoutMs: 10_000 * slow,
        });
        t.true((await callee.join('realm1', {}, 10_000 * slow)) > 0, 'RawSocket CBOR WELCOME');
        await callee.register('binary.echo', 10_000 * slow);
        callee.serveEcho();

        const rawCaller = await connect({
          transport: 'rawsocket',
          serializer: 'cbor',
          port: port(router, 'rawsocket'),
          timeoutMs: 10_000 * slow,
        });
        await rawCaller.join('realm1', {}, 10_000 * slow);
        await roundTrip(rawCaller, 'binary.echo', 'over-rawsocket-cbor');

        const ws = router.listeners.find((l) => l.transport === 'websocket')!;
        const wsCaller = await connect({
          transport: 'websocket',
          serializer: 'json',
          url: `ws://127.0.0.1:${ws.port}${ws.path ?? '/ws'}`,
          timeoutMs: 10_000 * slow,
        });
        t.true((await wsCaller.join('realm1', {}, 10_000 * slow)) > 0, 'WebSocket JSON WELCOME');
        await roundTrip(wsCaller, 'binary.echo', 'over-websocket-json');

        // Retained event, acknowledged, then a restart.
        wsCaller.send([16, 901, { retain: true, acknowledge: true }, 'binary.retained', ['kept across restart']]);
        const published = await wsCaller.next(
          (m) => (m[0] === 17 && m[1] === 901) || (m[0] === 8 && m[2] === 901),
          10_000 * slow,
        );
        t.is(published[0], 17, JSON.stringify(published));
        for (const c of [callee, rawCaller, wsCaller]) await c.destroy();

        const code = await router.stop();
        t.is(code, 0, `SIGTERM exit code; stderr: ${router.stderr().slice(-2000)}`);

        const dbFile = path.join(dir, 'data', 'wampmesh.db');
        t.true(fs.existsSync(dbFile), 'SQLite database in the data folder');
        const db = new Database(dbFile, { readonly: true });
        try {
          t.is(db.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          db.close();
        }

        const t1 = performance.now();
        router = await start(runner, ['--config', cfg], env, 60_000 * slow);
        t.log(`${runner.how}: listening after ${Math.round(performance.now() - t1)} ms (warm cache)`);
        const sub = await connect({
          transport: 'rawsocket',
          serializer: 'cbor',
          port: port(router, 'rawsocket'),
          timeoutMs: 10_000 * slow,
        });
        await sub.join('realm1', {}, 10_000 * slow);
        sub.send([32, 902, { get_retained: true }, 'binary.retained']);
        const event = await sub.next((m) => m[0] === 36, 10_000 * slow);
        t.deepEqual(event[4], ['kept across restart']);
        t.is((event[3] as { retained?: boolean }).retained, true);
        await sub.destroy();
        t.is(await router.stop(), 0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

// Under systemd (NOTIFY_SOCKET set) serve re-executes itself through Perl to keep the notify
// socket (src/runtime/sd-notify.ts). The executable applies its own execArgv at every start: the
// re-exec must not hand them over as arguments (the router then refused to start under systemd).
test.serial('x64: under systemd (NOTIFY_SOCKET) serve re-executes itself, serves and sends READY=1', async (t) => {
  if (skip) return t.pass();
  const runner = runnerOr(t, 'x64');
  if (!runner) return;
  // RawSocket only (no uWebSockets.js, so no glibc 2.38 needed), run directly: under the trixie
  // loader the process's own path is the loader's.
  const direct: Runner = { ...runner, how: 'direct', command: (args) => [runner.binary, [...args]] };
  const dir = tempDir('wampmesh-bin-notify-');
  const sock = path.join(dir, 'notify.sock');
  const receiver = spawn(
    '/usr/bin/python3',
    [
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True: print(s.recv(4096).decode().replace("\\n"," "),flush=True)',
      sock,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let got = '';
  receiver.stdout.setEncoding('utf8').on('data', (c: string) => {
    got += c;
  });
  const until = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got: ${got}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await until('the receiver to bind', () => got.startsWith('bound'));
    const env = { WAMPMESH_CACHE_DIR: path.join(dir, 'cache'), NOTIFY_SOCKET: sock };
    const router = await start(direct, ['--config', config(dir, { rawsocket: BOTH.rawsocket })], env);
    await until('READY=1', () => got.includes('READY=1'));
    const c = await connect({ transport: 'rawsocket', port: port(router, 'rawsocket') });
    t.true((await c.join()) > 0);
    await c.destroy();
    t.is(await router.stop(), 0);
  } finally {
    receiver.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- Failure modes, x64 only (the logic is the same code on both architectures) -----------

test.serial(
  'x64: a damaged addon in the cache folder is written again from the executable, never loaded',
  async (t) => {
    // Each start checks the cached copies against their recorded sha256 before loading them.
    if (skip) return t.pass();
    const runner = runnerOr(t, 'x64');
    if (!runner) return;
    const dir = tempDir('wampmesh-bin-damaged-');
    const env = { WAMPMESH_CACHE_DIR: path.join(dir, 'cache') };
    try {
      const cfg = config(dir, BOTH);
      let router = await start(runner, ['--config', cfg], env);
      t.is(await router.stop(), 0);
      const files = fs.readdirSync(env.WAMPMESH_CACHE_DIR).filter((f) => f.endsWith('.node'));
      t.is(files.length, 2);
      const good = new Map<string, Buffer>();
      for (const f of files) {
        const file = path.join(env.WAMPMESH_CACHE_DIR, f);
        const data = fs.readFileSync(file);
        good.set(f, data);
        // Same size, one octet changed inside the code: a load would run altered machine code.
        const bad = Buffer.from(data);
        bad[Math.floor(bad.length / 2)]! ^= 0xff;
        fs.writeFileSync(file, bad);
      }
      router = await start(runner, ['--config', cfg], env);
      const c = await connect({ transport: 'rawsocket', serializer: 'cbor', port: port(router, 'rawsocket') });
      t.true((await c.join()) > 0);
      await c.destroy();
      const ws = router.listeners.find((l) => l.transport === 'websocket');
      t.truthy(ws, 'WebSocket listener (uWebSockets.js loaded)');
      t.is(await router.stop(), 0);
      for (const [f, data] of good) t.true(fs.readFileSync(path.join(env.WAMPMESH_CACHE_DIR, f)).equals(data), f);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test.serial('x64: an unwritable addon cache folder fails with a message naming WAMPMESH_CACHE_DIR', (t) => {
  if (skip) return t.pass();
  const runner = runnerOr(t, 'x64');
  if (!runner) return;
  const dir = tempDir('wampmesh-bin-ro-');
  try {
    const cfg = config(dir, { rawsocket: [{ host: '127.0.0.1', port: 0 }] });
    // A path under a regular file can never be created, whoever runs the test (root too).
    fs.writeFileSync(path.join(dir, 'file'), '');
    const r = runOnce(runner, ['serve', '--config', cfg], { WAMPMESH_CACHE_DIR: path.join(dir, 'file', 'cache') });
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /native addon cache folder/);
    t.regex(r.stderr, /WAMPMESH_CACHE_DIR/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('x64: an addon cache folder under /proc fails at once with a message naming WAMPMESH_CACHE_DIR', (t) => {
  // Node's recursive mkdirSync loops forever at full CPU there (it hung the data folder the same
  // way; src/runtime/make-dirs.ts). runOnce's timeout would turn a hang into a failure.
  if (skip) return t.pass();
  const runner = runnerOr(t, 'x64');
  if (!runner) return;
  const dir = tempDir('wampmesh-bin-proc-');
  try {
    const cfg = config(dir, { rawsocket: [{ host: '127.0.0.1', port: 0 }] });
    const r = runOnce(runner, ['serve', '--config', cfg], { WAMPMESH_CACHE_DIR: '/proc/wampmesh-cache' });
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /native addon cache folder/);
    t.regex(r.stderr, /WAMPMESH_CACHE_DIR/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('x64: a noexec addon cache folder fails with a message naming WAMPMESH_CACHE_DIR', (t) => {
  if (skip) return t.pass();
  const runner = runnerOr(t, 'x64');
  if (!runner) return;
  const dir = tempDir('wampmesh-bin-noexec-');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  const mounted =
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=64m', 'tmpfs', mnt], { stdio: 'ignore' }).status === 0;
  try {
    if (!mounted) {
      t.log('SKIPPED: cannot mount a noexec tmpfs here (needs root)');
      return t.pass();
    }
    const cfg = config(dir, { rawsocket: [{ host: '127.0.0.1', port: 0 }] });
    const r = runOnce(runner, ['serve', '--config', cfg], { WAMPMESH_CACHE_DIR: path.join(mnt, 'cache') });
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /mounted noexec/);
    t.regex(r.stderr, /WAMPMESH_CACHE_DIR/);
  } finally {
    if (mounted) execFileSync('umount', [mnt]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.serial(
  "x64 on this host's own glibc: WebSocket needs GLIBC_2.38 and says so; RawSocket still serves",
  async (t) => {
    if (skip) return t.pass();
    const runner = runnerOr(t, 'x64');
    if (!runner) return;
    const glibc = hostGlibc();
    if (!glibc || glibc[0] > 2 || (glibc[0] === 2 && glibc[1] >= 38)) {
      t.log(`SKIPPED: host glibc ${glibc?.join('.')} runs uWebSockets.js`);
      return t.pass();
    }
    const direct: Runner = { ...runner, how: 'direct on host glibc', command: (args) => [runner.binary, [...args]] };
    const dir = tempDir('wampmesh-bin-oldglibc-');
    const env = { WAMPMESH_CACHE_DIR: path.join(dir, 'cache') };
    try {
      // WebSocket as the only transport: nothing to fall back to, so the start fails and says why.
      const only = runOnce(direct, ['serve', '--config', config(dir, { websocket: BOTH.websocket })], env);
      t.is(only.status, 1, only.stderr);
      t.regex(only.stderr, /needs glibc >= 2\.38 \(GLIBC_2\.38 not found\); this system has glibc 2\.\d+/);

      // RawSocket alone never loads uWS.
      let router = await start(direct, ['--config', config(dir, { rawsocket: BOTH.rawsocket })], env);
      let c = await connect({ transport: 'rawsocket', serializer: 'cbor', port: port(router, 'rawsocket') });
      t.true((await c.join()) > 0);
      await c.destroy();
      t.is(await router.stop(), 0);

      // Both: with the serve.ts WebSocket policy (src/runtime/websocket-policy.ts) the router
      // warns and serves RawSocket; without it the start fails with the same clear message.
      const both = config(dir, BOTH);
      try {
        router = await start(direct, ['--config', both], env);
      } catch (e) {
        t.regex((e as Error).message, /needs glibc >= 2\.38/);
        t.log('serve.ts does not apply the WebSocket policy yet: the start fails with the glibc message');
        return;
      }
      t.regex(router.stderr(), /WebSocket is disabled: .*needs glibc >= 2\.38/);
      // (The router adds its own admin Unix socket in the data folder.)
      t.deepEqual(
        router.listeners.map((l) => l.transport).filter((x) => x !== 'unix'),
        ['rawsocket'],
      );
      c = await connect({ transport: 'rawsocket', serializer: 'cbor', port: port(router, 'rawsocket') });
      t.true((await c.join()) > 0);
      await c.destroy();
      t.is(await router.stop(), 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

// The MQTT client rides in the executable as a script of its own (CHUNKS in
// scripts/build-binary.mjs), compiled when a bridge first needs it: an event published over
// WAMP must reach a real broker through it.
test.serial(
  'x64: an MQTT bridge forwards an event to mosquitto through the MQTT client carried beside the script',
  async (t) => {
    if (skip) return t.pass();
    const runner = runnerOr(t, 'x64');
    if (!runner) return;
    t.timeout(120_000);
    const broker = await Mosquitto.start();
    const dir = tempDir('wampmesh-bin-mqtt-');
    const sub = await subscriber(broker, 'site7/tele/#', 'bin-test-sub');
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(
        file,
        JSON.stringify({
          dataDir: path.join(dir, 'data'),
          logLevel: 'info',
          listeners: { rawsocket: BOTH.rawsocket },
          bridges: [
            {
              name: 'cloud',
              type: 'mqtt',
              url: `mqtt://127.0.0.1:${broker.port}`,
              realm: 'realm1',
              rules: [{ direction: 'out', wamp: 'tele.', match: 'prefix', mqtt: 'site7/tele/', qos: 1 }],
            },
          ],
        }),
      );
      const router = await start(runner, ['--config', file], { WAMPMESH_CACHE_DIR: path.join(dir, 'cache') });
      await until(() => router.stderr().includes('"msg":"bridge: connected"'), 20_000, 'the bridge to connect');
      const c = await connect({ transport: 'rawsocket', serializer: 'cbor', port: port(router, 'rawsocket') });
      await c.join();
      t.is((await publishAck(c, 'tele.temp', [21.5]))[0], 17);
      await until(() => sub.got.length > 0, 20_000, 'the event at the broker');
      t.deepEqual(sub.topics, ['site7/tele/temp']);
      t.is(sub.got[0], '21.5');
      await c.destroy();
      t.is(await router.stop(), 0);
    } finally {
      await sub.client.endAsync();
      await broker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
