// The gateway on a 3-node loopback mesh of real router processes: a realm, its grants and an
// API spec added on node A replicate, node C serves the spec within seconds, and a call through
// C's gateway reaches a callee (Autobahn|JS) connected to A. Deleting the spec on A stops C
// serving it. A's router killed while a call through C is in flight: C answers 502 with the
// mesh's wamp.error.network_failure.

import test, { type ExecutionContext } from 'ava';
import { openSession } from '../interop/support/autobahn-js.ts';
import { addApi, startGatewayRouter, until, type GatewayRouter } from './support.ts';

const SECRET = 'correct horse battery staple';
const REALM = 'com.mesh';

function meshConfig(node: string, seeds: string[]): Record<string, unknown> {
  return {
    mesh: {
      enabled: true,
      nodeId: node,
      cluster: { name: 'gw', secret: SECRET },
      listen: { host: '127.0.0.1', port: 0 },
      seeds,
      mdns: false,
      minLinks: 1,
      maxLinks: 4,
    },
  };
}

const meshPort = (g: GatewayRouter) => g.router.listeners.find((l) => l.transport === 'mesh')!.port;

/** Nodes alpha <- beta <- gamma (each seeds the previous one), stopped at the test's end. */
async function startChain(t: ExecutionContext): Promise<[GatewayRouter, GatewayRouter, GatewayRouter]> {
  const nodes: GatewayRouter[] = [];
  t.teardown(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const a = await startGatewayRouter({ config: meshConfig('alpha', []) });
  nodes.push(a);
  const b = await startGatewayRouter({ config: meshConfig('beta', [`127.0.0.1:${meshPort(a)}`]) });
  nodes.push(b);
  const c = await startGatewayRouter({ config: meshConfig('gamma', [`127.0.0.1:${meshPort(b)}`]) });
  nodes.push(c);
  await a.cli(['realm', 'create', REALM, '--authmethods', 'anonymous']);
  await a.cli([
    'grant',
    'create',
    REALM,
    '--allow',
    'call,register',
    '--uri',
    'com.mesh.',
    '--match',
    'prefix',
    '--to',
    'anonymous',
  ]);
  return [a, b, c];
}

test('a spec added on node A is served by node C; the call reaches a callee on A', async (t) => {
  const [a, , c] = await startChain(t);
  const added = Date.now();
  await addApi(a, {
    name: 'm',
    realm: REALM,
    basePath: '/m',
    routes: [{ method: 'POST', path: '/echo/{who}', call: 'com.mesh.echo', args: ['{path.who}', '{body}'] }],
  });
  // Until the realm's records reach A's own router the callee cannot join there; they are local.
  const callee = await openSession({ type: 'websocket', url: a.router.wsUrl }, 'callee on A', REALM);
  t.teardown(() => callee.close());
  await callee.session.register('com.mesh.echo', (args) => ({ node: 'alpha', args }));

  let last = '';
  await until(
    async () => {
      const r = await fetch(`${c.base}/m/echo/bob`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"n":1}',
      });
      last = `${r.status} ${await r.text()}`;
      return r.status === 200;
    },
    30_000,
    'C serves the spec and reaches the callee',
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last answer: ${last}`);
  });
  t.log(`spec served on C and call answered ${Date.now() - added} ms after it was added on A`);
  t.deepEqual(JSON.parse(last.slice(4)), { args: [{ node: 'alpha', args: ['bob', { n: 1 }] }], kwargs: {} });
  const listed = JSON.parse(await c.cli(['api', 'list'])) as { name: string }[];
  t.deepEqual(
    listed.map((x) => x.name),
    ['m'],
  );

  await a.cli(['api', 'delete', REALM, 'm']);
  await until(
    async () => (await fetch(`${c.base}/m/echo/bob`, { method: 'POST', body: '{}' })).status === 404,
    30_000,
    'C stops serving the deleted spec',
  );
  t.pass();
});

test("A's router killed while a call through C is in flight: 502 wamp.error.network_failure", async (t) => {
  const [a, , c] = await startChain(t);
  await addApi(a, {
    name: 'slow',
    realm: REALM,
    basePath: '/s',
    routes: [{ method: 'POST', path: '/wait', call: 'com.mesh.wait', args: ['{body}'], timeoutMs: 60_000 }],
  });
  const callee = await openSession({ type: 'websocket', url: a.router.wsUrl }, 'callee on A', REALM);
  t.teardown(() => callee.close().catch(() => undefined));
  let invoked = 0;
  // Answers the probe at once, holds every other call: the one in flight when A dies.
  await callee.session.register('com.mesh.wait', (args) => {
    if ((args?.[0] as { probe?: boolean } | undefined)?.probe === true) return 'ready';
    invoked++;
    return new Promise(() => {});
  });
  const post = (body: string, signal?: AbortSignal) =>
    fetch(`${c.base}/s/wait`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  await until(async () => (await post('{"probe":true}')).status === 200, 30_000, 'C reaches the callee on A');

  const started = Date.now();
  const inFlight = post('{}', AbortSignal.timeout(30_000));
  await until(() => invoked === 1, 10_000, 'the callee on A holds the call');
  process.kill(a.router.pid, 'SIGKILL');
  const r = await inFlight;
  const body = (await r.json()) as { error: string; args: unknown[]; kwargs: object };
  t.log(`502 ${Date.now() - started} ms after the call started: ${JSON.stringify(body)}`);
  t.is(r.status, 502);
  t.is(body.error, 'wamp.error.network_failure');
  t.true(Array.isArray(body.args));
  t.is(typeof body.kwargs, 'object');
});
