// How long the processes of a call's path wait, woken, for a CPU: `perf sched record -a` over a
// row of hop-floor.ts (HOP_SCHED=1), read back with `perf sched timehist`. A call one at a time
// wakes each process on its path twice; a process woken onto a CPU that is running something
// else (another router, a V8 worker thread, a kernel thread) waits until that yields, and on
// this machine's kernel that can be a whole scheduler tick even while the other CPU is idle.
// Those waits are the tail of a sequential row (issue 20's p99 per hop). Needs perf (perf-record.ts).

import { startPerf } from './perf-record.ts';

/** One line of `perf sched timehist`: a task's time on a CPU, ending at `end` (s). */
interface Slice {
  end: number;
  cpu: number;
  task: string;
  tid: number;
  /** ms runnable before it ran. */
  delay: number;
  /** ms it ran. */
  run: number;
}

export interface Waits {
  /** Times each traced process was woken and ran. */
  runs: number;
  /** ms waited for a CPU: p50, p99, max. */
  delay: [number, number, number];
  /** Waits over 0.5 ms. */
  long: number;
  /** Of the time spent in those, the share during which another CPU was idle. */
  idleElsewhere: number;
  /** What held the CPU during those waits, ms by task name, largest first. */
  heldBy: [string, number][];
}

export interface SchedRecording {
  /** Stops recording; the waits of each of `pids` (their main threads). */
  stop(pids: readonly number[]): Promise<(Waits | undefined)[]>;
}

/** Starts `perf sched record` on every CPU; undefined when perf cannot. */
export async function recordSched(): Promise<SchedRecording | undefined> {
  const recording = await startPerf(['sched', 'record', '-a'], `/tmp/wampmesh-sched-${process.pid}.data`);
  if (recording === undefined) return undefined;
  return {
    async stop(pids) {
      const text = await recording.stop(['sched', 'timehist']);
      if (text === undefined) return pids.map(() => undefined);
      const slices = parse(text);
      return pids.map((pid) => waits(slices, pid));
    },
  };
}

function parse(text: string): Slice[] {
  const slices: Slice[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)\s+\[(\d+)\]\s+(.+?)\[(\d+)(?:\/(\d+))?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line);
    if (m !== null)
      slices.push({
        end: Number(m[1]),
        cpu: Number(m[2]),
        // A thread of another process is named with that process's ID.
        task: m[5] === undefined ? m[3]!.trim() : `${m[3]!.trim()} of ${m[5]}`,
        tid: Number(m[4]),
        delay: Number(m[7]),
        run: Number(m[8]),
      });
    else {
      const idle = /^\s*([\d.]+)\s+\[(\d+)\]\s+<idle>\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line);
      if (idle !== null)
        slices.push({
          end: Number(idle[1]),
          cpu: Number(idle[2]),
          task: '<idle>',
          tid: 0,
          delay: 0,
          run: Number(idle[5]),
        });
    }
  }
  return slices;
}

/** ms of [from, to] (s) that `s` covers. */
const overlap = (s: Slice, from: number, to: number): number =>
  Math.max(0, Math.min(s.end, to) - Math.max(s.end - s.run / 1000, from)) * 1000;

function waits(slices: readonly Slice[], tid: number): Waits | undefined {
  const own = slices.filter((s) => s.tid === tid);
  if (own.length === 0) return undefined;
  const delays = own.map((s) => s.delay).sort((a, b) => a - b);
  const at = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(delays.length * q))]!;
  let waited = 0;
  let idle = 0;
  const held = new Map<string, number>();
  for (const s of own) {
    if (s.delay <= 0.5) continue;
    const to = s.end - s.run / 1000;
    const from = to - s.delay / 1000;
    waited += s.delay;
    // Idle time of the other CPUs over the wait (one CPU idle at a time is all it takes).
    const idleByCpu = new Map<number, number>();
    for (const o of slices) {
      if (o.end < from || o.end - o.run / 1000 > to) continue;
      const ms = overlap(o, from, to);
      if (o.cpu !== s.cpu && o.task === '<idle>') idleByCpu.set(o.cpu, (idleByCpu.get(o.cpu) ?? 0) + ms);
      if (o.cpu === s.cpu && o.tid !== tid) held.set(o.task, (held.get(o.task) ?? 0) + ms);
    }
    idle += Math.max(0, ...idleByCpu.values());
  }
  return {
    runs: own.length,
    delay: [at(0.5), at(0.99), delays[delays.length - 1]!],
    long: own.filter((s) => s.delay > 0.5).length,
    idleElsewhere: waited > 0 ? idle / waited : 0,
    heldBy: [...held].sort((a, b) => b[1] - a[1]).slice(0, 3),
  };
}
