// Shared pieces of the benchmark (bench.ts): CPU accounting from /proc, child processes that
// report on stdout and take commands over IPC, statistics, and a latency histogram that child
// processes can merge cheaply.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cbor, type Serializer } from '../../src/serializers/index.ts';
import type { TransportKind } from '../helpers/raw-client.ts';

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks

// ---- CPU ---------------------------------------------------------------------------------

/** utime + stime of a process (all its threads), in ms; 0 once it is gone. */
export function processCpuMs(pid: number): number {
  const { user, system } = processCpuSplitMs(pid);
  return user + system;
}

/** A file of /proc/<pid>/, or '' once the process is gone. */
function procFile(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return '';
  }
}

/** utime and stime (the kernel's work in its syscalls) of a process, in ms; zeros once it is gone. */
export function processCpuSplitMs(pid: number): { user: number; system: number } {
  const stat = procFile(pid, 'stat');
  if (stat === '') return { user: 0, system: 0 };
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1000) / CLK_TCK, system: (Number(fields[12]) * 1000) / CLK_TCK };
}

/**
 * read(2)- and write(2)-type syscalls (readv and writev included) a process made so far, from
 * /proc/<pid>/io (all its threads); zeros once it is gone.
 */
export function processSyscalls(pid: number): { reads: number; writes: number } {
  const io = procFile(pid, 'io');
  return { reads: Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? 0), writes: Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0) };
}

/** CPU time spent by the whole machine (all cores, /proc/stat), to see load from elsewhere. */
export function machineBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return ((cpu.reduce((a, b) => a + b, 0) - idle) * 1000) / CLK_TCK;
}

/** Shares of one core over a window: the target, the generator, and everything else. */
export interface Cpu {
  target: number;
  generator: number;
  other: number;
}

/**
 * CPU shares over a window. The target is one or more processes (a mesh of four routers);
 * the generator is this process plus any generator child processes.
 */
export function cpuWindow(targetPids: readonly number[], generatorPids: readonly number[] = []): { stop(): Cpu } {
  const sum = (pids: readonly number[]): number => pids.reduce((a, pid) => a + processCpuMs(pid), 0);
  const wall0 = performance.now();
  const target0 = sum(targetPids);
  const children0 = sum(generatorPids);
  const machine0 = machineBusyMs();
  const self0 = process.cpuUsage();
  return {
    stop() {
      const wall = performance.now() - wall0;
      const self = process.cpuUsage(self0);
      const target = (sum(targetPids) - target0) / wall;
      const generator = ((self.user + self.system) / 1000 + sum(generatorPids) - children0) / wall;
      // Other processes plus kernel work not charged to either (loopback softirqs, mostly).
      const other = Math.max(0, (machineBusyMs() - machine0) / wall - target - generator);
      return { target, generator, other };
    },
  };
}

export function medianCpu(cs: readonly Cpu[]): Cpu {
  return {
    target: median(cs.map((c) => c.target)),
    generator: median(cs.map((c) => c.generator)),
    other: median(cs.map((c) => c.other)),
  };
}

// ---- statistics ----------------------------------------------------------------------------

export function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/** "min..max" of a series, for the spread lines. */
export function spread(xs: readonly number[], digits = 0): string {
  return `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`;
}

/**
 * Latency histogram in microseconds with buckets 1% wide (log scale), so it is small (a few
 * thousand counters), cheap to fill per event and exact enough for p50/p99; child processes
 * send theirs as plain arrays and the parent adds them up.
 */
export class Histogram {
  static readonly SIZE = 2400; // e^(2400/100) µs: far beyond any bounded run
  readonly counts: number[];
  total = 0;

  constructor(counts?: readonly number[]) {
    this.counts = counts === undefined ? new Array<number>(Histogram.SIZE).fill(0) : [...counts];
    for (const c of this.counts) this.total += c;
  }

  record(us: number): void {
    const i = us <= 1 ? 0 : Math.min(Histogram.SIZE - 1, Math.floor(Math.log(us) * 100));
    this.counts[i]!++;
    this.total++;
  }

  add(other: Histogram): void {
    for (let i = 0; i < Histogram.SIZE; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
  }

  /** The value (µs, bucket midpoint) below which a share p of the samples lies. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.ceil(p * this.total);
    let seen = 0;
    for (let i = 0; i < Histogram.SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === 0 ? 1 : Math.exp((i + 0.5) / 100);
    }
    return Math.exp(Histogram.SIZE / 100);
  }
}

// performance.now() and process.hrtime() both read CLOCK_MONOTONIC (libuv's uv_hrtime), which
// all processes of the machine share; the offset turns the cheap one into the shared one. The two
// clocks cannot be read at one instant: a process descheduled between the reads would carry that
// pause in every latency it measures, so the offset is taken from the tightest of several
// bracketed reads.
const MONO_OFFSET_MS = ((): number => {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 50; i++) {
    const before = performance.now();
    const shared = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = shared - (before + after) / 2;
    }
  }
  return offset;
})();

/** A monotonic clock shared by all processes of the machine (CLOCK_MONOTONIC), in ms. */
export function monoMs(): number {
  return MONO_OFFSET_MS + performance.now();
}

// ---- child processes -----------------------------------------------------------------------

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The JSON object the child printed once ready. */
  readonly hello: Record<string, unknown>;
  /** Sends a command over IPC and resolves with the child's answer to it. */
  request<T = Record<string, unknown>>(command: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Messages the child sends unasked (progress reports). */
  onPush(listener: ((message: Record<string, unknown>) => void) | undefined): void;
  stop(): void;
}

/**
 * Runs `node file args` (on this Node) and waits for the first JSON line it prints. The
 * child holds our stdin: when this process goes away, however it dies, the child sees EOF and
 * exits. Commands go over IPC, each answered by one message carrying the same `seq`.
 */
export function startChild(file: string, args: readonly string[] = [], timeoutMs = 20_000): Promise<Child> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
  let seq = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let push: ((message: Record<string, unknown>) => void) | undefined;
  child.on('message', (m: { seq?: number; error?: string }) => {
    if (m.seq === undefined) return push?.(m);
    const p = pending.get(m.seq);
    if (p === undefined) return;
    pending.delete(m.seq!);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m);
  });
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`child ${file} exited (${code ?? signal})`));
    pending.clear();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start`));
    }, timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before it was ready`));
    };
    child.once('exit', onExit);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      const hello = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
      out = '';
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume(); // keep draining whatever else it prints
      resolve({
        process: child,
        pid: child.pid!,
        hello,
        request<T>(command: Record<string, unknown>, ms = 60_000): Promise<T> {
          const id = ++seq;
          return new Promise<T>((res, rej) => {
            const t = setTimeout(() => {
              pending.delete(id);
              rej(new Error(`${file}: no answer to ${String(command.cmd)} within ${ms} ms`));
            }, ms);
            pending.set(id, {
              resolve: (v) => {
                clearTimeout(t);
                res(v as T);
              },
              reject: (e) => {
                clearTimeout(t);
                rej(e);
              },
            });
            child.send({ ...command, seq: id });
          });
        },
        onPush(listener) {
          push = listener;
        },
        stop() {
          // EOF on stdin: the child exits by itself (and writes its --cpu-prof, if asked to).
          child.stdin!.end();
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        },
      });
    });
  });
}

/** Child side: exit when the parent's end of stdin closes; answer IPC commands with `handle`. */
export function serveParent(
  handle: (command: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>,
): void {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: Record<string, unknown>) => {
    void (async () => {
      try {
        process.send!({ ...(await handle(m)), seq: m.seq });
      } catch (error) {
        process.send!({ seq: m.seq, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    })();
  });
}

/** Raises this process's open-file limit (children inherit it); returns the soft limit in force. */
export function raiseFileLimit(wanted: number): number {
  const limits = (): RegExpExecArray | null =>
    /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  // prlimit(1) on ourselves; past the hard limit it needs CAP_SYS_RESOURCE (root).
  const raised = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${wanted}:${wanted}`], {
    stdio: 'ignore',
  });
  const hard = limits()?.[2];
  // Otherwise at least the soft limit up to the hard one.
  if (raised.status !== 0 && hard !== undefined)
    spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { stdio: 'ignore' });
  return Number(limits()?.[1] ?? 1024);
}

// ---- payloads -------------------------------------------------------------------------------

/** What a measurement runs against: a router, a relay or fox-wamp. */
export interface BenchTarget {
  readonly name: string;
  /** The processes that do the target's work (four routers for the mesh chain). */
  readonly pids: readonly number[];
  readonly transport: TransportKind;
  readonly serializer: Serializer;
  readonly port: number;
  readonly url: string;
}

// Request and publication IDs from 2^28 up: always 4-octet integers in CBOR (0x1a) and 9
// decimal digits in JSON, so a pre-encoded frame is patched in place and never changes length.
export const FIRST_ID = 0x1000_0000;

/** 32 B: a typical small RPC argument, and the first argument of every benchmark EVENT. */
export const PAYLOAD = 'the quick brown fox jumps over..';
// In JSON the timestamp follows the payload string: ...over..",<ms>]
const MARK = `${PAYLOAD}",`;
const MARK_BYTES = Buffer.from(MARK, 'latin1');

/** The publisher's timestamp in an EVENT frame, or NaN. */
export function eventTimestamp(payload: Uint8Array | string): number {
  if (typeof payload === 'string') {
    const i = payload.lastIndexOf(MARK);
    return i < 0 ? NaN : parseFloat(payload.slice(i + MARK.length));
  }
  const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const n = b.length;
  if (n > 9 && b[n - 9] === 0xfb) return b.readDoubleBE(n - 8); // CBOR float64, the last argument
  if (b[0] === 0x5b) {
    // '[': JSON text
    const i = b.lastIndexOf(MARK_BYTES);
    return i < 0 ? NaN : parseFloat(b.toString('latin1', i + MARK.length, n));
  }
  // Any other binary encoding of the timestamp: decode the whole frame.
  const m = cbor.decode(b) as unknown[];
  const args = m[4] as unknown[] | undefined;
  const ts = args?.[args.length - 1];
  return typeof ts === 'number' ? ts : NaN;
}
