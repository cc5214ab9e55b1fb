// Durability of admin writes: a child process writes a burst, acknowledging each after its
// commit, and is killed with SIGKILL mid-burst. Every acknowledged write must be there after
// reopening, and the database must pass integrity_check.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { openDatabase } from '../../src/store/database.ts';
import { SecurityStore } from '../../src/security/store.ts';
import { verifyTicket } from '../../src/security/hash.ts';
import { testHashing, tmpDir } from './helpers.ts';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const REALM = 'com.crash';

for (const round of [1, 2, 3]) {
  test(`kill -9 mid-burst loses no acknowledged write (round ${round})`, async (t) => {
    const dir = tmpDir();
    const setupDb = openDatabase(dir);
    new SecurityStore(setupDb, { hashing: testHashing }).createRealm({ uri: REALM, authmethods: ['ticket'] });
    setupDb.close();

    const proc = spawn(process.execPath, [child, dir, REALM], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // Kill after a number of acknowledgements that varies per round, so the kill lands at
    // different points of a transaction.
    const killAfter = 150 + round * 137;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      proc.once('exit', (_code, signal) => resolve(signal)),
    );
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line !== 'ready') acked.push(line);
      if (acked.length >= killAfter && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const signal = await exited;
    t.is(signal, 'SIGKILL', `child ended on its own: ${stderr}`);
    t.true(acked.length >= killAfter);

    const db = openDatabase(dir);
    t.is(db.pragma('integrity_check', { simple: true }), 'ok');
    t.deepEqual(db.pragma('foreign_key_check'), []);
    const store = new SecurityStore(db, { hashing: testHashing });
    const users = new Set(store.listUsers(REALM).map((u) => u.authid));
    const grants = new Set(store.listGrants(REALM).map((g) => g.id));
    const missing = acked.filter((line) => {
      const [kind, id] = line.split(' ') as [string, string];
      return kind === 'user' ? !users.has(id) : !grants.has(Number(id));
    });
    t.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes lost`);
    // A user acknowledged with a password has a hash that still verifies.
    t.true(await verifyTicket('password-0', store.userRecord(REALM, 'u0')!.credentials.ticket!.hash));
    t.log(`${acked.length} acknowledged, ${users.size} users and ${grants.size} grants after the crash`);
    db.close();
  });
}
