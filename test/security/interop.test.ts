// Autobahn|Python's and Autobahn|JS's own authenticators against the router with the security
// store, over a real WebSocket listener in this process (until `wampmesh serve` wires the
// store, when the same script runs against the router process). Skipped with a note when the
// Python client libraries are missing.

import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { openDatabase } from '../../src/store/database.ts';
import { attachSecurity, createSecurity } from '../../src/security/index.ts';
import { listenWebSocket, type WebSocketListener } from '../../src/transport/websocket-server.ts';
import { testHashing, tmpDir } from './helpers.ts';

const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';
const script = fileURLToPath(new URL('./python/auth_client.py', import.meta.url));
const REALM = 'com.interop';
const PASSWORD = 'correct horse battery';

const probe = spawnSync(python, ['-c', 'import autobahn, nacl, argon2, passlib'], {
  encoding: 'utf8',
  timeout: 20_000,
});
const pythonMissing = probe.status === 0 ? undefined : `${python}: ${(probe.stderr || String(probe.error)).trim()}`;

// Ed25519 seed (what Autobahn's --privkey takes) and its public key.
const seed = crypto.randomBytes(32);
const privateKey = crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
  format: 'der',
  type: 'pkcs8',
});
const pubkey = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url').toString(
  'hex',
);

let listener: WebSocketListener;
let url = '';

test.before(async () => {
  const db = openDatabase(tmpDir());
  const security = createSecurity(db, { hashing: testHashing });
  const s = security.store;
  s.createRealm({ uri: REALM, authmethods: ['ticket', 'wampcra', 'cryptosign', 'wamp-scram'] });
  s.createGroup(REALM, { name: 'app' });
  s.createUser(REALM, { authid: 'alice', groups: ['app'], password: PASSWORD });
  s.createUser(REALM, { authid: 'device', groups: ['app'], pubkeys: [pubkey] });
  s.createGrant(REALM, { permissions: ['call'], uri: 'wamp.session.', match: 'prefix', to: ['group:app'] });
  const router = new Router({
    realms: security.realmConfigs(),
    authenticator: security.authenticator,
    authorizer: security.authorizer,
    authFailureDelayMs: 50,
  });
  attachSecurity(router, security);
  listener = await listenWebSocket({ host: '127.0.0.1', port: 0 }, router);
  url = `ws://127.0.0.1:${listener.port}/ws`;
});

test.after.always(async () => {
  await listener?.close();
});

function runClient(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, '--url', url, '--realm', REALM, ...args], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>);
      } catch {
        reject(new Error(`no JSON from the client; stdout: ${out}\nstderr: ${err}`));
      }
    });
  });
}

const py = pythonMissing === undefined ? test.serial : test.skip;
if (pythonMissing !== undefined) {
  test('Autobahn|Python interop needs the Debian packages', (t) => {
    t.log(`skipped: ${pythonMissing}`);
    t.pass();
  });
}

const cases: [string, string[]][] = [
  ['ticket', ['--method', 'ticket', '--authid', 'alice', '--secret', PASSWORD]],
  ['wampcra', ['--method', 'wampcra', '--authid', 'alice', '--secret', PASSWORD]],
  ['cryptosign', ['--method', 'cryptosign', '--privkey', seed.toString('hex')]],
  [
    'scram (argon2id-13, server signature checked by the client)',
    ['--method', 'scram', '--authid', 'alice', '--secret', PASSWORD],
  ],
];

for (const [name, args] of cases) {
  py(`Autobahn|Python ${name}: joins, and a granted meta call works`, async (t) => {
    const r = await runClient([...args, '--call', 'wamp.session.count']);
    t.like(r, { joined: true, authrole: 'app', authprovider: 'wampmesh' }, JSON.stringify(r));
    t.deepEqual(r.call, { result: 1 });
  });
  py(`Autobahn|Python ${name}: the wrong secret is refused`, async (t) => {
    const wrong = args.map((a) =>
      a === PASSWORD ? 'not the password' : a === seed.toString('hex') ? crypto.randomBytes(32).toString('hex') : a,
    );
    const r = await runClient(wrong);
    t.like(r, { joined: false, reason: 'wamp.error.authentication_failed' }, JSON.stringify(r));
  });
}

py('Autobahn|Python: a call without a grant is not_authorized', async (t) => {
  const r = await runClient([
    '--method',
    'ticket',
    '--authid',
    'alice',
    '--secret',
    PASSWORD,
    '--call',
    'wamp.registration.list',
  ]);
  t.like(r, { joined: true });
  t.deepEqual(r.call, { error: 'wamp.error.not_authorized' });
});

// Autobahn|JS: its CryptoJS PBKDF2 and HMAC for WAMP-CRA, tweetnacl for cryptosign.
test.serial('Autobahn|JS wampcra and ticket join', async (t) => {
  const autobahn = createRequire(import.meta.url)('autobahn') as {
    Connection: new (
      o: Record<string, unknown>,
    ) => {
      open(): void;
      close(): void;
      onopen: (s: unknown, d: Record<string, unknown>) => void;
      onclose: (reason: string, d: Record<string, unknown>) => boolean;
    };
    auth_cra: {
      derive_key(secret: string, salt: string, iterations: number, keylen: number): string;
      sign(key: string, challenge: string): string;
    };
  };
  const join = (
    authmethods: string[],
    onchallenge: (s: unknown, method: string, extra: Record<string, unknown>) => string,
  ) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const connection = new autobahn.Connection({
        url,
        realm: REALM,
        authmethods,
        authid: 'alice',
        onchallenge,
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
  const cra = await join(['wampcra'], (_s, _m, extra) =>
    autobahn.auth_cra.sign(
      autobahn.auth_cra.derive_key(PASSWORD, extra.salt as string, extra.iterations as number, extra.keylen as number),
      extra.challenge as string,
    ),
  );
  t.like(cra, { joined: true, authid: 'alice', authmethod: 'wampcra', authrole: 'app' }, JSON.stringify(cra));
  const ticket = await join(['ticket'], () => PASSWORD);
  t.like(ticket, { joined: true, authmethod: 'ticket' }, JSON.stringify(ticket));
});
