// How long a process in a path holds a message: from the read that brings it (the first read
// with data after the process wakes in epoll) to the write that sends it on, from the kernel's
// syscall tracepoints (`perf record -e syscalls:...`, µs timestamps, next to no overhead in the
// process). That is the process's own work on the message's path, apart from what the kernel
// takes to deliver and wake (hop-floor.ts, HOP_TURNAROUND=1; issue 20's per-hop latency).
// Needs perf (perf-record.ts).

import { median } from './common.ts';
import { startPerf } from './perf-record.ts';

const EVENTS = [
  'syscalls:sys_exit_read',
  'syscalls:sys_enter_write',
  'syscalls:sys_enter_writev',
  'syscalls:sys_exit_epoll_wait',
  'syscalls:sys_exit_epoll_pwait',
].join(',');

export interface Turnaround {
  /** Messages seen (wake, read, write). */
  count: number;
  /** µs from the read to the write: p10, p50, p90. */
  held: [number, number, number];
}

export interface Recording {
  /** Stops recording and reads what each process did, in the order of the pids given. */
  stop(): Promise<(Turnaround | undefined)[]>;
}

/** Starts recording the system calls of `pids`; undefined when perf cannot (not installed, not allowed). */
export async function recordTurnaround(pids: readonly number[]): Promise<Recording | undefined> {
  const recordings = await Promise.all(
    pids.map((pid) =>
      startPerf(['record', '-q', '-e', EVENTS, '-p', String(pid)], `/tmp/wampmesh-turnaround-${pid}.data`),
    ),
  );
  if (recordings.some((r) => r === undefined)) return undefined;
  return {
    async stop() {
      const report = ['script', '-F', 'tid,time,event,trace'];
      const scripts = await Promise.all(recordings.map((r) => r!.stop(report)));
      return scripts.map((script) => (script === undefined ? undefined : turnaround(script)));
    },
  };
}

/** The turnaround of the busiest thread (the event loop's) in `perf script` lines. */
export function turnaround(script: string): Turnaround | undefined {
  const lines = script.split('\n');
  const byTid = new Map<string, number>();
  for (const line of lines) {
    const tid = line.trim().split(/\s+/, 1)[0]!;
    byTid.set(tid, (byTid.get(tid) ?? 0) + 1);
  }
  const main = [...byTid].sort((a, b) => b[1] - a[1])[0]?.[0];
  const held: number[] = [];
  let woken = false;
  let readAt = -1;
  for (const line of lines) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+syscalls:(\w+):\s*(\S*)/.exec(line);
    if (m === null || m[1] !== main) continue;
    const at = Number(m[2]) * 1e6;
    const event = m[3]!;
    if (event.startsWith('sys_exit_epoll')) {
      woken = true;
      readAt = -1;
    } else if (event === 'sys_exit_read') {
      // A count of octets; an error (EAGAIN) is a negative number, printed as 16 hex digits.
      const value = m[4]!;
      const data = value !== '0x0' && !(value.length === 18 && value[2] === 'f');
      if (woken && data && readAt < 0) readAt = at;
    } else if (readAt >= 0) {
      held.push(at - readAt);
      readAt = -1;
      woken = false;
    }
  }
  if (held.length === 0) return undefined;
  held.sort((a, b) => a - b);
  const at = (q: number): number => held[Math.floor(held.length * q)]!;
  return { count: held.length, held: [at(0.1), median(held), at(0.9)] };
}
