// firmware-image/inject.sh on a disk image laid out like Raspberry Pi OS (MBR; FAT boot
// partition, ext4 root partition with a systemd tree), built here without loop mounts and with
// a small stand-in executable: what lands in the root filesystem (read back with debugfs), the
// first-boot service enabled as in the built image, wampmesh.txt on the FAT partition, and a
// filesystem that checks clean. Booting such an image is firmware-image/boot-test.sh's job.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const overlay = path.join(root, 'firmware-image/overlay');

// mkfs.*, sfdisk and debugfs live in sbin, which a non-root PATH may lack.
const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
function run(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    env,
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

const BOOT_START = 8192; // sectors, as Raspberry Pi OS
const BOOT_SECTORS = 64 * 2048;
const ROOT_START = BOOT_START + BOOT_SECTORS;
// Small enough that inject.sh must grow it (it wants the files plus 64 MiB free), as on a
// downloaded Raspberry Pi OS image whose root is sized to its content.
const ROOT_SECTORS = 48 * 2048;

let work: string;
let image: string;
let fs2: string; // debugfs address of the root filesystem inside the image

test.before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-inject-'));
  const tree = path.join(work, 'rootfs');
  for (const d of [
    'etc/systemd/system/multi-user.target.wants',
    'etc/systemd/system/sysinit.target.wants',
    'usr/local/bin',
    'usr/lib/systemd/system',
    'usr/bin',
    'var/lib',
    'boot/firmware',
  ]) {
    fs.mkdirSync(path.join(tree, d), { recursive: true });
  }
  fs.writeFileSync(path.join(tree, 'usr/bin/perl'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(tree, 'etc/hostname'), 'raspberrypi\n');
  const rootImg = path.join(work, 'root.img');
  const bootImg = path.join(work, 'boot.img');
  run('mkfs.ext4', ['-q', '-L', 'rootfs', '-d', tree, rootImg, `${ROOT_SECTORS / 2048}M`]);
  run('mkfs.vfat', ['-F', '32', '-n', 'bootfs', '-C', bootImg, String(BOOT_SECTORS / 2)]);
  run('mcopy', ['-i', bootImg, path.join(root, 'systemd/config.json'), '::config.txt']);
  image = path.join(work, 'raspios.img');
  fs.writeFileSync(image, '');
  fs.truncateSync(image, (ROOT_START + ROOT_SECTORS) * 512);
  run(
    'sfdisk',
    ['-q', image],
    `label: dos\nunit: sectors\n\n${BOOT_START},${BOOT_SECTORS},c\n${ROOT_START},${ROOT_SECTORS},83\n`,
  );
  run('dd', [`if=${bootImg}`, `of=${image}`, 'bs=512', `seek=${BOOT_START}`, 'conv=notrunc', 'status=none']);
  run('dd', [`if=${rootImg}`, `of=${image}`, 'bs=512', `seek=${ROOT_START}`, 'conv=notrunc', 'status=none']);
  fs2 = `${image}?offset=${ROOT_START * 512}`;
  const standIn = path.join(work, 'wampmesh');
  fs.writeFileSync(standIn, '#!/bin/sh\necho "wampmesh stand-in"\n', { mode: 0o755 });
  run(path.join(root, 'firmware-image/inject.sh'), [image, '--binary', standIn]);
});
test.after.always(() => fs.rmSync(work, { recursive: true, force: true }));

const debugfs = (request: string): string => run('debugfs', ['-R', request, fs2]);
const stat = (p: string): string => debugfs(`stat ${p}`);

test("the first-boot service and script are the built image's, enabled in sysinit.target", (t) => {
  t.is(
    debugfs('cat /etc/systemd/system/wampmesh-firstboot.service'),
    fs.readFileSync(path.join(overlay, 'etc/systemd/system/wampmesh-firstboot.service'), 'utf8'),
  );
  t.is(
    debugfs('cat /usr/local/lib/wampmesh/firstboot.sh'),
    fs.readFileSync(path.join(overlay, 'usr/local/lib/wampmesh/firstboot.sh'), 'utf8'),
  );
  t.regex(stat('/usr/local/lib/wampmesh/firstboot.sh'), /Mode: +0755/);
  t.regex(
    stat('/etc/systemd/system/sysinit.target.wants/wampmesh-firstboot.service'),
    /Type: symlink[\s\S]*Fast link dest: "\/etc\/systemd\/system\/wampmesh-firstboot.service"/,
  );
});

test('wampmesh itself: executable, unit enabled, sysusers and tmpfiles entries, default config', (t) => {
  t.regex(stat('/usr/local/bin/wampmesh'), /Mode: +0755/);
  t.regex(debugfs('cat /etc/systemd/system/wampmesh.service'), /^ExecStart=\/usr\/local\/bin\/wampmesh serve /m);
  t.regex(stat('/etc/systemd/system/multi-user.target.wants/wampmesh.service'), /Type: symlink/);
  t.regex(debugfs('cat /usr/lib/sysusers.d/wampmesh.conf'), /^u wampmesh /m);
  t.regex(debugfs('cat /usr/lib/tmpfiles.d/wampmesh.conf'), /^z \/etc\/wampmesh\/config\.json 0640 root wampmesh -$/m);
  t.is(debugfs('cat /etc/wampmesh/config.json'), fs.readFileSync(path.join(root, 'systemd/config.json'), 'utf8'));
  t.is(debugfs('cat /etc/hostname'), 'raspberrypi\n', "the image's own files stay");
});

test('wampmesh.txt on the FAT partition; the root filesystem checks clean', (t) => {
  const fat = `${image}@@${BOOT_START * 512}`;
  t.is(
    run('mtype', ['-i', fat, '::wampmesh.txt']),
    fs.readFileSync(path.join(root, 'firmware-image/wampmesh.txt'), 'utf8'),
  );
  t.notThrows(() => run('e2fsck', ['-fn', fs2]));
});

test('the root partition and its filesystem grow together: the filesystem ends inside the partition', (t) => {
  const table = JSON.parse(run('sfdisk', ['-J', image])) as {
    partitiontable: { partitions: { start: number; size: number }[] };
  };
  const rootPart = table.partitiontable.partitions[1];
  if (rootPart === undefined) return t.fail('no partition 2');
  t.true(rootPart.size > ROOT_SECTORS, 'partition 2 was grown');
  t.is((rootPart.start + rootPart.size) * 512, fs.statSync(image).size, 'partition 2 ends at the end of the image');
  const header = run('dumpe2fs', ['-h', fs2]);
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(header)?.[1]);
  const fsBytes = field('Block count') * field('Block size');
  t.true(fsBytes > ROOT_SECTORS * 512, 'the filesystem was grown');
  t.true(fsBytes <= rootPart.size * 512, `filesystem ${fsBytes} B fits partition 2 (${rootPart.size * 512} B)`);
});
