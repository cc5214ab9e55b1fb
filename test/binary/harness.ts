// Runs the BUILT single executables (dist/wampmesh-linux-<arch>), not the sources:
// - builds them on demand (scripts/build-binary.mjs --if-changed: a no-op when dist/ holds
//   binaries of the same sources), unless WAMPMESH_SKIP_BINARY=1;
// - x64 runs directly where glibc >= 2.38, otherwise (Debian 12) through the dynamic loader of
//   a private Debian trixie glibc (`ld-linux-x86-64.so.2 --library-path ...`), because
//   uWebSockets.js needs GLIBC_2.38; patchelf on a copy works as well, but costs a 130 MB copy;
// - arm64 runs under qemu-user (qemu-aarch64-static -L <trixie arm64 libc folder>).
// The trixie libc packages are fetched with apt-get download from the Debian archive this host
// already uses and unpacked into node_modules/.cache/wampmesh-binary-test/ (cached).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { terminate } from '../helpers/router-process.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cacheRoot = path.join(repoRoot, 'node_modules', '.cache', 'wampmesh-binary-test');
const LIBC_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'];

export type Arch = 'x64' | 'arm64';

export interface Runner {
  readonly arch: Arch;
  readonly binary: string;
  /** How the binary is started here, e.g. "direct", "trixie loader", "qemu-user". */
  readonly how: string;
  /** Full command line for `args`. */
  command(args: readonly string[]): [string, string[]];
  readonly env: NodeJS.ProcessEnv;
}

export type Prepared = { ok: true; runner: Runner } | { ok: false; reason: string };

function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 300_000,
    maxBuffer: 32 << 20,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).slice(-3000)}`);
  return r.stdout;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = process.getuid?.() === 0;

/** Builds both binaries when the sources changed; returns seconds spent (0.x when current). */
export function buildBinaries(): { seconds: number; log: string } {
  const started = performance.now();
  // The host's node (any >= 20) runs the build script; npm must be on PATH for the arm64 node.
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-binary.mjs'), '--if-changed'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`build-binary failed (${r.status}): ${r.stderr}`);
  return { seconds: (performance.now() - started) / 1000, log: r.stderr.trim() };
}

/** The host's glibc as [major, minor] (the test's own Node may run on a private glibc). */
export function hostGlibc(): [number, number] | undefined {
  const r = spawnSync('getconf', ['GNU_LIBC_VERSION'], { encoding: 'utf8' });
  const m = /glibc (\d+)\.(\d+)/.exec(r.stdout ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function debianMirror(): string | undefined {
  if (process.env.WAMPMESH_DEBIAN_MIRROR) return process.env.WAMPMESH_DEBIAN_MIRROR;
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of fs.readdirSync('/etc/apt/sources.list.d')) files.push(path.join('/etc/apt/sources.list.d', f));
  } catch {
    /* none */
  }
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^URIs:\s*(\S+)/gm)) if (/\/debian\/?$/.test(m[1]!)) return m[1]!;
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/gm))
      if (/\/debian\/?$/.test(m[1]!)) return m[1]!;
  }
  return undefined;
}

/** A folder with Debian trixie's libc6, libstdc++6 and libgcc-s1 for `debArch` unpacked. */
export function trixieLibc(debArch: 'amd64' | 'arm64'): string {
  const dir = path.join(cacheRoot, `trixie-libc-${debArch}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const mirror = debianMirror();
  if (!mirror) throw new Error('no Debian archive in /etc/apt sources (set WAMPMESH_DEBIAN_MIRROR)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-libc-'));
  try {
    fs.mkdirSync(path.join(work, 'lists', 'partial'), { recursive: true });
    fs.mkdirSync(path.join(work, 'cache', 'archives', 'partial'), { recursive: true });
    fs.writeFileSync(
      path.join(work, 'sources.list'),
      `deb [arch=${debArch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie main\n`,
    );
    const opts = [
      '-o',
      `Dir::Etc::SourceList=${path.join(work, 'sources.list')}`,
      '-o',
      'Dir::Etc::SourceParts=/dev/null',
      '-o',
      `Dir::State::Lists=${path.join(work, 'lists')}`,
      '-o',
      `Dir::Cache=${path.join(work, 'cache')}`,
      '-o',
      `APT::Architecture=${debArch}`,
      '-o',
      'Debug::NoLocking=1',
      // Downloads as root: apt's _apt sandbox user may not be able to write the temp folder.
      ...(isRoot ? ['-o', 'APT::Sandbox::User=root'] : []),
    ];
    run('apt-get', [...opts, 'update', '-qq']);
    run('apt-get', [...opts, 'download', ...LIBC_PACKAGES], { cwd: work });
    const stage = `${dir}.tmp-${process.pid}`;
    fs.rmSync(stage, { recursive: true, force: true });
    fs.mkdirSync(stage, { recursive: true });
    for (const deb of fs.readdirSync(work).filter((f) => f.endsWith('.deb')))
      run('dpkg-deb', ['-x', path.join(work, deb), stage]);
    // Trixie is merged-/usr; the program interpreter path is /lib/ld-linux-*.so.*.
    if (!fs.existsSync(path.join(stage, 'lib'))) fs.symlinkSync('usr/lib', path.join(stage, 'lib'));
    fs.writeFileSync(path.join(stage, '.complete'), '');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(stage, dir);
    return dir;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function ensureQemu(): string | undefined {
  if (have('qemu-aarch64-static')) return 'qemu-aarch64-static';
  if (!isRoot) return undefined;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'qemu-user-static'], {
      env,
      stdio: 'ignore',
      timeout: 300_000,
    }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
    install();
  }
  return have('qemu-aarch64-static') ? 'qemu-aarch64-static' : undefined;
}

export function binaryPath(arch: Arch): string {
  return path.join(repoRoot, 'dist', `wampmesh-linux-${arch}`);
}

/** How to run `arch`'s binary on this machine, or why it cannot be. */
export function prepareRunner(arch: Arch): Prepared {
  const binary = binaryPath(arch);
  if (!fs.existsSync(binary)) return { ok: false, reason: `${binary} missing` };
  try {
    if (arch === 'x64') {
      if (process.arch !== 'x64') return { ok: false, reason: 'not an x64 host' };
      const glibc = hostGlibc();
      if (glibc && (glibc[0] > 2 || (glibc[0] === 2 && glibc[1] >= 38))) {
        return { ok: true, runner: { arch, binary, how: 'direct', env: {}, command: (args) => [binary, [...args]] } };
      }
      const libc = trixieLibc('amd64');
      const libdir = path.join(libc, 'usr', 'lib', 'x86_64-linux-gnu');
      const loader = path.join(libdir, 'ld-linux-x86-64.so.2');
      return {
        ok: true,
        runner: {
          arch,
          binary,
          how: `trixie glibc loader (host glibc ${glibc?.join('.')})`,
          env: {},
          command: (args) => [loader, ['--library-path', libdir, binary, ...args]],
        },
      };
    }
    const qemu = process.arch === 'arm64' ? undefined : ensureQemu();
    if (process.arch !== 'arm64' && !qemu)
      return { ok: false, reason: 'qemu-aarch64-static is missing (Debian package qemu-user-static; install as root)' };
    const libc = trixieLibc('arm64');
    if (!qemu) return { ok: false, reason: 'arm64 host: run the x64 suite logic directly (not covered here)' };
    return {
      ok: true,
      runner: {
        arch,
        binary,
        how: 'qemu-user (cortex-a72) with trixie arm64 libc',
        // A Pi 4's CPU.
        env: { QEMU_CPU: 'cortex-a72' },
        command: (args) => [qemu, ['-L', libc, binary, ...args]],
      },
    };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------

export interface Listener {
  transport: string;
  host: string;
  port: number;
  path?: string;
}

export interface BinaryRouter {
  readonly child: ChildProcess;
  readonly listeners: Listener[];
  stderr(): string;
  /** SIGTERM; resolves with the exit code (128+n for a signal), SIGKILL after `ms`. */
  stop(ms?: number): Promise<number>;
  readonly exited: Promise<number>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Runs the binary to completion (for --version, failing starts). */
export function runOnce(
  runner: Runner,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): { status: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = runner.command(args);
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: { ...process.env, ...runner.env, ...env },
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Starts `serve`, resolves once the listening line is printed (deadline `startMs`). */
export async function startBinary(
  runner: Runner,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  startMs = 60_000,
): Promise<BinaryRouter> {
  const [cmd, argv] = runner.command(['serve', ...args]);
  const child = spawn(cmd, argv, { env: { ...process.env, ...runner.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    stderr = (stderr + c).slice(-200_000);
  });
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
    child.once('error', () => resolve(-1));
  });
  const listeners = await new Promise<Listener[]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line within ${startMs} ms; stderr: ${stderr.slice(-4000)}`));
    }, startMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening; stderr: ${stderr.slice(-4000)}`));
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => {
      out += c;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const v = JSON.parse(line) as { event?: string; listeners?: Listener[] };
          if (v.event === 'listening' && Array.isArray(v.listeners)) {
            clearTimeout(timer);
            resolve(v.listeners);
            return;
          }
        } catch {
          /* partial line */
        }
      }
    });
  });
  let stopping: Promise<number> | undefined;
  return {
    child,
    listeners,
    exited,
    stderr: () => stderr,
    stop(ms = 20_000) {
      stopping ??= terminate(child, exited, ms);
      return stopping;
    },
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
