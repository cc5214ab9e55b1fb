// The web console in a real browser (Debian's chromium, driven by playwright-core) against a
// running three-node mesh on loopback: an administrator logs in and sees the three nodes and
// their links, a new registration appears, one link cut (a TCP relay between beta and gamma
// closed, both nodes left running) shows as gone while both nodes stay up, a failed login
// shows in the recent errors, and a user who is not an administrator is refused. Screenshots
// go to CONSOLE_SCREENSHOTS (default: a temp folder; the path is logged).

import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCli } from '../cli/run-cli.ts';
import { linkProxy } from '../helpers/link-proxy.ts';
import { selfSigned } from '../helpers/self-signed.ts';
import { connect } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const SECRET = 'console test cluster secret';
const shots = process.env.CONSOLE_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-console-'));

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

async function node(
  t: { teardown(fn: () => unknown): void },
  id: string,
  seeds: string[],
  listeners?: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): Promise<RouterProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-console-cfg-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      listeners: listeners ?? {
        websocket: [{ host: '127.0.0.1', port: 0 }],
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
      },
      mesh: {
        enabled: true,
        nodeId: id,
        cluster: { name: 'console', secret: SECRET, ...cluster },
        listen: { host: '127.0.0.1', port: 0 },
        seeds,
        mdns: false,
        minLinks: 2,
        maxLinks: 4,
        heartbeatIntervalMs: 300,
        deadAfterMs: 1_200,
      },
    }),
  );
  const r = await startRouter({ args: ['--config', file] });
  t.teardown(async () => {
    await r.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return r;
}

const meshAddress = (r: RouterProcess): string => `127.0.0.1:${r.listeners.find((l) => l.transport === 'mesh')!.port}`;

async function cli(args: string[], dataDir: string): Promise<void> {
  const r = await runCli([...args, '--data', dataDir]);
  if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
}

async function logIn(page: Page, port: number, user: string, password: string): Promise<void> {
  await page.goto(`http://127.0.0.1:${port}/console/`);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

const running = (r: RouterProcess): boolean => {
  try {
    process.kill(r.pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the console: log in, three nodes and their links, a new registration, a link cut, recent errors, a non-admin refused', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: scripts/install-test-deps.sh installs Debian's chromium`);
    return;
  }
  const port = await freePort();
  // A RawSocket-over-TLS listener on alpha: the console shows the certificate's fingerprint.
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-console-tls-'));
  t.teardown(() => fs.rmSync(tlsDir, { recursive: true, force: true }));
  const { cert, key, fingerprint } = selfSigned(tlsDir, 'alpha');
  const alpha = await node(t, 'alpha', [], {
    websocket: [{ host: '127.0.0.1', port }],
    rawsocket: [
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 0, tls: { cert, key } },
    ],
    http: [{ host: '127.0.0.1', port, serve: ['console', 'metrics', 'health'] }],
  });
  const beta = await node(t, 'beta', [meshAddress(alpha)]);
  // gamma reaches beta only through this relay (no mDNS; beta has no seed for gamma), so
  // closing it cuts that one link while all three nodes keep running.
  const relay = await linkProxy(t, beta.listeners.find((l) => l.transport === 'mesh')!.port);
  const gamma = await node(t, 'gamma', [meshAddress(alpha), `127.0.0.1:${relay.port}`]);
  // The admin realm replicates: the password set on alpha is alpha's (and the others').
  await cli(['user', 'update', 'wampmesh.admin', 'admin', '--password', 'admin console pw'], alpha.dataDir);
  await cli(['user', 'create', 'wampmesh.admin', 'viewer', '--password', 'viewer console pw'], alpha.dataDir);

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  t.log(`screenshots in ${shots}`);
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
  await logIn(page, port, 'admin', 'admin console pw');
  await page.waitForSelector('#main[data-state=live]', { timeout: 15_000 });
  await page.waitForSelector('#tls code.fingerprint', { timeout: 10_000 });
  t.is(await page.textContent('#tls code.fingerprint'), fingerprint, 'the TLS listener certificate fingerprint');
  // All three nodes, each reachable, and the three links of the full mesh.
  for (const id of ['alpha', 'beta', 'gamma'])
    await page.waitForSelector(`#graph [data-node=${id}]:is(.self, .up)`, { timeout: 20_000 });
  // (Selectors, not page functions: the console's Content-Security-Policy forbids eval.)
  await page.waitForSelector('#graph line.link:nth-of-type(3)', { state: 'attached', timeout: 20_000 });
  t.deepEqual(await page.$$eval('#graph line.link', (ls) => ls.map((l) => l.getAttribute('data-link')).sort()), [
    'alpha~beta',
    'alpha~gamma',
    'beta~gamma',
  ]);

  // A registration made now on alpha shows up in realm1's row.
  const callee = await connect({ transport: 'rawsocket', serializer: 'cbor', port: alpha.rawsocketPort });
  t.teardown(() => callee.destroy());
  await callee.join('realm1');
  await callee.register('com.example.console.fresh');
  await page.waitForSelector('tr[data-realm=realm1] .regs code:text("com.example.console.fresh")', { timeout: 10_000 });
  // Some calls for the charts (calls are counted on the caller's node: alpha here).
  callee.serveEcho();
  const caller = await connect({ transport: 'websocket', serializer: 'json', url: alpha.wsUrl });
  t.teardown(() => caller.destroy());
  await caller.join('realm1');
  const until = Date.now() + 5_000;
  let answered = 0;
  while (Date.now() < until) if ((await caller.call('com.example.console.fresh', [answered]))[0] === 50) answered++;
  t.true(answered > 0);
  await page.waitForSelector('tr[data-realm=realm1] td:text-matches("^[1-9][0-9]* ok")', { timeout: 5_000 });
  await page.screenshot({ path: path.join(shots, 'console-mesh.png') });

  // The link beta~gamma is cut (the relay closes, and refuses gamma's redials): it goes from
  // the graph within seconds, while beta and gamma stay up, still reached through alpha.
  const cut = Date.now();
  relay.cut();
  await page.waitForSelector('#graph line.link:nth-of-type(3)', { state: 'detached', timeout: 15_000 });
  t.log(`the cut link gone from the console ${Date.now() - cut} ms after the cut`);
  t.deepEqual(await page.$$eval('#graph line.link', (ls) => ls.map((l) => l.getAttribute('data-link')).sort()), [
    'alpha~beta',
    'alpha~gamma',
  ]);
  for (const id of ['beta', 'gamma']) t.truthy(await page.$(`#graph [data-node=${id}].up`), `${id} shown up`);
  t.true(running(beta) && running(gamma), 'both ends of the cut link still run');
  await page.screenshot({ path: path.join(shots, 'console-link-cut.png') });

  // A failed login (a wrong password for admin) shows in the recent errors of the open console.
  const wrong = await browser.newPage();
  await logIn(wrong, port, 'admin', 'not the password');
  await wrong.waitForSelector('#login-error:text("login refused")', { timeout: 15_000 });
  await page.waitForSelector('#recent-list li[data-level=info] .field:text("wamp.error.authentication_failed")', {
    timeout: 10_000,
  });
  await page.screenshot({ path: path.join(shots, 'console-recent-errors.png'), fullPage: true });

  // A user of the admin realm who is not in the admin group: refused, and never shown data.
  const other = await browser.newPage();
  await logIn(other, port, 'viewer', 'viewer console pw');
  await other.waitForSelector('#login-error:not(:empty), #main[data-state=refused]', { timeout: 15_000 });
  t.log(`viewer: ${await other.textContent('#login-error')} ${await other.textContent('#status')}`);
  t.is(await other.$('#main[data-state=live]'), null);
  t.is(await other.$$eval('#realms tr', (rows) => rows.length), 0);
  await other.screenshot({ path: path.join(shots, 'console-refused.png') });
});

test('the console lists a node waiting for admission: Admit lets it in, Remove takes it out for good', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: scripts/install-test-deps.sh installs Debian's chromium`);
    return;
  }
  const port = await freePort();
  // secretJoin off: the secret admits nobody, so delta waits on alpha's list until admitted.
  const alpha = await node(
    t,
    'alpha',
    [],
    {
      websocket: [{ host: '127.0.0.1', port }],
      rawsocket: [{ host: '127.0.0.1', port: 0 }],
      http: [{ host: '127.0.0.1', port, serve: ['console'] }],
    },
    { secretJoin: false },
  );
  await node(t, 'delta', [meshAddress(alpha)]);
  await cli(['user', 'update', 'wampmesh.admin', 'admin', '--password', 'admin console pw'], alpha.dataDir);
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await logIn(page, port, 'admin', 'admin console pw');
  await page.waitForSelector('#main[data-state=live]', { timeout: 15_000 });
  await page.waitForSelector('#members tr.pending[data-member=delta] button[data-admit=delta]', { timeout: 20_000 });
  t.is(await page.$('#graph [data-node=delta]'), null, 'not linked while pending');
  await page.screenshot({ path: path.join(shots, 'console-pending.png'), fullPage: true });
  await page.click('button[data-admit=delta]');
  await page.waitForSelector('#members tr.member[data-member=delta] button[data-remove=delta]', { timeout: 20_000 });
  await page.waitForSelector('#graph [data-node=delta].up', { timeout: 20_000 });
  t.regex((await page.textContent('#members-note')) ?? '', /delta admitted/);
  // Removal asks first (it is for good).
  page.once('dialog', (d) => void d.accept());
  await page.click('button[data-remove=delta]');
  await page.waitForSelector('#members tr.removed[data-member=delta]', { timeout: 20_000 });
  await page.waitForSelector('#graph [data-node=delta]', { state: 'detached', timeout: 20_000 });
  t.regex((await page.textContent('#members-note')) ?? '', /delta removed/);
  await page.screenshot({ path: path.join(shots, 'console-removed.png'), fullPage: true });
});
