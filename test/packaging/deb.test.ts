// The fast half of the .deb checks (the slow half, scripts/deb-test.sh, installs, upgrades and
// purges in a trixie chroot): scripts/build-deb.sh run for real with dpkg-deb on a small stand-in
// executable, then the package read back with dpkg-deb: control fields, the conffiles list,
// maintainer scripts, file paths, owners and modes, the unit's ExecStart, md5sums, a
// byte-identical rebuild; and scripts/apt-repo.sh's repository indexes checked against the files.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const VERSION = '1.2.3+test1';

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let work: string;
let deb: string;

function buildDeb(out: string, version = VERSION): string {
  return run(path.join(root, 'scripts/build-deb.sh'), [
    '--arch',
    'amd64',
    '--binary',
    path.join(work, 'stand-in'),
    '--version',
    version,
    '--compress',
    'none',
    '--out',
    out,
  ]).trim();
}

test.before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-deb-'));
  // A stand-in for the 130 MB executable: dpkg-deb packs whatever is there.
  fs.writeFileSync(path.join(work, 'stand-in'), '#!/bin/sh\necho "wampmesh stand-in"\n', { mode: 0o755 });
  deb = buildDeb(path.join(work, 'a'));
});
test.after.always(() => fs.rmSync(work, { recursive: true, force: true }));

test('control: name, version, architecture, dependencies, maintainer', (t) => {
  t.is(path.basename(deb), `wampmesh_${VERSION}_amd64.deb`);
  const field = (f: string): string => run('dpkg-deb', ['-f', deb, f]).trim();
  t.is(field('Package'), 'wampmesh');
  t.is(field('Version'), VERSION);
  t.is(field('Architecture'), 'amd64');
  // glibc 2.38: what uWebSockets.js needs; systemd: sysusers, tmpfiles and the unit.
  t.is(field('Depends'), 'libc6 (>= 2.38), libgcc-s1, libstdc++6 (>= 11), systemd');
  t.regex(field('Maintainer'), /^.+ <[^@\s]+@[^@\s]+>$/);
  t.regex(field('Installed-Size'), /^\d+$/);
  t.is(field('Homepage'), '', 'no Homepage unless WAMPMESH_DEB_HOMEPAGE names one');
});

test('conffiles: the config only; maintainer scripts are executable shell that parses', (t) => {
  const ctrl = path.join(work, 'control');
  run('dpkg-deb', ['-e', deb, ctrl]);
  t.is(fs.readFileSync(path.join(ctrl, 'conffiles'), 'utf8'), '/etc/wampmesh/config.json\n');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    const file = path.join(ctrl, script);
    t.is(fs.statSync(file).mode & 0o777, 0o755, script);
    t.notThrows(() => run('sh', ['-n', file]), `${script} parses`);
  }
  const postinst = fs.readFileSync(path.join(ctrl, 'postinst'), 'utf8');
  t.regex(postinst, /systemd-sysusers .*wampmesh\.conf/);
  t.regex(postinst, /systemd-tmpfiles .*--create wampmesh\.conf/);
  t.regex(postinst, /deb-systemd-helper enable wampmesh\.service/);
  t.regex(
    fs.readFileSync(path.join(ctrl, 'postrm'), 'utf8'),
    /purge[\s\S]*rm -rf "\$\{DPKG_ROOT:-\}\/var\/lib\/wampmesh"/,
  );
});

test('files: paths, root ownership, modes; the unit runs /usr/bin/wampmesh; md5sums cover every file', (t) => {
  const listing = run('dpkg-deb', ['-c', deb])
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/));
  const files = new Map(
    listing.filter((l) => !l[0]!.startsWith('d')).map((l) => [l[5]!.replace(/^\./, ''), { mode: l[0]!, owner: l[1]! }]),
  );
  t.deepEqual([...files.keys()].sort(), [
    '/etc/wampmesh/config.json',
    '/usr/bin/wampmesh',
    '/usr/lib/systemd/system/wampmesh.service',
    '/usr/lib/sysusers.d/wampmesh.conf',
    '/usr/lib/tmpfiles.d/wampmesh.conf',
    '/usr/share/doc/wampmesh/changelog.gz',
    '/usr/share/doc/wampmesh/copyright',
    '/usr/share/lintian/overrides/wampmesh',
    '/usr/share/man/man1/wampmesh.1.gz',
  ]);
  for (const [file, { mode, owner }] of files) {
    t.is(owner, 'root/root', file);
    t.is(mode, file === '/usr/bin/wampmesh' ? '-rwxr-xr-x' : '-rw-r--r--', file);
  }
  const tree = path.join(work, 'tree');
  run('dpkg-deb', ['-x', deb, tree]);
  const unit = fs.readFileSync(path.join(tree, 'usr/lib/systemd/system/wampmesh.service'), 'utf8');
  t.regex(unit, /^ExecStart=\/usr\/bin\/wampmesh serve --config \/etc\/wampmesh\/config\.json$/m);
  t.notRegex(unit, /\/usr\/local\//);
  t.is(
    fs.readFileSync(path.join(tree, 'etc/wampmesh/config.json'), 'utf8'),
    fs.readFileSync(path.join(root, 'systemd/config.json'), 'utf8'),
  );
  t.regex(
    fs.readFileSync(path.join(tree, 'usr/lib/tmpfiles.d/wampmesh.conf'), 'utf8'),
    /^z \/etc\/wampmesh\/config\.json 0640 root wampmesh -$/m,
  );

  const ctrl = path.join(work, 'control-md5');
  run('dpkg-deb', ['-e', deb, ctrl]);
  const sums = fs
    .readFileSync(path.join(ctrl, 'md5sums'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/));
  t.deepEqual(sums.map(([, f]) => `/${f}`).sort(), [...files.keys()].sort());
  for (const [sum, f] of sums)
    t.is(
      crypto
        .createHash('md5')
        .update(fs.readFileSync(path.join(tree, f!)))
        .digest('hex'),
      sum!,
      f,
    );
});

test('the same inputs give a byte-identical package', (t) => {
  t.is(sha256(buildDeb(path.join(work, 'b'))), sha256(deb));
});

test('apt repository: pool, per-architecture Packages and a Release whose hashes match', (t) => {
  const repo = path.join(work, 'repo');
  const newer = buildDeb(path.join(work, 'c'), `${VERSION}+2`);
  run(path.join(root, 'scripts/apt-repo.sh'), [repo, deb]);
  run(path.join(root, 'scripts/apt-repo.sh'), [repo, newer]);
  const packages = fs.readFileSync(path.join(repo, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
  const stanzas = packages.trim().split('\n\n');
  t.is(stanzas.length, 2, 'both versions stay in the pool');
  for (const file of [deb, newer]) {
    const stanza = stanzas.find((s) => s.includes(`Filename: pool/main/w/wampmesh/${path.basename(file)}\n`));
    t.truthy(stanza, path.basename(file));
    t.regex(stanza!, new RegExp(`^SHA256: ${sha256(file)}$`, 'm'));
    t.true(fs.existsSync(path.join(repo, 'pool/main/w/wampmesh', path.basename(file))));
  }
  const release = fs.readFileSync(path.join(repo, 'dists/stable/Release'), 'utf8');
  t.regex(release, /^Suite: stable$/m);
  t.regex(release, /^Architectures: amd64$/m);
  t.regex(release, /^Components: main$/m);
  const sha = release.split('SHA256:\n')[1]!;
  for (const index of ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz']) {
    const file = path.join(repo, 'dists/stable', index);
    t.regex(sha, new RegExp(`^ ${sha256(file)}\\s+${fs.statSync(file).size} ${index}$`, 'm'), index);
  }
});

test('build-deb refuses an architecture it has no executable for (armhf)', (t) => {
  const e = t.throws(() =>
    run(path.join(root, 'scripts/build-deb.sh'), [
      '--arch',
      'armhf',
      '--version',
      VERSION,
      '--out',
      path.join(work, 'x'),
    ]),
  );
  t.regex(String((e as { stderr?: unknown }).stderr), /unsupported architecture armhf/);
});
