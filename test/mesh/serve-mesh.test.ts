// Real router processes linked into a mesh by static seeds on loopback: a call and an event
// cross between them, and a router without the cluster secret gets nothing; a credential
// changed on one router ends the user's sessions on the other; a security record forged into a
// link by a man in the middle is refused.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { connect, waitFor, type RawClient } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { runCli } from '../cli/run-cli.ts';
import { linkProxy } from '../helpers/link-proxy.ts';
import { encodeLinkFrame, LinkFrameType } from '../../src/mesh/links/framing.ts';
import { TAG_SIZE } from '../../src/mesh/links/integrity.ts';
import { validateFrame } from '../../src/mesh/routing/frames.ts';
import { cbor } from '../../src/serializers/cbor.ts';

const SECRET = 'correct horse battery staple';

async function meshRouter(
  t: { teardown(fn: () => unknown): void },
  node: string,
  seeds: string[],
  secret = SECRET,
  extra: Record<string, unknown> = {},
): Promise<RouterProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-meshcfg-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      mesh: {
        enabled: true,
        nodeId: node,
        cluster: { name: 'test', secret },
        listen: { host: '127.0.0.1', port: 0 },
        seeds,
        mdns: false,
        minLinks: 1,
        maxLinks: 4,
        ...extra,
      },
    }),
  );
  const r = await startRouter({ args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'] });
  t.teardown(async () => {
    await r.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return r;
}

const meshPort = (r: RouterProcess) => r.listeners.find((l) => l.transport === 'mesh')!.port;

test('two routers linked by a seed: a call and an event cross; a node without the secret is refused', async (t) => {
  const a = await meshRouter(t, 'alpha', []);
  const b = await meshRouter(t, 'beta', [`127.0.0.1:${meshPort(a)}`]);
  const callee = await connect({ transport: 'rawsocket', port: b.rawsocketPort, serializer: 'cbor' });
  await callee.join('realm1');
  callee.send([64, 1, {}, 'com.mesh.echo']);
  t.is((await callee.next((m) => m[0] === 65 || m[0] === 8))[0], 65);
  const caller = await connect({ transport: 'websocket', url: a.wsUrl, serializer: 'json' });
  await caller.join('realm1');
  caller.send([32, 1, {}, 'com.mesh.news']);
  await caller.next((m) => m[0] === 33);
  // The callee answers every invocation with its arguments.
  void (async () => {
    for (;;) {
      // Ends when the connection closes (next() rejects at once then, so it must not spin).
      const inv = await callee.next((m) => m[0] === 68, 60_000).catch(() => undefined);
      if (inv === undefined) return;
      callee.send([70, inv[1], {}, inv[4]]);
    }
  })();
  // The registration reaches alpha once the link is up and beta has advertised it: until
  // then calls get no_such_procedure, so poll with calls.
  let result: unknown[] | undefined;
  let request = 100;
  await waitFor(
    async () => {
      const id = ++request;
      caller.send([48, id, {}, 'com.mesh.echo', ['ping', new Uint8Array([0, 255])]]);
      const answer = await caller.next((m) => (m[0] === 50 || m[0] === 8) && m[m[0] === 8 ? 2 : 1] === id, 3000);
      if (answer[0] === 50) result = answer;
      return result !== undefined;
    },
    15_000,
    'a call from alpha answered by the callee on beta',
    100,
  );
  t.deepEqual((result![3] as unknown[])[0], 'ping');
  t.deepEqual(
    [...((result![3] as unknown[])[1] as Uint8Array)],
    [0, 255],
    'binary survives CBOR callee -> mesh -> JSON caller',
  );

  const publisher = await connect({ transport: 'rawsocket', port: b.rawsocketPort, serializer: 'msgpack' });
  await publisher.join('realm1');
  // A subscription is advertised to other routers a few milliseconds after SUBSCRIBED
  // (debounced, then flooded); probe until alpha's subscription is known on beta.
  await waitFor(
    async () => {
      publisher.send([16, 1, {}, 'com.mesh.news', ['probe']]);
      return (await caller.next((m) => m[0] === 36, 200).catch(() => undefined)) !== undefined;
    },
    10_000,
    'the subscription on alpha to become known on beta',
    0,
  );
  publisher.send([16, 2, { acknowledge: true }, 'com.mesh.news', ['hello from beta']]);
  await publisher.next((m) => m[0] === 17);
  const event = await caller.next((m) => m[0] === 36 && (m[4] as string[])[0] !== 'probe', 5000);
  t.deepEqual(event[4], ['hello from beta']);

  // `wampmesh mesh status` on beta shows its link to alpha and a route to it.
  const status = await runCli(['mesh', 'status', '--data', b.dataDir]);
  t.is(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as {
    node: string;
    links: string[];
    routes: Record<string, string>;
    transport: { links: { peer: string }[] };
  };
  t.is(parsed.node, 'beta');
  t.deepEqual(parsed.links, ['alpha']);
  t.is(parsed.routes.alpha, 'alpha');
  t.is(parsed.transport.links[0]?.peer, 'alpha');

  const intruder = await meshRouter(t, 'mallory', [`127.0.0.1:${meshPort(a)}`], 'a different secret entirely');
  const spy = await connect({ transport: 'rawsocket', port: intruder.rawsocketPort });
  await spy.join('realm1');
  spy.send([48, 1, {}, 'com.mesh.echo', ['x']]);
  const refused = await spy.next((m) => m[0] === 8 || m[0] === 50, 5000);
  t.is(refused[4], 'wamp.error.no_such_procedure', 'a router without the cluster secret learns no routes');
  for (const c of [callee, caller, publisher, spy]) c.close();
});

async function ticketLogin(port: number, realm: string, authid: string, ticket: string): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', port });
  c.send([1, realm, { roles: { caller: {} }, authmethods: ['ticket'], authid }]);
  const challenge = await c.next((m) => m[0] === 4 || m[0] === 3);
  if (challenge[0] === 4) c.send([5, ticket, {}]);
  const welcome = challenge[0] === 4 ? await c.next((m) => m[0] === 2 || m[0] === 3, 10_000) : challenge;
  if (welcome[0] !== 2) throw new Error(`${authid} could not log in: ${JSON.stringify(welcome)}`);
  return c;
}

test('with secretJoin off, a new router is refused until `wampmesh mesh admit` on a member, then links; its key file is 0600', async (t) => {
  const a = await meshRouter(t, 'alpha', [], SECRET, { cluster: { name: 'test', secret: SECRET, secretJoin: false } });
  const b = await meshRouter(t, 'beta', [`127.0.0.1:${meshPort(a)}`]);
  type Status = {
    links: string[];
    trust: { key: string; pending: Record<string, string>; members: Record<string, string> };
  };
  const status = async (r: RouterProcess): Promise<Status> => {
    const out = await runCli(['mesh', 'status', '--data', r.dataDir]);
    t.is(out.code, 0, out.stderr);
    return JSON.parse(out.stdout) as Status;
  };
  const betaKey = (await status(b)).trust.key;
  t.is(fs.statSync(path.join(b.dataDir, 'node-key.pem')).mode & 0o777, 0o600);
  await waitFor(
    async () => (await status(a)).trust.pending.beta === betaKey,
    15_000,
    'beta refused and pending on alpha',
    100,
  );
  t.deepEqual((await status(a)).links, []);
  const wrong = await runCli(['mesh', 'admit', 'beta', '--key', 'not-a-key', '--data', a.dataDir]);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /"key" must be a public key/);
  const admitted = await runCli(['mesh', 'admit', 'beta', '--data', a.dataDir]);
  t.is(admitted.code, 0, admitted.stderr);
  t.like(JSON.parse(admitted.stdout), { admitted: 'beta', key: betaKey });
  // Beta dials its seed again (with backoff) after each refusal.
  await waitFor(async () => (await status(a)).links.includes('beta'), 45_000, 'the link once beta is admitted', 200);
  t.is((await status(b)).trust.members.alpha, (await status(a)).trust.key);
});

test("a password changed on one router ends the user's session on another; an unrelated change does not", async (t) => {
  const a = await meshRouter(t, 'alpha', []);
  const b = await meshRouter(t, 'beta', [`127.0.0.1:${meshPort(a)}`]);
  const cli = async (args: string[], data: string) => {
    const r = await runCli([...args, '--data', data]);
    if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  // Replication is observed on beta through its own admin socket.
  const onBeta = (what: string, check: (user: Record<string, unknown>) => boolean) =>
    waitFor(
      async () => {
        const r = await runCli(['user', 'get', 'com.mesh', 'alice', '--data', b.dataDir]);
        return r.code === 0 && check(JSON.parse(r.stdout) as Record<string, unknown>);
      },
      20_000,
      what,
      100,
    );
  await cli(['realm', 'create', 'com.mesh', '--authmethods', 'ticket'], a.dataDir);
  await cli(['user', 'create', 'com.mesh', 'alice', '--password', 'first password'], a.dataDir);
  await onBeta('alice to reach beta', () => true);
  const alice = await ticketLogin(b.rawsocketPort, 'com.mesh', 'alice', 'first password');

  await cli(['user', 'update', 'com.mesh', 'alice', '--meta', '{"desk":"3F"}'], a.dataDir);
  await onBeta('the meta change to reach beta', (u) => (u.meta as Record<string, unknown>).desk === '3F');
  t.is(
    (await alice.call('com.mesh.ping', [], {}, 5000))[4],
    'wamp.error.not_authorized',
    'still in session after an unrelated change',
  );

  await cli(['user', 'update', 'com.mesh', 'alice', '--password', 'second password'], a.dataDir);
  t.deepEqual(await alice.next((m) => m[0] === 6, 20_000), [
    6,
    { message: "credentials changed for user 'alice' in realm 'com.mesh'" },
    'wamp.close.killed',
  ]);
  const again = await ticketLogin(b.rawsocketPort, 'com.mesh', 'alice', 'second password');
  t.false(again.isClosed, 'the new password works on beta');
  for (const c of [alice, again]) void c.destroy();
});

test(
  'mesh.maxFrameBytes from the config file: a call or a result too large ' +
    'for the link is answered at once with wamp.error.payload_size_exceeded',
  async (t) => {
    const small = { maxFrameBytes: 65_536 };
    const a = await meshRouter(t, 'alpha', [], SECRET, small);
    const b = await meshRouter(t, 'beta', [`127.0.0.1:${meshPort(a)}`], SECRET, small);
    const callee = await connect({ transport: 'rawsocket', port: b.rawsocketPort, serializer: 'cbor' });
    await callee.join('realm1');
    callee.send([64, 1, {}, 'com.mesh.big']);
    t.is((await callee.next((m) => m[0] === 65 || m[0] === 8))[0], 65);
    const big = 'x'.repeat(100_000);
    let invocations = 0;
    void (async () => {
      for (;;) {
        const inv = await callee.next((m) => m[0] === 68, 60_000).catch(() => undefined);
        if (inv === undefined) return;
        invocations++;
        callee.send([70, inv[1], {}, (inv[4] as unknown[])[0] === 'big' ? [big] : inv[4]]);
      }
    })();
    const caller = await connect({ transport: 'rawsocket', port: a.rawsocketPort, serializer: 'msgpack' });
    await caller.join('realm1');
    let request = 0;
    const answer = async (args: unknown[]) => {
      const id = ++request;
      const started = performance.now();
      caller.send([48, id, {}, 'com.mesh.big', args]);
      const m = await caller.next((x) => (x[0] === 50 || x[0] === 8) && x[x[0] === 8 ? 2 : 1] === id, 3000);
      return { m, ms: performance.now() - started };
    };
    await waitFor(
      async () => (await answer(['probe'])).m[0] === 50,
      15_000,
      'the registration on beta to be known on alpha',
      100,
    );
    const before = invocations;
    const call = await answer([big]);
    t.like(call.m, [8, 48, request, {}, 'wamp.error.payload_size_exceeded']);
    t.true(call.ms < 1000, `call answered after ${Math.round(call.ms)} ms`);
    const result = await answer(['big']);
    t.like(result.m, [8, 48, request, {}, 'wamp.error.payload_size_exceeded']);
    t.true(result.ms < 1000, `result answered after ${Math.round(result.ms)} ms`);
    t.is(invocations - before, 1, 'the oversize call never reached the callee');
    t.is((await answer(['after'])).m[0], 50, 'the link is still up');
    for (const c of [callee, caller]) c.close();
  },
);

test('a user record forged into a link by a man in the middle (no TLS) is not applied: the link closes, both routers log why, and it comes back', async (t) => {
  const a = await meshRouter(t, 'alpha', []);
  const proxy = await linkProxy(t, meshPort(a));
  const b = await meshRouter(t, 'beta', [`127.0.0.1:${proxy.port}`]);
  const cli = async (args: string[], data: string) => {
    const r = await runCli([...args, '--data', data]);
    if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const onBeta = (authid: string) =>
    waitFor(
      async () => (await runCli(['user', 'get', 'com.mesh', authid, '--data', b.dataDir])).code === 0,
      20_000,
      `${authid} to reach beta`,
      100,
    );
  await cli(['realm', 'create', 'com.mesh', '--authmethods', 'ticket'], a.dataDir);
  await cli(['user', 'create', 'com.mesh', 'alice', '--password', 'alice password'], a.dataDir);
  await onBeta('alice');

  // Alice's record as it crossed the link (beta dialed, so alpha -> beta is "to the dialer"),
  // copied as "mallory" with alice's password: well-formed, so applied if a member had sent it.
  const conn = proxy.conns.at(-1)!;
  type Push = { t: string; records: { key: string; value: Record<string, unknown> }[] };
  const pushes = conn.toDialer.frames
    .filter((f) => f.type === LinkFrameType.MESH)
    .flatMap((f) => cbor.decode(f.payload) as Push[]);
  const alice = pushes
    .filter((p) => p.t === 'repl-push')
    .flatMap((p) => p.records)
    .find((r) => r.key === 'user|com.mesh|alice');
  t.truthy(alice, 'the record crossed the proxy');
  const forged = {
    t: 'repl-push',
    records: [{ ...alice!, key: 'user|com.mesh|mallory', value: { ...alice!.value, authid: 'mallory' } }],
  };
  t.is(typeof validateFrame(forged), 'object', 'a well-formed replication frame');
  conn.toDialer.inject(
    Buffer.concat([
      encodeLinkFrame(LinkFrameType.MESH, cbor.encode([forged] as unknown[])),
      encodeLinkFrame(LinkFrameType.TAG, randomBytes(TAG_SIZE)),
    ]),
  );

  await waitFor(
    () => /failed its integrity check/.test(b.stderr()),
    10_000,
    'the integrity failure logged on beta',
    50,
  );
  const line = b
    .stderr()
    .split('\n')
    .find((l) => l.includes('failed its integrity check'))!;
  t.like(JSON.parse(line) as Record<string, unknown>, { code: 'integrity', peer: 'alpha' });
  await waitFor(() => /closed by the peer \(integrity\)/.test(a.stderr()), 10_000, 'alpha told why', 50);

  // The link comes back by itself (beta redials its seed) and carries genuine changes again.
  await cli(['user', 'create', 'com.mesh', 'bob', '--password', 'bob password'], a.dataDir);
  await onBeta('bob');
  t.true(proxy.conns.length >= 2, 'a new connection');
  for (const r of [a, b]) {
    t.not((await runCli(['user', 'get', 'com.mesh', 'mallory', '--data', r.dataDir])).code, 0, 'no mallory');
    const c = await connect({ transport: 'rawsocket', port: r.rawsocketPort });
    c.send([1, 'com.mesh', { roles: { caller: {} }, authmethods: ['ticket'], authid: 'mallory' }]);
    const first = await c.next((m) => m[0] === 4 || m[0] === 3 || m[0] === 2, 5000);
    let answer = first;
    if (first[0] === 4) {
      c.send([5, 'alice password', {}]);
      answer = await c.next((m) => m[0] === 2 || m[0] === 3, 5000);
    }
    t.is(answer[0], 3, 'mallory cannot log in');
    void c.destroy();
  }
});
