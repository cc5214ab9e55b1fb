// The OAuth2 endpoints over real HTTP on the serve command's own wiring (startServer, a real
// SQLite file): Debian curl and Node's fetch as clients, the tokens checked by a third party
// (Debian python3-jwt, against the JWKS it fetches itself), and the same token opening a WAMP
// session with Autobahn|Python's ticket authenticator and with authmethod oauth2.

import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { parseConfig } from '../../src/config/config.ts';
import { startServer, type Server } from '../../src/cli/serve.ts';
import { silentLogger } from '../../src/log.ts';
import { openDatabase } from '../../src/store/database.ts';
import { createSecurity } from '../../src/security/index.ts';
import { connect, waitFor } from '../helpers/raw-client.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHashing } from '../security/helpers.ts';

const run = promisify(execFile);
const REALM = 'com.app';
const PASSWORD = 'correct horse battery';
const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';
const authClient = fileURLToPath(new URL('../security/python/auth_client.py', import.meta.url));

let server: Server;
let dir = '';
let base = '';
let wsUrl = '';
let rawPort = 0;

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-oauth2-'));
  const db = openDatabase(dir);
  const s = createSecurity(db, { hashing: testHashing }).store;
  s.createRealm({ uri: REALM, authmethods: ['ticket', 'oauth2'] });
  s.createRealm({ uri: 'com.other', authmethods: ['oauth2'] });
  s.createGroup(REALM, { name: 'app' });
  for (const authid of ['alice', 'bob', 'carol']) s.createUser(REALM, { authid, password: PASSWORD, groups: ['app'] });
  s.createUser(REALM, { authid: 'svc', password: 'service secret 1' });
  s.createUser('com.other', { authid: 'alice', password: PASSWORD });
  s.createRealm({ uri: 'com.short', authmethods: ['oauth2'] });
  s.createUser('com.short', { authid: 'alice', password: PASSWORD });
  s.createGrant(REALM, { permissions: ['call'], uri: 'wamp.session.', match: 'prefix', to: ['group:app'] });
  db.close();
  const config = parseConfig(
    {
      dataDir: dir,
      realms: [{ uri: 'open', anonymous: true }],
      listeners: {
        websocket: [{ host: '127.0.0.1', port: 0 }],
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        http: [{ host: '127.0.0.1', port: 0, serve: ['oauth2'] }],
      },
      oauth2: {
        realms: [
          { realm: REALM },
          { realm: 'com.other', audience: 'other-api' },
          { realm: 'com.short', accessTokenTtlSec: 10, leewaySec: 0 },
        ],
      },
    },
    'test',
  );
  server = await startServer(config, silentLogger);
  const http = server.listeners.find((l) => l.transport === 'http') as { port: number };
  const ws = server.listeners.find((l) => l.transport === 'websocket') as { port: number };
  rawPort = (server.listeners.find((l) => l.transport === 'rawsocket') as { port: number }).port;
  base = `http://127.0.0.1:${http.port}/oauth2`;
  wsUrl = `ws://127.0.0.1:${ws.port}/ws`;
});

test.after.always(async () => {
  await server?.stop();
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

/** curl's status line and body: `-w` appends the status after the body. */
async function curl(args: string[]): Promise<{ status: number; body: Record<string, unknown> | string }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args], { timeout: 20_000 });
  const i = stdout.lastIndexOf('\n');
  const text = stdout.slice(0, i);
  let body: Record<string, unknown> | string = text;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: Number(stdout.slice(i + 1)), body };
}

async function post(endpoint: string, fields: Record<string, string>, realm = REALM) {
  const res = await fetch(`${base}/${encodeURIComponent(realm)}/${endpoint}`, {
    method: 'POST',
    body: new URLSearchParams(fields),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

const passwordGrant = (username = 'alice', realm = REALM) =>
  post('token', { grant_type: 'password', username, password: PASSWORD }, realm);

/** python3-jwt verifies `token` with the key its PyJWKClient fetches from the JWKS URL. */
async function pyjwt(token: string, audience: string, realm = REALM) {
  const script = `
import json, sys, jwt
client = jwt.PyJWKClient(sys.argv[1])
key = client.get_signing_key_from_jwt(sys.argv[2])
try:
    claims = jwt.decode(sys.argv[2], key.key, algorithms=["ES256"], audience=sys.argv[3], issuer="wampmesh")
    print(json.dumps({"ok": True, "claims": claims, "version": jwt.__version__}))
except jwt.InvalidTokenError as e:
    print(json.dumps({"ok": False, "error": type(e).__name__}))
`;
  const { stdout } = await run(python, ['-c', script, `${base}/${realm}/jwks`, token, audience], { timeout: 30_000 });
  return JSON.parse(stdout) as { ok: boolean; claims?: Record<string, unknown>; error?: string };
}

async function wampLogin(token: string, authmethods: string[] = ['oauth2'], authid?: string, realm = REALM) {
  const c = await connect({ transport: 'rawsocket', port: rawPort });
  c.send([1, realm, { roles: { caller: {} }, authmethods, ...(authid !== undefined && { authid }) }]);
  const first = await c.next((m) => m[0] === 4 || m[0] === 3 || m[0] === 2, 10_000);
  if (first[0] !== 4) {
    c.close();
    return first;
  }
  c.send([5, token, {}]);
  const answer = await c.next((m) => m[0] === 2 || m[0] === 3, 10_000);
  c.close();
  return answer;
}

test.serial('curl: password grant; the token checked by python3-jwt against the JWKS', async (t) => {
  const r = await curl([
    '-d',
    'grant_type=password',
    '-d',
    'username=alice',
    '--data-urlencode',
    `password=${PASSWORD}`,
    `${base}/${REALM}/token`,
  ]);
  t.is(r.status, 200, JSON.stringify(r.body));
  const body = r.body as Record<string, unknown>;
  t.like(body, { token_type: 'Bearer', expires_in: 900 });
  const checked = await pyjwt(body.access_token as string, REALM);
  t.true(checked.ok, JSON.stringify(checked));
  t.like(checked.claims!, { sub: 'alice', role: 'app', realm: REALM, iss: 'wampmesh', aud: REALM });
  t.deepEqual(await pyjwt(body.access_token as string, 'some-other-api'), { ok: false, error: 'InvalidAudienceError' });
  // The second realm's tokens carry its configured audience.
  const other = await passwordGrant('alice', 'com.other');
  t.is(other.status, 200);
  t.true((await pyjwt(other.body.access_token as string, 'other-api', 'com.other')).ok);
  t.is((await wampLogin(other.body.access_token as string))[0], 3, "com.other's token does not open com.app");
});

test.serial(
  'an access token expires: a session opens with it until exp, then neither WAMP nor python3-jwt take it',
  async (t) => {
    const issued = await passwordGrant('alice', 'com.short');
    t.is(issued.status, 200);
    t.is(issued.body.expires_in, 10);
    const token = issued.body.access_token as string;
    const started = Date.now();
    t.is((await wampLogin(token, ['oauth2'], undefined, 'com.short'))[0], 2);
    await waitFor(
      async () => (await wampLogin(token, ['oauth2'], undefined, 'com.short'))[0] === 3,
      25_000,
      'the token to expire',
      250,
    );
    t.true(Date.now() - started >= 8_000, `refused after ${Date.now() - started} ms, before its exp`);
    t.deepEqual(await pyjwt(token, 'com.short', 'com.short'), { ok: false, error: 'ExpiredSignatureError' });
  },
);

test.serial('JWKS at /jwks and /.well-known/jwks.json, no private parts; 404 and 405 elsewhere', async (t) => {
  const a = await fetch(`${base}/${REALM}/jwks`);
  t.is(a.status, 200);
  const jwks = (await a.json()) as { keys: Record<string, unknown>[] };
  t.is(jwks.keys.length, 1);
  t.like(jwks.keys[0]!, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  t.false('d' in jwks.keys[0]!);
  t.deepEqual(await (await fetch(`${base}/${REALM}/.well-known/jwks.json`)).json(), jwks);
  t.is((await fetch(`${base}/com.unknown/jwks`)).status, 404);
  t.is((await fetch(`${base}/${REALM}/token`)).status, 405);
  t.is((await fetch(`${base}/${REALM}/token`)).headers.get('allow'), 'POST');
});

test.serial('fetch: refresh rotates; the old refresh token replayed revokes the family', async (t) => {
  const first = await passwordGrant();
  t.is(first.status, 200);
  t.is(first.headers.get('cache-control'), 'no-store');
  const second = await post('token', {
    grant_type: 'refresh_token',
    refresh_token: first.body.refresh_token as string,
  });
  t.is(second.status, 200);
  t.not(second.body.refresh_token, first.body.refresh_token);
  t.is((await wampLogin(second.body.access_token as string))[0], 2, 'the new access token opens a session');
  const replay = await post('token', {
    grant_type: 'refresh_token',
    refresh_token: first.body.refresh_token as string,
  });
  t.like(replay, { status: 400, body: { error: 'invalid_grant' } });
  const current = await post('token', {
    grant_type: 'refresh_token',
    refresh_token: second.body.refresh_token as string,
  });
  t.like(current, { status: 400, body: { error: 'invalid_grant' } });
  t.is((await wampLogin(second.body.access_token as string))[0], 3, 'its last access token is revoked too');
});

test.serial('curl: client_credentials with Basic; revocation (RFC 7009) of an access token', async (t) => {
  const r = await curl(['-u', 'svc:service secret 1', '-d', 'grant_type=client_credentials', `${base}/${REALM}/token`]);
  t.is(r.status, 200, JSON.stringify(r.body));
  const access = (r.body as Record<string, unknown>).access_token as string;
  t.like((await wampLogin(access, ['oauth2']))[2] as object, { authid: 'svc', authmethod: 'oauth2' });
  const revoked = await curl([
    '-u',
    'svc:service secret 1',
    '-d',
    `token=${access}`,
    '-d',
    'token_type_hint=access_token',
    `${base}/${REALM}/revoke`,
  ]);
  t.is(revoked.status, 200);
  t.is(revoked.body, '');
  const after = await wampLogin(access);
  t.is(after[0], 3);
  t.is(after[2], 'wamp.error.authentication_failed');
  const wrong = await curl([
    '-i',
    '-u',
    'svc:wrong secret',
    '-d',
    'grant_type=client_credentials',
    `${base}/${REALM}/token`,
  ]);
  t.is(wrong.status, 401);
  t.regex(wrong.body as string, /www-authenticate: Basic realm="com\.app"/i);
  t.regex(wrong.body as string, /"error":"invalid_client"/);
});

test.serial('errors per RFC 6749 5.2 over HTTP', async (t) => {
  t.like(await post('token', { grant_type: 'implicit' }), { status: 400, body: { error: 'unsupported_grant_type' } });
  t.like(await post('token', {}), { status: 400, body: { error: 'invalid_request' } });
  t.like(await post('token', { grant_type: 'password', username: 'bob', password: 'wrong password' }), {
    status: 400,
    body: { error: 'invalid_grant' },
  });
  const json = await fetch(`${base}/${REALM}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password' }),
  });
  t.is(json.status, 400);
  t.is(((await json.json()) as { error: string }).error, 'invalid_request');
  const big = await fetch(`${base}/${REALM}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=password&x=${'a'.repeat(20_000)}`,
  });
  t.is(big.status, 413);
});

test.serial('a user disabled or deleted on the running router: its token opens no session', async (t) => {
  const cli = async (args: string[]) => {
    const r = await runCli([...args, '--data', dir]);
    t.is(r.code, 0, r.stderr);
  };
  const carol = (await passwordGrant('carol')).body;
  const bob = (await passwordGrant('bob')).body;
  t.is((await wampLogin(carol.access_token as string))[0], 2);
  await cli(['user', 'update', REALM, 'carol', '--disabled', 'on']);
  t.is((await wampLogin(carol.access_token as string))[0], 3, 'disabled');
  const refresh = await post('token', { grant_type: 'refresh_token', refresh_token: carol.refresh_token as string });
  t.like(refresh, { status: 400, body: { error: 'invalid_grant' } });
  await cli(['user', 'delete', REALM, 'bob']);
  t.is((await wampLogin(bob.access_token as string))[0], 3, 'deleted');
});

const pythonOk = fs.existsSync(python);
(pythonOk ? test.serial : test.skip)('Autobahn|Python joins with the token as its ticket', async (t) => {
  const access = (await passwordGrant()).body.access_token as string;
  const out = await new Promise<string>((resolve) => {
    const child = spawn(
      python,
      [
        authClient,
        '--url',
        wsUrl,
        '--realm',
        REALM,
        '--method',
        'ticket',
        '--authid',
        'alice',
        '--secret',
        access,
        '--call',
        'wamp.session.count',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
    );
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  t.like(r, { joined: true, authid: 'alice', authrole: 'app', authmethod: 'ticket' }, out);
  t.like(r.call as object, { result: 1 });
});

test.serial('Autobahn|JS joins with authmethod oauth2, answering the CHALLENGE with the token', async (t) => {
  const access = (await passwordGrant()).body.access_token as string;
  const autobahn = createRequire(import.meta.url)('autobahn') as {
    Connection: new (
      o: Record<string, unknown>,
    ) => {
      open(): void;
      close(): void;
      onopen: (s: unknown, d: Record<string, unknown>) => void;
      onclose: (reason: string, d: Record<string, unknown>) => boolean;
    };
  };
  const seen: string[] = [];
  const joined = await new Promise<Record<string, unknown>>((resolve) => {
    const connection = new autobahn.Connection({
      url: wsUrl,
      realm: REALM,
      authmethods: ['oauth2'],
      onchallenge: (_s: unknown, method: string) => {
        seen.push(method);
        return access;
      },
      max_retries: 0,
    });
    connection.onopen = (_s, details) => {
      resolve({ joined: true, ...details });
      connection.close();
    };
    connection.onclose = (reason, details) => {
      resolve({ joined: false, reason, ...details });
      return true;
    };
    connection.open();
  });
  t.deepEqual(seen, ['oauth2']);
  t.like(joined, { joined: true, authid: 'alice', authmethod: 'oauth2', authrole: 'app' }, JSON.stringify(joined));
});

test.serial('hostile input: bad Basic, bad UTF-8, bad paths, garbage tokens get clear answers', async (t) => {
  const raw = (endpoint: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
    fetch(`${base}/${REALM}/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const bad = await raw('token', 'grant_type=client_credentials', { authorization: 'Basic !!!' });
  t.is(bad.status, 401);
  t.is(((await bad.json()) as { error: string }).error, 'invalid_client');
  const utf8 = await raw('token', new Uint8Array([0x67, 0x3d, 0xff, 0xfe]));
  t.is(utf8.status, 400);
  t.is((await fetch(`${base}/%E0%A4%A/token`, { method: 'POST' })).status, 404);
  t.is((await fetch(`${base}/${REALM}/../token`, { method: 'POST' })).status, 404);
  t.is((await fetch(`${base}/${REALM}/token/extra`, { method: 'POST' })).status, 404);
  const garbage = await post('token', { grant_type: 'refresh_token', refresh_token: 'x'.repeat(2000) });
  t.like(garbage, { status: 400, body: { error: 'invalid_grant' } });
  t.is((await raw('revoke', `token=${'eyJ'.repeat(3000)}.e.e`)).status, 200);
  t.is((await wampLogin(`${'a'.repeat(5000)}.b.c`))[0], 3, 'a huge ticket-shaped token is refused, not parsed');
});

test.serial('failed attempts from one address are throttled: 429 with Retry-After', async (t) => {
  let last = 0;
  for (let i = 0; i < 12 && last !== 429; i++)
    last = (await post('token', { grant_type: 'password', username: `nobody${i}`, password: 'wrong password' })).status;
  t.is(last, 429);
  const r = await post('token', { grant_type: 'password', username: 'alice', password: PASSWORD });
  t.is(r.status, 429);
  t.is(r.headers.get('retry-after'), '6');
});
