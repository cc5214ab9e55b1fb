// A ticket login's password hash, and the OAuth2 password grant's, run off the event loop,
// against the real router process over real sockets: while one login's Argon2id (made slow here
// on purpose, as the default costs are on a small board) is computed, an established session's
// calls keep being answered; and an unknown user and a wrong password are refused alike.

import test from 'ava';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.ts';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';

const REALM = 'com.slow';
const PASSWORD = 'a slow password';
const dir = mkdtempSync(join(tmpdir(), 'wampmesh-slow-login-'));
const dataDir = join(dir, 'data');
let router: RouterProcess;
let oauth2: string;

/** A PHC string as the store writes it, with a cost far above the default (m = 64 MiB, t = 12). */
async function heavyHash(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const [memory, passes] = [65536, 12];
  const hash = await new Promise<Buffer>((resolve, reject) =>
    crypto.argon2(
      'argon2id',
      { message: Buffer.from(password), nonce: salt, parallelism: 1, tagLength: 32, memory, passes },
      (err, derived) => (err === null ? resolve(derived) : reject(err)),
    ),
  );
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${memory},t=${passes},p=1$${b64(salt)}$${b64(hash)}`;
}

test.before(async () => {
  const cli = async (...args: string[]) => {
    const r = await runCli([...args, '--data', dataDir]);
    if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')}: ${r.stderr}`);
  };
  await cli('realm', 'create', REALM, '--authmethods', 'ticket', '--init');
  await cli('user', 'create', REALM, 'sloth', '--password', 'replaced below');
  const file = join(dir, 'security.json');
  await cli('security', 'export', '--out', file);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    realms: { uri: string; users: { authid: string; credentials: { ticket: { hash: string } } }[] }[];
  };
  doc.realms.find((r) => r.uri === REALM)!.users[0]!.credentials.ticket.hash = await heavyHash(PASSWORD);
  writeFileSync(file, JSON.stringify(doc));
  await cli('security', 'import', file);
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: {
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        http: [{ host: '127.0.0.1', port: 0, serve: ['oauth2'] }],
      },
      oauth2: { realms: [{ realm: REALM }] },
    }),
  );
  router = await startRouter({ dataDir, args: ['--config', config], noWebSocket: true });
  const http = router.listeners.find((l) => l.transport === 'http')!;
  oauth2 = `http://127.0.0.1:${http.port}/oauth2/${REALM}/token`;
});
test.after.always(async () => {
  await router?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function challenged(authid: string): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  c.send([1, REALM, { roles: { caller: {} }, authmethods: ['ticket'], authid }]);
  const challenge = await c.next((m) => m[0] === 4 || m[0] === 3);
  if (challenge[0] !== 4) throw new Error(`no CHALLENGE for ${authid}: ${JSON.stringify(challenge)}`);
  return c;
}

/** Calls on an established session until `login` settles: how many were answered, the slowest, how long it took. */
async function callsDuring<T>(
  login: () => Promise<T>,
): Promise<{ result: T; calls: number; slowest: number; took: number }> {
  const busy = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  await busy.join('realm1');
  const started = performance.now();
  let done = false;
  const pending = login().finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  while (!done) {
    const asked = performance.now();
    const answer = await busy.call('wamp.session.count', [], {}, 30_000);
    if (answer[0] !== 50 && answer[0] !== 8) throw new Error(JSON.stringify(answer));
    latencies.push(performance.now() - asked);
  }
  const result = await pending;
  await busy.close();
  return { result, calls: latencies.length, slowest: Math.max(...latencies), took: performance.now() - started };
}

// On the event loop, the hash held every answer back until it was done: one call, as slow as the login.
test.serial('while a ticket login hashes its password, an established session keeps getting answers', async (t) => {
  const sloth = await challenged('sloth');
  const { result, calls, slowest, took } = await callsDuring(() => {
    sloth.send([5, PASSWORD, {}]);
    return sloth.next((m) => m[0] === 2 || m[0] === 3, 30_000);
  });
  t.is(result[0], 2, JSON.stringify(result));
  t.log(`login took ${Math.round(took)} ms; ${calls} calls answered meanwhile, slowest ${Math.round(slowest)} ms`);
  t.true(took > 300, 'the hash is slow enough to show anything');
  t.true(calls >= 5, `${calls} calls answered while the login hashed`);
  t.true(slowest < took / 2, 'no call waited for the hash');
  await sloth.close();
});

test.serial(
  'while the OAuth2 password grant hashes the password, an established session keeps getting answers',
  async (t) => {
    const { result, calls, slowest, took } = await callsDuring(async () => {
      const body = new URLSearchParams({ grant_type: 'password', username: 'sloth', password: PASSWORD });
      const res = await fetch(oauth2, { method: 'POST', body });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    });
    t.is(result.status, 200, JSON.stringify(result.body));
    t.is(typeof result.body.access_token, 'string');
    t.log(`token took ${Math.round(took)} ms; ${calls} calls answered meanwhile, slowest ${Math.round(slowest)} ms`);
    t.true(took > 300, 'the hash is slow enough to show anything');
    t.true(calls >= 5, `${calls} calls answered while the grant hashed`);
    t.true(slowest < took / 2, 'no call waited for the hash');
  },
);

test.serial('an unknown user and a wrong password are refused alike', async (t) => {
  const answers: unknown[][] = [];
  for (const [authid, ticket] of [
    ['nobody', PASSWORD],
    ['sloth', 'not the password'],
  ] as const) {
    const c = await challenged(authid);
    c.send([5, ticket, {}]);
    answers.push(await c.next((m) => m[0] === 2 || m[0] === 3, 30_000));
    await c.close();
  }
  t.deepEqual(answers[0], [3, { message: 'authentication failed' }, 'wamp.error.authentication_failed']);
  t.deepEqual(answers[1], answers[0]);
});
