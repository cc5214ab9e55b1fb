// A real router process serving the HTTP gateway, with a store realm set up through the CLI
// (users, grants, the API spec added with `wampmesh api add`), for the gateway suites.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';

export const REALM = 'com.gw';

export interface GatewayRouter {
  readonly router: RouterProcess;
  /** http://127.0.0.1:PORT of the listener serving "gateway". */
  readonly base: string;
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a router whose HTTP listener serves the gateway, on its own port (node:http) or the WebSocket port (uWS). */
export async function startGatewayRouter(
  options: { shared?: boolean; config?: Record<string, unknown>; args?: string[] } = {},
): Promise<GatewayRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-gw-'));
  const file = join(dir, 'config.json');
  const port = options.shared === true ? await freePort() : 0;
  const config = {
    realms: [{ uri: 'realm1', anonymous: true }],
    listeners: {
      websocket: [{ host: '127.0.0.1', port, path: '/ws' }],
      rawsocket: [{ host: '127.0.0.1', port: 0 }],
      http: [{ host: '127.0.0.1', port, serve: ['gateway', 'health'] }],
    },
    ...options.config,
  };
  writeFileSync(file, JSON.stringify(config));
  const router = await startRouter({ args: ['--config', file, ...(options.args ?? [])] });
  rmSync(dir, { recursive: true, force: true });
  const http = router.listeners.find((l) => l.transport === 'http');
  if (http === undefined) throw new Error('no http listener in the listening line');
  const cli = async (args: string[]): Promise<string> => {
    const r = await runCli([...args, '--data', router.dataDir]);
    if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  return { router, base: `http://127.0.0.1:${http.port}`, cli, stop: async () => void (await router.stop()) };
}

/** A store realm with ticket users and grants: anonymous may register and publish under com.gw., call com.gw.open.; alice may call everything under com.gw. */
export async function setupRealm(g: GatewayRouter): Promise<void> {
  await g.cli(['realm', 'create', REALM, '--authmethods', 'anonymous,ticket']);
  await g.cli(['group', 'create', REALM, 'callers']);
  await g.cli(['user', 'create', REALM, 'alice', '--password', 'alice password 1', '--group', 'callers']);
  await g.cli(['user', 'create', REALM, 'hooker', '--password', 'hooker password 1']);
  const grant = (allow: string, uri: string, to: string) =>
    g.cli(['grant', 'create', REALM, '--allow', allow, '--uri', uri, '--match', 'prefix', '--to', to]);
  await grant('register,subscribe,publish', 'com.gw.', 'anonymous');
  await grant('call', 'com.gw.open.', 'anonymous');
  await grant('call,subscribe', 'wamp.subscription.', 'anonymous');
  await grant('call,publish', 'com.gw.', 'group:callers');
  await grant('publish', 'com.gw.hook.', 'user:hooker');
}

/** Adds a spec through the CLI (a file, as an operator would). */
export async function addApi(g: GatewayRouter, spec: Record<string, unknown>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-api-'));
  try {
    const file = join(dir, 'api.json');
    writeFileSync(file, JSON.stringify(spec));
    await g.cli(['api', 'add', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `cond` until it holds or `ms` pass. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
