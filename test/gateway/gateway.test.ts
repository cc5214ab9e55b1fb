// The HTTP API gateway over real HTTP (Node's fetch and Debian's curl) against a real router
// process: a spec added with `wampmesh api add` to a store realm with users and grants,
// callees from Autobahn|JS and Autobahn|Python. Every row of the error table is asked for
// by a request that causes it.

import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { pack, unpack } from 'msgpackr';
import { PyAgent } from '../advanced/support/agent.ts';
import { connect } from '../helpers/raw-client.ts';
import {
  autobahn,
  onProgress,
  openSession,
  type AbInvocation,
  type OpenSession,
} from '../interop/support/autobahn-js.ts';
import { addApi, basic, REALM, setupRealm, startGatewayRouter, until, type GatewayRouter } from './support.ts';

const run = promisify(execFile);

const API = {
  name: 'shop',
  realm: REALM,
  basePath: '/api',
  maxBodyBytes: 1000,
  timeoutMs: 3000,
  statusCodes: { 'com.gw.error.not_found': 404 },
  routes: [
    { method: 'POST', path: '/echo', call: 'com.gw.open.echo' },
    {
      method: 'GET',
      path: '/items/{id}',
      call: 'com.gw.open.item.{path.id}',
      args: ['{path.id}', '{query.q}'],
      kwargs: { who: '{caller.authrole}', agent: '{header.x-agent}', note: 'id={path.id}' },
    },
    { method: 'POST', path: '/secret', call: 'com.gw.secret', result: 'first' },
    { method: 'POST', path: '/nobody', call: 'com.gw.open.nobody' },
    { method: 'POST', path: '/slow', call: 'com.gw.open.slow', timeoutMs: 400 },
    { method: 'POST', path: '/hold', call: 'com.gw.open.slow', timeoutMs: 10_000 },
    { method: 'POST', path: '/fail/{kind}', call: 'com.gw.open.fail', args: ['{path.kind}'] },
    { method: 'POST', path: '/events/{kind}', publish: 'com.gw.feed.{path.kind}' },
    { method: 'POST', path: '/progress', call: 'com.gw.open.progress', progress: true },
  ],
};
const PRIVATE = {
  name: 'private',
  realm: REALM,
  basePath: '/private',
  auth: ['basic'],
  routes: [{ method: 'POST', path: '/secret', call: 'com.gw.secret', result: 'first' }],
};

let g: GatewayRouter;
let callee: OpenSession;
let py: PyAgent;

test.before(async () => {
  g = await startGatewayRouter();
  await setupRealm(g);
  await addApi(g, API);
  await addApi(g, PRIVATE);
  callee = await openSession({ type: 'websocket', url: g.router.wsUrl }, 'callee', REALM);
  const s = callee.session;
  await s.register('com.gw.open.echo', (args, kwargs) => new autobahn.Result(args, kwargs));
  await s.register(
    'com.gw.open.item.',
    (args, kwargs, details: AbInvocation) => new autobahn.Result([details.procedure, ...args], kwargs),
    { match: 'prefix', details_arg: true },
  );
  await s.register('com.gw.secret', () => 'the secret');
  await s.register('com.gw.open.fail', (args) => {
    const uri = {
      notfound: 'com.gw.error.not_found',
      other: 'com.gw.error.other',
      invalid: 'wamp.error.invalid_argument',
      network: 'wamp.error.network_failure',
    }[String(args[0])];
    throw new autobahn.Error(uri ?? 'com.gw.error.unknown', ['because'], { kind: args[0] });
  });
  await s.register('com.gw.open.progress', (_a, _k, details: AbInvocation) => {
    for (let i = 0; i < 3; i++) details.progress?.([i]);
    return 'done';
  });
  py = await PyAgent.start(g.router);
  await py.request('connect', { session: 'py', realm: REALM });
  await py.request('register', { session: 'py', procedure: 'com.gw.open.slow', behavior: { kind: 'hold' } });
});

test.after.always(async () => {
  await py?.stop();
  await callee?.close();
  await g?.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${g.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function errorOf(
  r: Response,
): Promise<{ status: number; error: string; args: unknown[]; kwargs: Record<string, unknown> }> {
  const body = (await r.json()) as { error: string; args: unknown[]; kwargs: Record<string, unknown> };
  return { status: r.status, ...body };
}

test.serial('a call answers 200 with the result; templates fill URI, args and kwargs', async (t) => {
  const r = await post('/api/echo', { a: 1 });
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'application/json');
  t.deepEqual(await r.json(), { args: [{ a: 1 }], kwargs: {} });
  const item = await fetch(`${g.base}/api/items/n42?q=hello`, { headers: { 'x-agent': 'tester' } });
  t.is(item.status, 200);
  t.deepEqual(await item.json(), {
    args: ['com.gw.open.item.n42', 'n42', 'hello'],
    kwargs: { who: 'anonymous', agent: 'tester', note: 'id=n42' },
  });
  const secret = await post('/api/secret', {}, { authorization: basic('alice', 'alice password 1') });
  t.is(secret.status, 200);
  t.is(await secret.json(), 'the secret');
});

test.serial('a JSON number beyond the range of a double is 400, not null at the callee', async (t) => {
  // Also beyond a double with neither a long exponent nor a long run of digits alone.
  for (const body of [
    '{"x":1e999}',
    '[1, -1E+400]',
    `{"x":${'9'.repeat(400)}.5}`,
    `{"x":${'9'.repeat(300)}e10}`,
    `[1${'0'.repeat(220)}e99]`,
  ]) {
    const e = await errorOf(await post('/api/echo', body));
    t.deepEqual([e.status, e.error], [400, 'wamp.error.invalid_argument'], body);
    t.regex(String(e.args[0]), /beyond the range of a double/);
  }
  // Large but finite, and tiny (rounded to 0, as any JSON reader does): served.
  const ok = await post('/api/echo', '[1e308, 1e-400]');
  t.is(ok.status, 200);
  t.is(await ok.text(), '{"args":[[1e+308,0]],"kwargs":{}}');
});

test.serial('a callee that leaves mid-call: 502 wamp.error.canceled (504 is for the route timeout)', async (t) => {
  const leaving = await connect({ transport: 'websocket', url: g.router.wsUrl, serializer: 'json' });
  t.teardown(() => void leaving.destroy());
  await leaving.join(REALM);
  // An exact registration: it wins over the Autobahn callee's prefix one.
  await leaving.register('com.gw.open.item.leaving');
  const answer = fetch(`${g.base}/api/items/leaving`);
  await leaving.next((m) => m[0] === 68);
  await leaving.destroy();
  const e = await errorOf(await answer);
  t.deepEqual([e.status, e.error], [502, 'wamp.error.canceled']);
  t.is((await fetch(`${g.base}/api/items/n1`)).status, 200, 'the other callee still answers');
});

test.serial('CBOR and MessagePack in and out, by Content-Type and Accept', async (t) => {
  const c = await fetch(`${g.base}/api/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor', accept: 'application/cbor' },
    body: cborEncode({ bin: new Uint8Array([1, 2, 3]), n: 7 }),
  });
  t.is(c.status, 200);
  t.is(c.headers.get('content-type'), 'application/cbor');
  const cv = cborDecode(Buffer.from(await c.arrayBuffer())) as { args: [{ bin: Uint8Array; n: number }] };
  t.deepEqual([...cv.args[0].bin], [1, 2, 3]);
  t.is(cv.args[0].n, 7);
  const m = await fetch(`${g.base}/api/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
    body: pack({ x: 'y' }),
  });
  t.is(m.headers.get('content-type'), 'application/msgpack');
  t.deepEqual(unpack(Buffer.from(await m.arrayBuffer())), { args: [{ x: 'y' }], kwargs: {} });
});

test.serial('error table, row by row', async (t) => {
  // 400: malformed JSON, a path value that is not one URI component, a traversal segment.
  let e = await errorOf(await post('/api/echo', '{"a":'));
  t.is(e.status, 400);
  t.is(e.error, 'wamp.error.invalid_argument');
  e = await errorOf(await fetch(`${g.base}/api/items/a.b`));
  t.deepEqual([e.status, e.error], [400, 'wamp.error.invalid_argument']);
  e = await errorOf(await fetch(`${g.base}/api/items/..%2F..%2Fadmin`));
  t.deepEqual([e.status, e.error], [400, 'wamp.error.invalid_argument']);
  // A callee's invalid_argument is 400 too.
  e = await errorOf(await post('/api/fail/invalid', {}));
  t.deepEqual(
    [e.status, e.error, e.args, e.kwargs],
    [400, 'wamp.error.invalid_argument', ['because'], { kind: 'invalid' }],
  );
  // 401 + WWW-Authenticate: no credentials where anonymous is not accepted, a wrong password.
  let r = await post('/private/secret', {});
  e = await errorOf(r);
  t.is(e.status, 401);
  t.regex(r.headers.get('www-authenticate') ?? '', /^Basic realm="com\.gw"/);
  r = await post('/private/secret', {}, { authorization: basic('alice', 'wrong password') });
  e = await errorOf(r);
  t.deepEqual([e.status, e.error], [401, 'wamp.error.authentication_failed']);
  t.truthy(r.headers.get('www-authenticate'));
  // 403: anonymous may not call com.gw.secret.
  e = await errorOf(await post('/api/secret', {}));
  t.deepEqual([e.status, e.error], [403, 'wamp.error.not_authorized']);
  // 404: no such route; 405 for a path that exists with another method.
  e = await errorOf(await post('/api/nothing/here', {}));
  t.deepEqual([e.status, e.error], [404, 'wampmesh.error.no_such_route']);
  r = await fetch(`${g.base}/api/echo`);
  e = await errorOf(r);
  t.deepEqual([e.status, r.headers.get('allow')], [405, 'POST']);
  // 413: body over maxBodyBytes.
  e = await errorOf(await post('/api/echo', { big: 'x'.repeat(2000) }));
  t.deepEqual([e.status, e.error], [413, 'wampmesh.error.payload_too_large']);
  // 415: a body type the gateway does not read.
  e = await errorOf(await post('/api/echo', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }));
  t.is(e.status, 415);
  // 502: the far side failed (a mesh hop lost reaches the caller as network_failure).
  e = await errorOf(await post('/api/fail/network', {}));
  t.deepEqual([e.status, e.error], [502, 'wamp.error.network_failure']);
  // 503 + Retry-After: nobody registered.
  r = await post('/api/nobody', {});
  e = await errorOf(r);
  t.deepEqual([e.status, e.error, r.headers.get('retry-after')], [503, 'wamp.error.no_such_procedure', '5']);
  // Configured application URI -> its status; any other application URI -> 500.
  e = await errorOf(await post('/api/fail/notfound', {}));
  t.deepEqual(
    [e.status, e.error, e.args, e.kwargs],
    [404, 'com.gw.error.not_found', ['because'], { kind: 'notfound' }],
  );
  e = await errorOf(await post('/api/fail/other', {}));
  t.deepEqual([e.status, e.error], [500, 'com.gw.error.other']);
});

test.serial('504 at the route timeout: the callee (Autobahn|Python) sees the INTERRUPT', async (t) => {
  const before = py.events.filter((e) => e.event === 'interrupted').length;
  const started = Date.now();
  const e = await errorOf(await post('/api/slow', {}));
  t.deepEqual([e.status, e.error], [504, 'wamp.error.timeout']);
  t.true(Date.now() - started < 2500);
  await until(() => py.events.filter((x) => x.event === 'interrupted').length > before, 5000, 'interrupt');
});

test.serial('curl --max-time: the client going away cancels the call; the callee sees the INTERRUPT', async (t) => {
  const before = py.events.filter((e) => e.event === 'interrupted').length;
  const started = Date.now();
  const res = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '0.2',
    '-X',
    'POST',
    '-H',
    'content-type: application/json',
    '-d',
    '{}',
    `${g.base}/api/hold`,
  ]).catch((err: { code: number; stdout: string }) => err);
  t.is((res as { code?: number }).code, 28, 'curl timed out');
  await until(() => py.events.filter((x) => x.event === 'interrupted').length > before, 5000, 'interrupt');
  // Cancelled by the disconnect, long before the route's 10 s timeout would have.
  t.true(Date.now() - started < 2000);
});

test.serial('publish answers 202 with the publication ID (Autobahn|JS subscriber receives it)', async (t) => {
  const got: unknown[] = [];
  await callee.session.subscribe('com.gw.feed.', (args) => got.push(args[0]), { match: 'prefix' });
  const r = await post('/api/events/temp', { v: 21.5 });
  t.is(r.status, 202);
  const body = (await r.json()) as { publication: number };
  t.true(Number.isSafeInteger(body.publication) && body.publication > 0);
  await until(() => got.length === 1, 3000, 'event');
  t.deepEqual(got, [{ v: 21.5 }]);
});

test.serial('progressive results stream as NDJSON and as text/event-stream', async (t) => {
  const n = await post('/api/progress', {}, { accept: 'application/x-ndjson' });
  t.is(n.headers.get('content-type'), 'application/x-ndjson');
  const lines = (await n.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
  t.deepEqual(lines, [
    { progress: true, args: [0], kwargs: {} },
    { progress: true, args: [1], kwargs: {} },
    { progress: true, args: [2], kwargs: {} },
    { args: ['done'], kwargs: {} },
  ]);
  const { stdout } = await run('curl', [
    '-sN',
    '-X',
    'POST',
    '-H',
    'accept: text/event-stream',
    '-H',
    'content-type: application/json',
    '-d',
    '{}',
    `${g.base}/api/progress`,
  ]);
  t.is(stdout.split('\n\n').filter((b) => b.startsWith('data: ')).length, 4);
  t.regex(stdout, /data: \{"args":\["done"\],"kwargs":\{\}\}/);
  // Without a stream type in Accept: one answer.
  t.deepEqual(await (await post('/api/progress', {})).json(), { args: ['done'], kwargs: {} });
  void onProgress;
});

test.serial('a revoked grant applies to the very next request; a deleted API stops serving', async (t) => {
  t.is((await post('/api/secret', {}, { authorization: basic('alice', 'alice password 1') })).status, 200);
  const grants = JSON.parse(await g.cli(['grant', 'list', REALM])) as { id: number; uri: string; to: string[] }[];
  const id = grants.find((x) => x.to.includes('group:callers'))!.id;
  await g.cli(['grant', 'delete', REALM, String(id)]);
  const e = await errorOf(await post('/api/secret', {}, { authorization: basic('alice', 'alice password 1') }));
  t.is(e.status, 403);
  const listed = JSON.parse(await g.cli(['api', 'list'])) as { name: string }[];
  t.deepEqual(listed.map((a) => a.name).sort(), ['private', 'shop']);
  await g.cli(['api', 'delete', REALM, 'private']);
  t.is((await post('/private/secret', {})).status, 404);
});

test.serial('429 after repeated failed authentications from one address, with Retry-After', async (t) => {
  let last: Response | undefined;
  for (let i = 0; i < 15; i++) {
    last = await post('/api/secret', {}, { authorization: basic('alice', `wrong ${i}`) });
    if (last.status === 429) break;
    await last.arrayBuffer();
  }
  t.is(last!.status, 429);
  t.truthy(last!.headers.get('retry-after'));
  t.is(((await last!.json()) as { error: string }).error, 'wampmesh.error.too_many_requests');
});
