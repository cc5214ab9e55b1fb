// The oauth2 HTTP service on a WebSocket listener's own port: answered by uWebSockets.js (the
// other tests use the node:http listener), token and JWKS, and WAMP over the same port.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { parseConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/cli/serve.ts';
import { silentLogger } from '../../src/log.ts';
import { openDatabase } from '../../src/store/database.ts';
import { createSecurity } from '../../src/security/index.ts';
import { connect } from '../helpers/raw-client.ts';
import { testHashing } from '../security/helpers.ts';

const run = promisify(execFile);

/** A port the OS has just given out and taken back: free, barring a race with another process. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('token and JWKS from the WebSocket listener; the token opens a WAMP session on its port', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-oauth2-uws-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(dir);
  const s = createSecurity(db, { hashing: testHashing }).store;
  s.createRealm({ uri: 'com.app', authmethods: ['oauth2'] });
  s.createUser('com.app', { authid: 'alice', password: 'alice password' });
  db.close();
  const port = await freePort();
  const server = await startServer(
    parseConfig(
      {
        dataDir: dir,
        listeners: {
          websocket: [{ host: '127.0.0.1', port }],
          http: [{ host: '127.0.0.1', port, serve: ['oauth2', 'health'] }],
        },
        oauth2: { realms: [{ realm: 'com.app' }] },
      },
      'test',
    ),
    silentLogger,
  );
  t.teardown(() => server.stop());
  const base = `http://127.0.0.1:${port}/oauth2/com.app`;
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'alice password' }),
  });
  t.is(res.status, 200);
  t.is(res.headers.get('cache-control'), 'no-store');
  const body = (await res.json()) as { access_token: string };
  const jwks = (await (await fetch(`${base}/jwks`)).json()) as { keys: unknown[] };
  t.is(jwks.keys.length, 1);
  t.is((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the synchronous routes still answer');
  // A form over the token endpoint's limit: a well-formed 413 (curl reads it whole, exit 0).
  const form = path.join(dir, 'form');
  fs.writeFileSync(form, `grant_type=password&username=${'a'.repeat(200_000)}`);
  const curl = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-H',
    'content-type: application/x-www-form-urlencoded',
    '--data-binary',
    `@${form}`,
    `${base}/token`,
  ]).then(
    (r) => ({ code: 0, status: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, status: e.stdout, err: e.stderr }),
  );
  t.deepEqual([curl.code, curl.status], [0, '413'], curl.err);
  t.is((await fetch(`${base}/jwks`)).status, 200, 'the listener still answers');

  const c = await connect({ transport: 'websocket', url: `ws://127.0.0.1:${port}/ws`, serializer: 'json' });
  c.send([1, 'com.app', { roles: { caller: {} }, authmethods: ['oauth2'] }]);
  t.deepEqual(await c.next((m) => m[0] === 4 || m[0] === 3), [4, 'oauth2', {}]);
  c.send([5, body.access_token, {}]);
  const welcome = await c.next((m) => m[0] === 2 || m[0] === 3);
  t.like(welcome[2] as object, { authid: 'alice', authmethod: 'oauth2', authprovider: 'wampmesh' });
  c.close();
});
