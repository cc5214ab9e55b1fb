// The helpers the qemu boot tests share (firmware-image/lib.sh), run by bash against a real x64
// router configured as the appliance is from outside: RawSocket only over TLS, a ticket user in
// a realm with a grant. `login` must speak TLS there: the router refuses a plain RawSocket
// handshake on a TLS port at once, with handshake error 3.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../cli/run-cli.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { selfSigned } from '../helpers/self-signed.ts';

const root = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'wampmesh-boot-helpers-'));
const dataDir = join(dir, 'data');
const REALM = 'com.example.injected';
const TICKET = `${REALM} sensor1 inject test user pw 6184`;
const cert = selfSigned(dir, 'device');
let router: RouterProcess;
let port: number;

test.before(async () => {
  const cli = async (args: string[]) => {
    const r = await runCli([...args, '--data', dataDir]);
    if (r.code !== 0) throw new Error(`wampmesh ${args.join(' ')}: ${r.stderr}`);
  };
  await cli(['realm', 'create', REALM, '--authmethods', 'ticket', '--init']);
  await cli(['user', 'create', REALM, 'sensor1', '--password', 'inject test user pw 6184']);
  await cli([
    'grant',
    'create',
    REALM,
    '--allow',
    'subscribe',
    '--uri',
    `${REALM}.`,
    '--match',
    'prefix',
    '--to',
    'user:sensor1',
  ]);
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listeners: { rawsocket: [{ host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: cert.key } }] },
    }),
  );
  router = await startRouter({ args: ['--config', configFile], dataDir, noWebSocket: true });
  port = router.listeners.find((l) => l.transport === 'rawsocket')!.port;
});
test.after.always(async () => {
  await router?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs SCRIPT in bash with lib.sh sourced; resolves with its exit code and both outputs. */
function bash(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      'bash',
      ['-c', `set -euo pipefail; . firmware-image/lib.sh; result=0; ${script}; exit $result`],
      { cwd: root, env: { ...process.env, WAMP_PROBE_FINGERPRINT: '', WAMP_PROBE_TLS: '', ...env }, timeout: 90_000 },
      (err, stdout, stderr) => done({ code: err === null ? 0 : ((err.code as number) ?? 1), out: stdout + stderr }),
    );
  });
}

test('login: the ticket user gets WELCOME and subscribes over RawSocket over TLS', async (t) => {
  const r = await bash(`raw_port=${port}; login "sensor1" "${TICKET}" ${REALM}.temperature`);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /firmware-image: login: sensor1$/m);
});

test('login: pinned to the certificate once the caller exported its fingerprint', async (t) => {
  const r = await bash(`raw_port=${port}; login "sensor1 pinned" "${TICKET}"`, {
    WAMP_PROBE_FINGERPRINT: cert.fingerprint,
  });
  t.is(r.code, 0, r.out);
  t.regex(r.out, /firmware-image: login: sensor1 pinned$/m);
});

test('a plain RawSocket probe on the TLS port is refused at once with handshake error 3', async (t) => {
  const started = Date.now();
  const r = await bash(
    `WAMP_PROBE_TICKET="${TICKET}" python3 firmware-image/wamp-probe.py rawsocket 127.0.0.1 ${port} 1`,
  );
  t.is(r.code, 1, r.out);
  t.regex(r.out, /no WELCOME before the deadline; failures seen: .*handshake refused: 7f300000/);
  // The probe sleeps 2 s after a failure; the handshake timeout (10 s) would come on top.
  t.true(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
});
