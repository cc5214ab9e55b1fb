// Test bed helpers for the network-namespace tests: build a topology with scripts/netns.sh,
// start processes inside its namespaces, read their output line by line with deadlines, stop
// them (SIGTERM, then SIGKILL), run Autobahn|Python there. Every bed is removed by the test
// that made it (t.teardown / after.always), and by an exit hook if the worker dies.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { terminate } from '../helpers/router-process.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const netnsScript = join(repoRoot, 'scripts', 'netns.sh');
export const node24 = join(repoRoot, 'scripts', 'node24');
export const wampmeshBin = join(repoRoot, 'scripts', 'wampmesh');
// Debian's interpreter: the python3 first on PATH does not see Debian's python3-autobahn.
export const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';

export type Topology = 'chain4' | 'ring6';

/**
 * Why the namespace tests cannot run here, or undefined when they can. Tried for real (a
 * namespace is made and removed), since `ip netns` may exist and still be refused.
 */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need root)';
  const probe = `wm-probe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (add.error !== undefined) return `'ip' not usable: ${add.error.message} (apt-get install iproute2)`;
  if (add.status !== 0) return `'ip netns add' fails: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  return undefined;
}

/** Prints a banner: a skipped bed must be noticed, not mistaken for a pass. */
export function announceSkip(file: string, reason: string): void {
  const line = '!'.repeat(78);
  process.stderr.write(`\n${line}\n!! ${file}: SKIPPED: ${reason}\n${line}\n\n`);
}

export interface NodeInterface {
  readonly name: string;
  readonly address: string;
  readonly prefix: number;
}
export interface BedNode {
  readonly name: string;
  readonly ns: string;
  readonly interfaces: readonly NodeInterface[];
}

export interface Bed {
  readonly topology: Topology;
  readonly tag: string;
  readonly nodes: ReadonlyMap<string, BedNode>;
  node(name: string): BedNode;
  /** Removes the namespaces (and kills whatever still runs in them). Idempotent. */
  down(): void;
}

const liveBeds = new Set<Bed>();
const liveProcesses = new Set<ChildProcess>();
// A worker that crashes or hits ava's timeout must not leave namespaces or processes behind.
// 'exit' handlers must be synchronous: SIGKILL and spawnSync.
process.once('exit', () => {
  for (const child of liveProcesses) child.kill('SIGKILL');
  for (const bed of liveBeds) bed.down();
});

const OWNED = /^wm-([a-z]+)p([0-9]+)-/;

/**
 * Removes beds left by test processes that no longer exist (a worker killed outright runs no
 * exit hook). Only names of the form wm-<label>p<pid>- are touched, and only for dead pids.
 */
function sweepStaleBeds(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
  for (const line of (list.stdout ?? '').split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = OWNED.exec(ns);
    if (m === null) continue;
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code !== 'ESRCH';
    }
    if (alive) continue;
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
    for (const p of pids.split('\n').filter((x) => /^[0-9]+$/.test(x))) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  }
}

/**
 * Creates (afresh) a topology whose names all start with wm-<label>p<pid>-: unique to this
 * test process, so two test runs on one machine (or two files of one run) never share a bed.
 */
export function createBed(topology: Topology, label: string): Bed {
  if (!/^[a-z]{1,8}$/.test(label)) throw new Error(`bed label must be 1-8 lower-case letters: ${label}`);
  sweepStaleBeds();
  const tag = `${label}p${process.pid}`;
  const up = spawnSync('bash', [netnsScript, 'up', topology, tag], { encoding: 'utf8', timeout: 60_000 });
  if (up.status !== 0) {
    spawnSync('bash', [netnsScript, 'down', topology, tag], { timeout: 60_000 });
    throw new Error(`netns.sh up ${topology} ${tag} failed (${up.status}): ${up.stderr}${up.error?.message ?? ''}`);
  }
  const nodes = new Map<string, { name: string; ns: string; interfaces: NodeInterface[] }>();
  for (const line of up.stdout.split('\n')) {
    const m = /^(\S+) (\S+) (\S+) ([0-9.]+)\/([0-9]+)$/.exec(line.trim());
    if (m === null) continue;
    const [, name, ns, iface, address, prefix] = m as unknown as [string, string, string, string, string, string];
    let node = nodes.get(name);
    if (node === undefined) nodes.set(name, (node = { name, ns, interfaces: [] }));
    node.interfaces.push({ name: iface, address, prefix: Number(prefix) });
  }
  let removed = false;
  const bed: Bed = {
    topology,
    tag,
    nodes,
    node(name) {
      const n = nodes.get(name);
      if (n === undefined) throw new Error(`no node ${name} in ${topology}`);
      return n;
    },
    down() {
      if (removed) return;
      removed = true;
      liveBeds.delete(bed);
      spawnSync('bash', [netnsScript, 'down', topology, tag], { timeout: 60_000 });
    },
  };
  liveBeds.add(bed);
  return bed;
}

export type LineMatcher = RegExp | ((line: string) => boolean);

export interface NsProcess {
  readonly name: string;
  readonly pid: number;
  /** Every complete stdout line so far (bounded: the oldest go first). */
  lines(): readonly string[];
  stdout(): string;
  stderr(): string;
  /** stdout lines that are JSON objects. */
  events(): Record<string, unknown>[];
  /**
   * Resolves with the first stdout line (already printed or still to come, counting from line
   * `from`) that matches; rejects at the deadline or when the process exits first, with the
   * output's tail in the message.
   */
  waitForLine(match: LineMatcher, timeoutMs: number, from?: number): Promise<string>;
  /** The same for a JSON event line: `match` gets the parsed object. */
  waitForEvent(
    match: (e: Record<string, unknown>) => boolean,
    timeoutMs: number,
    from?: number,
  ): Promise<Record<string, unknown>>;
  /** Same for stderr (logs), line by line. */
  waitForStderr(match: LineMatcher, timeoutMs: number): Promise<string>;
  /** Writes one line to stdin (for processes started with stdin: true). */
  send(line: string): void;
  /** SIGTERM, then SIGKILL after killAfterMs (default 5 s). Resolves with the exit code (128+n for signal n). */
  stop(killAfterMs?: number): Promise<number>;
  /** SIGKILL at once (a crash, a power cut). */
  kill(): Promise<number>;
  readonly exited: Promise<number>;
  hasExited(): boolean;
}

export interface StartOptions {
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: boolean;
}

const MAX_CAPTURE = 512 * 1024;
const MAX_LINES = 20_000;

/** Starts `command args` inside namespace `ns` (`ip netns exec`, which execs: same pid). */
export function startInNetns(
  ns: string,
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  liveProcesses.add(child);
  const name = options.name ?? `${ns}:${command.split('/').at(-1)}`;
  let stdout = '';
  let stderr = '';
  let partial = '';
  let stderrPartial = '';
  const lines: string[] = [];
  let dropped = 0;
  const lineWaiters = new Set<() => void>();
  const stderrWaiters = new Set<(line: string) => void>();
  const stderrLines: string[] = [];
  let exitCode: number | undefined;

  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout = (stdout + chunk).slice(-MAX_CAPTURE);
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      lines.push(partial.slice(0, nl).replace(/\r$/, ''));
      partial = partial.slice(nl + 1);
      if (lines.length > MAX_LINES) {
        lines.shift();
        dropped++;
      }
    }
    for (const w of [...lineWaiters]) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-MAX_CAPTURE);
    stderrPartial += chunk;
    let nl: number;
    while ((nl = stderrPartial.indexOf('\n')) >= 0) {
      const line = stderrPartial.slice(0, nl);
      stderrPartial = stderrPartial.slice(nl + 1);
      stderrLines.push(line);
      if (stderrLines.length > MAX_LINES) stderrLines.shift();
      for (const w of [...stderrWaiters]) w(line);
    }
  });
  const exited = new Promise<number>((resolve) => {
    const done = (code: number): void => {
      if (exitCode !== undefined) return;
      exitCode = code;
      liveProcesses.delete(child);
      for (const w of [...lineWaiters]) w();
      for (const w of [...stderrWaiters]) w('');
      resolve(code);
    };
    child.once('close', (code, signal) => done(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0)));
    child.once('error', (err) => {
      stderr += `\nspawn failed: ${err.message}`;
      if (child.pid === undefined) done(-1);
    });
  });

  const describe = (why: string): string =>
    `${name} ${why}\n  command: ip netns exec ${ns} ${command} ${args.join(' ')}\n  stdout tail: ${stdout.slice(-3000)}\n  stderr tail: ${stderr.slice(-5000)}`;
  const test = (match: LineMatcher, line: string): boolean =>
    typeof match === 'function' ? match(line) : match.test(line);

  const waitForLine = (match: LineMatcher, timeoutMs: number, from = 0): Promise<string> =>
    new Promise((resolve, reject) => {
      let next = Math.max(0, from - dropped);
      const check = (): void => {
        for (; next < lines.length; next++) {
          const line = lines[next]!;
          if (test(match, line)) {
            finish();
            resolve(line);
            return;
          }
        }
        if (exitCode !== undefined) {
          finish();
          reject(new Error(describe(`exited (${exitCode}) before printing a line matching ${String(match)}`)));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(describe(`printed no line matching ${String(match)} within ${timeoutMs} ms`)));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        lineWaiters.delete(check);
      };
      lineWaiters.add(check);
      check();
    });

  const parse = (line: string): Record<string, unknown> | undefined => {
    if (!line.startsWith('{')) return undefined;
    try {
      const v: unknown = JSON.parse(line);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };

  let stopping: Promise<number> | undefined;
  return {
    name,
    pid: child.pid ?? -1,
    lines: () => lines,
    stdout: () => stdout,
    stderr: () => stderr,
    events: () => lines.map(parse).filter((e): e is Record<string, unknown> => e !== undefined),
    waitForLine,
    async waitForEvent(match, timeoutMs, from = 0) {
      const line = await waitForLine(
        (l) => {
          const e = parse(l);
          return e !== undefined && match(e);
        },
        timeoutMs,
        from,
      );
      return parse(line)!;
    },
    waitForStderr: (match, timeoutMs) =>
      new Promise((resolve, reject) => {
        const found = stderrLines.find((l) => test(match, l));
        if (found !== undefined) {
          resolve(found);
          return;
        }
        const waiter = (line: string): void => {
          if (exitCode === undefined && !test(match, line)) return;
          clearTimeout(timer);
          stderrWaiters.delete(waiter);
          if (test(match, line)) resolve(line);
          else reject(new Error(describe(`exited (${exitCode}) before logging a line matching ${String(match)}`)));
        };
        const timer = setTimeout(() => {
          stderrWaiters.delete(waiter);
          reject(new Error(describe(`logged no line matching ${String(match)} within ${timeoutMs} ms`)));
        }, timeoutMs);
        stderrWaiters.add(waiter);
        if (exitCode !== undefined) waiter('');
      }),
    send(line) {
      if (child.stdin === null) throw new Error(`${name} was started without stdin`);
      child.stdin.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop(killAfterMs = 5_000) {
      stopping ??= exitCode !== undefined ? Promise.resolve(exitCode) : terminate(child, exited, killAfterMs);
      return stopping;
    },
    kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
      return exited;
    },
    exited,
    hasExited: () => exitCode !== undefined,
  };
}

/** Starts a TypeScript file of this repo with the project's Node 24, inside `ns`. */
export function startNodeInNetns(
  ns: string,
  script: string,
  args: readonly string[],
  options: StartOptions = {},
): NsProcess {
  return startInNetns(ns, node24, [join(repoRoot, script), ...args], options);
}

/** Starts `/usr/bin/python3 script args` inside `ns`, unbuffered, no __pycache__. */
export function startPythonInNetns(
  ns: string,
  script: string,
  args: readonly string[],
  options: StartOptions = {},
): NsProcess {
  return startInNetns(ns, python, [script, ...args], {
    ...options,
    env: { ...process.env, ...options.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  });
}

export interface PythonResult {
  code: number;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  lines: readonly string[];
}

/** Runs `/usr/bin/python3 script args` inside `ns` to the end (SIGKILL at timeoutMs). */
export async function runPythonInNetns(
  ns: string,
  script: string,
  args: readonly string[],
  timeoutMs: number,
  options: StartOptions = {},
): Promise<PythonResult> {
  const proc = startPythonInNetns(ns, script, args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill();
  }, timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, timedOut, stdout: proc.stdout(), stderr: proc.stderr(), lines: proc.lines() };
}

/** Checks that Debian's Autobahn|Python is importable; the fix in the message when not. */
export function pythonAutobahnMissing(): string | undefined {
  const probe = spawnSync(python, ['-c', 'import autobahn'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.status === 0) return undefined;
  return `${python} cannot import autobahn (${(probe.stderr || String(probe.error)).trim()}); apt-get install -y python3-autobahn`;
}

/** Polls `probe` until it returns a value other than undefined, or throws at the deadline. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
