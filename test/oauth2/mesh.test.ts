// OAuth2 across a loopback mesh of two real router processes: a token issued on alpha opens a
// session on beta (alpha's public key replicated, its private key never), beta's JWKS lists
// both nodes' keys (python3-jwt verifies alpha's token with it), a refresh token from alpha
// rotates on beta, and a token revoked on beta or a user disabled on alpha is refused on the
// other node.

import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import Database from 'better-sqlite3';
import { connect, waitFor } from '../helpers/raw-client.ts';
import type { RouterProcess } from '../helpers/router-process.ts';
import { startMeshNode } from '../helpers/mesh-node.ts';
import { runCli } from '../cli/run-cli.ts';

const run = promisify(execFile);
const SECRET = 'correct horse battery staple';
const REALM = 'com.mesh';
const PASSWORD = 'alice password 1';
const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';

async function meshRouter(t: { teardown(fn: () => unknown): void }, node: string, seeds: string[]) {
  // Its own data folder: it outlives stop(), so the database can be read after it.
  return startMeshNode(t, {
    node,
    seeds,
    cluster: { name: 'oauth2-test', secret: SECRET },
    mesh: { maxLinks: 4 },
    config: {
      listeners: { http: [{ host: '127.0.0.1', port: 0, serve: ['oauth2'] }] },
      oauth2: { realms: [{ realm: REALM }] },
    },
    ownDataDir: true,
  });
}

const portOf = (r: RouterProcess, transport: string) => r.listeners.find((l) => l.transport === transport)!.port;
const oauth = (r: RouterProcess) => `http://127.0.0.1:${portOf(r, 'http')}/oauth2/${REALM}`;

async function post(r: RouterProcess, endpoint: string, fields: Record<string, string>) {
  const res = await fetch(`${oauth(r)}/${endpoint}`, { method: 'POST', body: new URLSearchParams(fields) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** WELCOME (2) or ABORT (3) for a HELLO with authmethod oauth2 and `token`. */
async function sessionWith(r: RouterProcess, token: string): Promise<number> {
  const c = await connect({ transport: 'rawsocket', port: r.rawsocketPort });
  c.send([1, REALM, { roles: { caller: {} }, authmethods: ['oauth2'] }]);
  const first = await c.next((m) => m[0] === 4 || m[0] === 3, 10_000);
  let code = first[0] as number;
  if (code === 4) {
    c.send([5, token, {}]);
    code = (await c.next((m) => m[0] === 2 || m[0] === 3, 10_000))[0] as number;
  }
  c.close();
  return code;
}

test('a token issued on one node is honoured, refreshed and revoked across the mesh', async (t) => {
  const a = await meshRouter(t, 'alpha', []);
  const b = await meshRouter(t, 'beta', [`127.0.0.1:${portOf(a, 'mesh')}`]);
  const cli = async (args: string[], r: RouterProcess) => {
    const res = await runCli([...args, '--data', r.dataDir]);
    if (res.code !== 0) throw new Error(`wampmesh ${args.join(' ')} -> ${res.code}: ${res.stderr}`);
  };
  await cli(['realm', 'create', REALM, '--authmethods', 'ticket,oauth2'], a);
  await cli(['user', 'create', REALM, 'alice', '--password', PASSWORD], a);
  await waitFor(
    async () => (await runCli(['user', 'get', REALM, 'alice', '--data', b.dataDir])).code === 0,
    20_000,
    'alice to reach beta',
    100,
  );

  const issued = await post(a, 'token', { grant_type: 'password', username: 'alice', password: PASSWORD });
  t.is(issued.status, 200, JSON.stringify(issued.body));
  const access = issued.body.access_token as string;
  await waitFor(
    async () => (await sessionWith(b, access)) === 2,
    20_000,
    "alpha's token to open a session on beta",
    100,
  );

  const jwks = (await (await fetch(`${oauth(b)}/jwks`)).json()) as { keys: { kid: string }[] };
  t.is(jwks.keys.length, 2, "beta's JWKS lists both nodes' keys");
  const { stdout } = await run(
    python,
    [
      '-c',
      'import sys, jwt; k = jwt.PyJWKClient(sys.argv[1]).get_signing_key_from_jwt(sys.argv[2]); ' +
        'print(jwt.decode(sys.argv[2], k.key, algorithms=["ES256"], audience=sys.argv[3])["sub"])',
      `${oauth(b)}/jwks`,
      access,
      REALM,
    ],
    { timeout: 30_000 },
  );
  t.is(stdout.trim(), 'alice', "python3-jwt verifies alpha's token with beta's JWKS");
  // Alpha's refresh token rotates on beta once its family has replicated.
  let refreshed: Awaited<ReturnType<typeof post>> | undefined;
  await waitFor(
    async () => {
      refreshed = await post(b, 'token', {
        grant_type: 'refresh_token',
        refresh_token: issued.body.refresh_token as string,
      });
      return refreshed.status === 200;
    },
    20_000,
    "alpha's refresh token to be accepted on beta",
    200,
  );
  const second = refreshed!.body;
  t.is(await sessionWith(a, second.access_token as string), 2, "beta's token opens a session on alpha");

  // Revoked on beta: refused on alpha.
  t.is((await post(b, 'revoke', { token: second.access_token as string })).status, 200);
  await waitFor(
    async () => (await sessionWith(a, second.access_token as string)) === 3,
    20_000,
    'the token revoked on beta to be refused on alpha',
    100,
  );

  // Disabled on alpha: every token of the user refused on beta.
  const third = await post(a, 'token', { grant_type: 'password', username: 'alice', password: PASSWORD });
  await waitFor(
    async () => (await sessionWith(b, third.body.access_token as string)) === 2,
    20_000,
    'third token',
    100,
  );
  await cli(['user', 'update', REALM, 'alice', '--disabled', 'on'], a);
  await waitFor(
    async () => (await sessionWith(b, third.body.access_token as string)) === 3,
    20_000,
    'the token of a user disabled on alpha to be refused on beta',
    100,
  );

  // The private halves stay where they were made: beta holds its own signing key only, and
  // alpha's public key without any private part.
  await b.stop();
  const db = new Database(path.join(b.dataDir, 'wampmesh.db'), { readonly: true, fileMustExist: true });
  const own = db.prepare('SELECT kid FROM oauth2_signing_key').all() as { kid: string }[];
  const published = db.prepare("SELECT value FROM oauth2_record WHERE key LIKE 'oauth2.key|%'").all() as {
    value: string;
  }[];
  db.close();
  t.is(own.length, 1);
  const keys = published.map((r) => JSON.parse(r.value) as { kid: string; node: string; jwk: Record<string, unknown> });
  t.deepEqual(keys.map((k) => k.node).sort(), ['alpha', 'beta']);
  t.is(keys.find((k) => k.node === 'beta')!.kid, own[0]!.kid);
  t.false(keys.some((k) => 'd' in k.jwk));
});
