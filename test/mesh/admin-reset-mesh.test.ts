// `wampmesh admin reset` in a mesh: the repairs are local changes recorded as new versions when
// the router starts, so they replicate on its first link and win over the records that locked
// the admin realm, on every node. Two real routers, real data folders.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { connect, waitFor } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { runCli } from '../cli/run-cli.ts';

const ADMIN = 'wampmesh.admin';

async function node(
  t: { teardown(fn: () => unknown): void },
  name: string,
  data: string,
  seeds: string[],
): Promise<RouterProcess> {
  const file = path.join(path.dirname(data), `${name}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      mesh: {
        enabled: true,
        nodeId: name,
        cluster: { name: 'reset', secret: 'a cluster secret for the reset test' },
        listen: { host: '127.0.0.1', port: 0 },
        seeds,
        mdns: false,
        minLinks: 1,
      },
    }),
  );
  const r = await startRouter({
    dataDir: data,
    args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'],
  });
  t.teardown(() => r.stop());
  return r;
}

async function cli(args: string[], data: string): Promise<unknown> {
  const r = await runCli([...args, '--data', data]);
  if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
}

async function ticketWelcome(port: number, authid: string, ticket: string): Promise<number> {
  const c = await connect({ transport: 'rawsocket', port });
  try {
    c.send([1, ADMIN, { roles: { caller: {} }, authmethods: ['ticket'], authid }]);
    const first = await c.next((m) => m[0] === 4 || m[0] === 3);
    if (first[0] !== 4) return first[0] as number;
    c.send([5, ticket, {}]);
    return (await c.next((m) => m[0] === 2 || m[0] === 3, 10_000))[0] as number;
  } finally {
    c.close();
  }
}

test('a reset on one stopped node replicates when it comes back, undoing a replicated lockout of admin', async (t) => {
  t.timeout(120_000);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-reset-mesh-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const dataA = path.join(base, 'a', 'data');
  const dataB = path.join(base, 'b', 'data');
  fs.mkdirSync(path.dirname(dataA));
  fs.mkdirSync(path.dirname(dataB));
  const beta = await node(t, 'beta', dataB, []);
  const seed = `127.0.0.1:${beta.listeners.find((l) => l.transport === 'mesh')!.port}`;
  let alpha = await node(t, 'alpha', dataA, [seed]);

  // On beta: a second administrator, then admin disabled (allowed with --force: ops remains).
  await cli(['user', 'create', ADMIN, 'ops', '--password', 'ops password 1', '--group', 'admin'], dataB);
  await cli(['user', 'update', ADMIN, 'admin', '--disabled', 'on', '--force'], dataB);
  await waitFor(
    async () => (await runCli(['realm', 'list', '--data', dataA])).code !== 0,
    20_000,
    'the change to reach alpha (its CLI, admin by trust, is refused)',
    200,
  );

  await alpha.stop();
  const reset = await runCli(
    ['admin', 'reset', '--data', dataA, '--password-stdin'],
    20_000,
    undefined,
    'admin is back 123\n',
  );
  t.is(reset.code, 0, reset.stderr);
  t.regex(reset.stdout, /user admin enabled, in group admin/);
  alpha = await node(t, 'alpha', dataA, [seed]);

  // beta learns it on the first link: admin is enabled there too, with the new password.
  await waitFor(
    async () => (await ticketWelcome(beta.rawsocketPort, 'admin', 'admin is back 123')) === 2,
    30_000,
    'admin to log in on beta with the new password',
    300,
  );
  const onBeta = (await cli(['user', 'get', ADMIN, 'admin'], dataB)) as { disabled?: boolean; authmethods: string[] };
  t.is(onBeta.disabled, undefined);
  t.true(onBeta.authmethods.includes('ticket'));
  t.is(await ticketWelcome(alpha.rawsocketPort, 'ops', 'ops password 1'), 2, 'nothing else changed: ops still gets in');
});
