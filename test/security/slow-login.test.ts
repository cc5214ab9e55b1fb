// A ticket login's password hash runs off the event loop, against the real router process over
// real sockets: while one login's Argon2id (made slow here on purpose, ~1 s on this machine as
// the default costs on a small board) is computed, an established session's calls keep being
// answered; and an unknown user and a wrong password are refused alike.

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
  router = await startRouter({ dataDir, args: ['--rawsocket', '127.0.0.1:0'], noWebSocket: true });
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

test.serial('while a login hashes its password, an established session keeps getting answers', async (t) => {
  const busy = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  await busy.join('realm1');
  const sloth = await challenged('sloth');
  const started = performance.now();
  sloth.send([5, PASSWORD, {}]);
  let welcomed = false;
  const welcome = sloth
    .next((m) => m[0] === 2 || m[0] === 3, 30_000)
    .finally(() => {
      welcomed = true;
    });
  const latencies: number[] = [];
  while (!welcomed) {
    const asked = performance.now();
    const answer = await busy.call('wamp.session.count', [], {}, 30_000);
    t.true(answer[0] === 50 || answer[0] === 8, JSON.stringify(answer));
    latencies.push(performance.now() - asked);
  }
  const reply = await welcome;
  const took = performance.now() - started;
  t.is(reply[0], 2, JSON.stringify(reply));
  t.log(
    `login took ${Math.round(took)} ms; ${latencies.length} calls answered meanwhile, slowest ${Math.round(Math.max(...latencies))} ms`,
  );
  // On the event loop, the hash held every answer back until it was done: one call, as slow as the login.
  t.true(took > 300, 'the hash is slow enough to show anything');
  t.true(latencies.length >= 5, `${latencies.length} calls answered while the login hashed`);
  t.true(Math.max(...latencies) < took / 2, 'no call waited for the hash');
  await Promise.all([busy.close(), sloth.close()]);
});

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
