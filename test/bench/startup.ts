// Start-up and idle footprint (`BENCH_ONLY=startup npm run bench`; also runnable alone:
// `scripts/node24 test/bench/startup.ts`, which measures this checkout, or with BENCH_BASE set,
// that one too).
//
// For each target (`wampmesh` from the sources, the x64 executable in dist/ when built, run as
// test/binary does, and the arm64 one under qemu-user, fewer runs): STARTUP_RUNS times, spawn
// `serve --ws 127.0.0.1:0 --rawsocket 127.0.0.1:0` on a data folder that the first, uncounted
// start created (a restart, as a service does), and time spawn -> the listening line on stdout
// (what a supervisor or a script waits for); then, IDLE_SETTLE_MS later, read the router's
// memory from /proc: VmRSS, and its anonymous and file-backed parts. The file-backed part is
// mostly Node's own pages (a Node 24 executable that only listens has 35 MB of them, and 9 MB
// anonymous); the anonymous part (V8's heap, malloc) is the program's. Medians; the min..max spread says how noisy the
// box was. Targets are interleaved (A B A B ...) so that drift spreads over all.
// Where dist/floor/ holds them, the two footprint floors run as well (test/bench/floor/: Node
// only listening; Node with uWebSockets.js and better-sqlite3), built with
// `node scripts/build-binary.mjs --arch x64 --entry test/bench/floor/stack.ts --name floor-stack
// --out dist/floor` (and listen.ts as floor-listen).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import path from 'node:path';
import { prepareRunner, type Arch } from '../binary/harness.ts';
import { wampmeshBin } from '../helpers/router-process.ts';
import { median, spread } from './common.ts';

export const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 10);
/** How long an idle router is left before its memory is read: the start's garbage collected. */
const IDLE_SETTLE_MS = 1_500;
const ARGS = ['serve', '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'];

export interface StartupRun {
  /** Spawn to the listening line, ms. */
  listeningMs: number;
  rssKb: number;
  anonKb: number;
  fileKb: number;
  /** CPU (user + system) the process used until the listening line, ms. */
  startCpuMs: number;
  /**
   * The same, of its main thread alone: what the start waits for on a box with a core to
   * spare (the rest runs on other threads: V8's compilers and collector, libuv's pool).
   */
  mainCpuMs: number;
  /** CPU until the memory was read (the start, and the collection after it), ms. */
  cpuMs: number;
}

export interface StartupTarget {
  /** "router", "router (base)" */
  readonly name: string;
  /** "from source", "x64 executable", ... */
  readonly label: string;
  readonly command: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly runs?: number;
  /** An executable whose pages are dropped from the page cache before the first start. */
  readonly evict?: string;
}

export interface StartupFigures {
  target: StartupTarget;
  runs: StartupRun[];
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU time of the main thread alone, from the scheduler's own count (ns, not 10 ms ticks). */
function mainThreadCpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** One start: spawn, wait for the listening line, let it settle, read /proc, stop it. */
async function startOnce(target: StartupTarget, data: string): Promise<StartupRun> {
  const [cmd, ...pre] = target.command;
  const env = { ...process.env, ...target.env };
  const t0 = performance.now();
  const child = spawn(cmd!, [...pre, ...ARGS, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    stderr = (stderr + c).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  try {
    let startCpuMs = 0;
    let mainCpuMs = 0;
    const listeningMs = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line within 30 s: ${stderr}`)), 30_000);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        out += c;
        if (out.includes('"event":"listening"')) {
          clearTimeout(timer);
          startCpuMs = cpuMs(child.pid!);
          mainCpuMs = mainThreadCpuMs(child.pid!);
          resolve(performance.now() - t0);
        }
      });
      void exited.then(() => reject(new Error(`exited before listening: ${stderr}`)));
    });
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const pid = child.pid!;
    return {
      listeningMs,
      startCpuMs,
      mainCpuMs,
      rssKb: statusKb(pid, 'VmRSS'),
      anonKb: statusKb(pid, 'RssAnon'),
      fileKb: statusKb(pid, 'RssFile'),
      cpuMs: cpuMs(pid),
    };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The targets' runs interleaved (A B A B ...), each on its own data folder. */
export async function measureStartup(targets: readonly StartupTarget[]): Promise<StartupFigures[]> {
  const figures = targets.map((target) => ({ target, runs: [] as StartupRun[] }));
  const dirs = targets.map(() => mkdtempSync(join(tmpdir(), 'wampmesh-startup-')));
  try {
    // A binary just built is wholly in the page cache, and a page fault then maps its cached
    // neighbours too: 10-20 MB more file-backed RSS than an installed binary, whose cache holds
    // what was read. Dropped first (GNU dd: count=0 with nocache drops the whole file).
    for (const t of targets)
      if (t.evict !== undefined) spawnSync('dd', [`if=${t.evict}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
    // One start each first, not counted: it creates the database, and the page cache then
    // holds the files.
    for (const [k, t] of targets.entries()) await startOnce(t, dirs[k]!);
    const most = Math.max(...targets.map((t) => t.runs ?? STARTUP_RUNS));
    for (let i = 0; i < most; i++)
      for (const [k, t] of targets.entries())
        if (i < (t.runs ?? STARTUP_RUNS)) figures[k]!.runs.push(await startOnce(t, dirs[k]!));
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return figures;
}

/**
 * The executable of `arch` in the checkout whose scripts/wampmesh is `bin`, as test/binary runs
 * it: the router's, or another built the same way (`file` under dist/).
 */
function executable(
  arch: Arch,
  bin: string,
  file = `wampmesh-linux-${arch}`,
): { command: string[]; env: NodeJS.ProcessEnv; evict: string } | undefined {
  const binary = path.resolve(path.dirname(bin), '..', 'dist', file);
  if (!existsSync(binary)) return undefined;
  const prepared = prepareRunner(arch);
  if (!prepared.ok) return undefined;
  const { runner } = prepared;
  const [cmd, argv] = runner.command([]);
  return { command: [cmd, ...argv.map((a) => (a === runner.binary ? binary : a))], env: runner.env, evict: binary };
}

/** From the sources, then the executables where built: for each router (this one, the base). */
export function startupTargets(routers: readonly { name: string; bin: string }[]): StartupTarget[] {
  const targets: StartupTarget[] = routers.map((r) => ({ name: r.name, label: 'from source', command: [r.bin] }));
  for (const [arch, label, runs] of [
    ['x64', 'x64 executable', STARTUP_RUNS],
    ['arm64', 'arm64 (qemu)', 3],
  ] as const)
    for (const r of routers) {
      const exe = executable(arch, r.bin);
      if (exe !== undefined) targets.push({ name: r.name, label, ...exe, runs });
    }
  // The floors (test/bench/floor/), where built into dist/floor: what Node alone and Node with
  // the decided stack take, started the same way.
  for (const [floor, name] of [
    ['listen', 'floor: listen'],
    ['stack', 'floor: uWS+SQLite'],
  ] as const) {
    const exe = executable('x64', routers[0]!.bin, `floor/floor-${floor}-linux-x64`);
    if (exe !== undefined) targets.push({ name, label: 'x64 executable', ...exe });
  }
  return targets;
}

const mb = (kb: number): string => (kb / 1024).toFixed(1);

export function startupLines(figures: readonly StartupFigures[]): string[] {
  return figures.flatMap((f) => {
    const m = (k: keyof StartupRun): number => median(f.runs.map((r) => r[k]));
    return [
      `${'startup'.padEnd(9)}${f.target.name.padEnd(19)}${f.target.label.padEnd(16)}listening after ${m('listeningMs').toFixed(0)} ms ` +
        `(${spread(f.runs.map((r) => r.listeningMs))}), CPU ${m('startCpuMs').toFixed(0)} ms (main thread ${m('mainCpuMs').toFixed(0)}, ${m('cpuMs').toFixed(0)} ms settled); idle RSS ${mb(m('rssKb'))} MB ` +
        `(${spread(f.runs.map((r) => Math.round(r.rssKb / 1024)))}; anonymous ${mb(m('anonKb'))}, files ${mb(m('fileKb'))}); median of ${f.runs.length}`,
    ];
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const routers = [{ name: 'router', bin: wampmeshBin }];
  if (process.env.BENCH_BASE !== undefined) routers.push({ name: 'router (base)', bin: process.env.BENCH_BASE });
  console.log(startupLines(await measureStartup(startupTargets(routers))).join('\n'));
}
