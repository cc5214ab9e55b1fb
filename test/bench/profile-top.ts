// Top self-time frames of a V8 CPU profile (node --cpu-prof), as used for BENCHMARKS.md:
//
//   BENCH_ONLY=fanout BENCH_ROUTER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench
//   scripts/node24 test/bench/profile-top.ts /tmp/prof/CPU.*.cpuprofile [count]
//
// Self time is attributed by sample: each sample's leaf frame gets the interval to the next
// sample. Frames are grouped by function name and location; "(idle)" is time the event loop
// waited for I/O, "(program)" native work outside JavaScript (syscalls, libuv, the parser of
// uWS), "(garbage collector)" GC pauses. Shares are of all samples, idle included, and of the
// busy (non-idle) samples. A third argument FROM,TO (ms on the machine's monotonic clock, as
// fanout-scale.ts prints its measuring window) keeps only the samples taken between them: V8
// stamps profiles with that clock (startTime, in µs).

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, countArg, windowArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: profile-top.ts FILE.cpuprofile [count [FROM,TO]]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
let idle = 0;
const [from, to] = (windowArg ?? '-Infinity,Infinity').split(',').map((ms) => Number(ms) * 1000);
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < from! || at > to!) continue;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const node = byId.get(profile.samples[i]!)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const key =
    url === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} ${basename(url)}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
  if (functionName === '(idle)') idle += dt;
}
const busy = total - idle;
console.log(
  `${basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%)`,
);
console.log(`${'all'.padStart(6)} ${'busy'.padStart(6)}  self-time frame`);
for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 30))) {
  const ofBusy = key === '(idle)' ? '' : `${((t / busy) * 100).toFixed(1)}%`;
  console.log(`${`${((t / total) * 100).toFixed(1)}%`.padStart(6)} ${ofBusy.padStart(6)}  ${key}`);
}
