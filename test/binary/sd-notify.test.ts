// src/runtime/sd-notify.ts for real: a datagram socket stands in for systemd's $NOTIFY_SOCKET
// (Debian's python3 binds it: Node cannot), and the child must deliver READY=1, WATCHDOG=1 at
// half of WATCHDOG_USEC, and STOPPING=1, every one sent by the child's own PID (what
// NotifyAccess=main requires), after re-executing itself through Perl.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './harness.ts';

const child = fileURLToPath(new URL('fixtures/notify-child.ts', import.meta.url));
const PYTHON = '/usr/bin/python3';

// Prints one JSON line per datagram: {"pid": <sender pid from SCM_CREDENTIALS>, "msg": "..."}.
const RECEIVER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("bound", flush=True)
s.settimeout(float(sys.argv[2]))
try:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = next((struct.unpack("iII", d)[0] for l, t, d in anc if l == socket.SOL_SOCKET and t == socket.SCM_CREDENTIALS), None)
        print(json.dumps({"pid": pid, "msg": msg.decode()}), flush=True)
except socket.timeout:
    pass
`;

interface Datagram {
  pid: number | null;
  msg: string;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const canRun = fs.existsSync(PYTHON) && fs.existsSync('/usr/bin/perl');

(canRun ? test : test.skip)(
  'READY, WATCHDOG and STOPPING arrive from the main PID through the inherited socket',
  async (t) => {
    const dir = tempDir('wampmesh-notify-');
    const sock = path.join(dir, 'notify.sock');
    try {
      const receiver = spawn(PYTHON, ['-c', RECEIVER, sock, '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let got = '';
      receiver.stdout.setEncoding('utf8');
      receiver.stdout.on('data', (c: string) => {
        got += c;
      });
      await until(() => got.startsWith('bound'), 10_000, 'the receiver to bind');

      const r = spawnSync(process.execPath, [child], {
        encoding: 'utf8',
        env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '200000', CHILD_LIFE_MS: '800' },
        timeout: 30_000,
      });
      t.is(r.status, 0, r.stderr);
      const info = JSON.parse(lines(r.stdout)[0]!) as { mode: string; pid: number; fdEnv: string | null };
      t.is(info.mode, 'socket', r.stderr);
      t.is(info.fdEnv, null, 'the fd variable is not passed on to children');
      t.is(r.stderr.includes('execve'), false, `no experimental warning: ${r.stderr}`);

      await until(() => lines(got).some((l) => l.includes('STOPPING=1')), 10_000, 'STOPPING=1');
      receiver.kill();
      const datagrams = lines(got)
        .slice(1)
        .map((l) => JSON.parse(l) as Datagram);
      t.true(datagrams.length >= 3);
      t.regex(datagrams[0]!.msg, /^READY=1\nSTATUS=test ready$/);
      const pings = datagrams.filter((d) => d.msg === 'WATCHDOG=1').length;
      // 800 ms at one ping per 100 ms (plus one at once): at least a few, never a flood.
      t.true(pings >= 3 && pings <= 12, `${pings} pings`);
      t.regex(datagrams.at(-1)!.msg, /^STOPPING=1/);
      for (const d of datagrams) t.is(d.pid, info.pid, `sender of ${JSON.stringify(d.msg)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('without NOTIFY_SOCKET nothing is re-executed and nothing is sent', (t) => {
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  const r = spawnSync(process.execPath, [child], {
    encoding: 'utf8',
    env: { ...env, CHILD_LIFE_MS: '50' },
    timeout: 30_000,
  });
  t.is(r.status, 0, r.stderr);
  t.is((JSON.parse(lines(r.stdout)[0]!) as { mode: string }).mode, 'off');
  t.is(r.stderr, '');
});
