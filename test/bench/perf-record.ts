// perf in the background for the benches that trace the routers (turnaround.ts, sched-waits.ts):
// started before what they measure, stopped after it, its recording read back with one of perf's
// report commands and removed. Needs perf (Debian's linux-perf) and the right to trace (root here).

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';

export interface PerfRecording {
  /** Stops the recording; what `perf <report> -i <file>` prints of it, undefined if that fails. */
  stop(report: readonly string[]): Promise<string | undefined>;
}

/** Starts `perf <record...> -o <file>`; undefined when there is no perf to run. */
export async function startPerf(record: readonly string[], file: string): Promise<PerfRecording | undefined> {
  if (spawnSync('perf', ['--version']).status !== 0) return undefined;
  const child = spawn('perf', [...record, '-o', file], { stdio: 'ignore' });
  // perf attaches within a few ms; the first calls measured would otherwise go unrecorded.
  await new Promise((r) => setTimeout(r, 300));
  return {
    async stop(report) {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      const out = spawnSync('perf', [...report, '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
      rmSync(file, { force: true });
      return out.status === 0 ? out.stdout : undefined;
    },
  };
}
