// The committed package-lock.json must be accepted by every npm a user may have: the README's
// first command is `npm ci`, and a lock that only the npm which wrote it accepts breaks every
// fresh clone made with another one. Each version runs `npm ci --dry-run` on a copy of the
// manifest, the lock and the local packages they name, so the checkout's node_modules is not
// touched. npm itself is fetched with `npx` from the registry the project installs from.

import test from 'ava';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// npm 10.9 (Node 22's), 11.6 (Node 24's) and the newest line at the time of writing.
const NPM_VERSIONS = ['10.9.2', '11.6.2', '11.19.1'];

interface LockEntry {
  version?: string;
  link?: boolean;
  resolved?: string;
  integrity?: string;
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

test('the lock has no entry without a version (npm ci rejects those with "Invalid Version")', (t) => {
  const inert = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.version === undefined && entry.link !== true)
    .map(([path]) => path);
  t.deepEqual(inert, []);
});

test('the lock names no native codec accelerator (cbor-x and msgpackr run in JavaScript)', (t) => {
  const names = Object.keys(lock.packages).filter((p) => /@(cbor|msgpackr)-extract\//.test(p));
  t.deepEqual(names, []);
  t.is(lock.packages['node_modules/cbor-extract']?.link, true);
  t.is(lock.packages['node_modules/msgpackr-extract']?.link, true);
});

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
    child.on('error', (err) => resolve({ code: -1, output: String(err) }));
  });
}

// This machine's architecture, and arm64 (the Raspberry Pi) through npm's --cpu/--os overrides.
const TARGETS: readonly (readonly string[])[] = [[], ['--cpu=arm64', '--os=linux']];

for (const version of NPM_VERSIONS)
  for (const target of TARGETS) {
    const label = target.length === 0 ? process.arch : 'arm64';
    test(`npm ${version} accepts the committed lock for ${label} (npm ci --dry-run)`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), `wampmesh-lock-${version}-`));
      try {
        cpSync(join(root, 'package.json'), join(dir, 'package.json'));
        cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
        for (const spec of Object.values(manifest.dependencies)) {
          if (spec.startsWith('file:'))
            cpSync(join(root, spec.slice(5)), join(dir, spec.slice(5)), { recursive: true });
        }
        const { code, output } = await run(
          'npx',
          ['-y', `npm@${version}`, 'ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', ...target],
          dir,
        );
        t.is(code, 0, output.trim().split('\n').slice(-15).join('\n'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
