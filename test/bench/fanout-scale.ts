// Fan-out cost per event against the number of subscribers (issue 23, "many connections"):
// `scripts/node24 test/bench/fanout-scale.ts`, not part of `npm run bench`.
//
// The fan-out load of the benchmark (fanout.ts: one publisher, one topic, RawSocket/CBOR, the
// subscribers in FANOUT_CHILDREN generator processes and one sentinel here) for each count of
// FANOUT_NS (default 1000,10000), FANOUT_ROUNDS times (default 3), interleaved, and for the
// router of BENCH_BASE (another checkout's scripts/wampmesh) in the same rounds when given. The
// figure is the router process's CPU time (/proc: all its threads, the kernel's work in its
// syscalls included) over the saturated window, divided by the events delivered in it; the
// generator's CPU is shown beside it and not counted. FANOUT_WINDOW: publications in flight
// (fanout.ts's WINDOW by default), which bounds the events the router can put in one write. BENCH_ROUTER_NODE_OPTIONS (e.g.
// '--cpu-prof --cpu-prof-dir=/tmp/prof') is passed to the routers; profile-top.ts reads such a
// profile. The same rounds measure fanout-floor.ts (a Node process that only writes each burst to
// every subscriber: what the router's figure cannot go below); FANOUT_FLOOR=0 leaves it out.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cbor } from '../../src/serializers/index.ts';
import { startRouter, wampmeshBin, type RouterProcess } from '../helpers/router-process.ts';
import { measureFanout, PACED_PUBLICATIONS } from './fanout.ts';
import { median, raiseFileLimit, startChild, type Child } from './common.ts';

const ns = (process.env.FANOUT_NS ?? '1000,10000').split(',').map(Number);
const rounds = Number(process.env.FANOUT_ROUNDS ?? 3);
const childCount = Number(process.env.FANOUT_CHILDREN ?? 2);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

const limit = raiseFileLimit(65_536);
if (limit < Math.max(...ns) + 100)
  throw new Error(`open-file limit ${limit} is too low for ${Math.max(...ns)} subscribers`);
const env =
  process.env.BENCH_ROUTER_NODE_OPTIONS === undefined
    ? undefined
    : {
        ...process.env,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_ROUTER_NODE_OPTIONS}`.trim(),
      };
const bins: [string, string][] = [['router', wampmeshBin]];
if (process.env.BENCH_BASE !== undefined) bins.push(['base', process.env.BENCH_BASE]);
const floor = process.env.FANOUT_FLOOR !== '0';

const routers: [string, RouterProcess][] = [];
const children: Child[] = [];
const perEvent = new Map<string, number[]>();
try {
  for (const [name, bin] of bins) routers.push([name, await startRouter({ bin, ...(env && { env }) })]);
  if (floor) {
    const bin = here('fanout-floor.ts');
    routers.push(['floor', await startRouter({ bin, wrapper: [process.execPath], noWebSocket: true })]);
  }
  for (let i = 0; i < childCount; i++) children.push(await startChild(here('fanout-child.ts')));
  for (let round = 1; round <= rounds; round++) {
    for (const n of ns) {
      for (const [name, router] of routers) {
        const load = readFileSync('/proc/loadavg', 'utf8').split(' ', 1)[0];
        const f = await measureFanout(
          {
            name,
            pids: [router.pid],
            transport: 'rawsocket',
            serializer: cbor,
            port: router.rawsocketPort,
            url: '',
            subscribers: n,
            // One at a time, each publication is a write per subscriber (10 µs each here): the
            // paced phase keeps to the time it takes with 1,000.
            paced: Math.max(10, Math.round((PACED_PUBLICATIONS * 1000) / n)),
            ...(process.env.FANOUT_WINDOW !== undefined && { window: Number(process.env.FANOUT_WINDOW) }),
          },
          children,
        );
        const us = (f.cpu.target * 1e6) / f.eventsPerSec;
        const key = `${name} ${n}`;
        perEvent.set(key, [...(perEvent.get(key) ?? []), us]);
        console.log(
          `round ${round} ${name.padEnd(6)} ${String(n).padStart(6)} subscribers: ` +
            `${Math.round(f.eventsPerSec).toLocaleString('en-US')} events/s, router ${(f.cpu.target * 100).toFixed(0)}% ` +
            `of a core, ${us.toFixed(3)} µs per event (kernel ${((f.targetSystem * 1e6) / f.eventsPerSec).toFixed(3)}); generator ${(f.cpu.generator * 100).toFixed(0)}%, ` +
            `other ${(f.cpu.other * 100).toFixed(0)}%; ${(f.eventsPerSec / f.syscallsPerSec.writes).toFixed(1)} events per write, ` +
            `${(f.eventsPerSec / n / f.syscallsPerSec.reads).toFixed(2)} publications per read; paced p50 ${f.p50.toFixed(0)} µs; lost ${f.lost}; load ${load}; window ${f.window.from.toFixed(0)},${f.window.to.toFixed(0)}`,
        );
      }
    }
  }
  for (const [name] of routers) {
    const line = ns.map((n) => {
      const xs = perEvent.get(`${name} ${n}`) ?? [];
      return `${n}: ${median(xs).toFixed(3)} µs (${xs.map((x) => x.toFixed(3)).join(', ')})`;
    });
    const first = median(perEvent.get(`${name} ${ns[0]}`) ?? []);
    const last = median(perEvent.get(`${name} ${ns[ns.length - 1]}`) ?? []);
    console.log(
      `${name}: ${line.join('; ')}; ${ns[0]} -> ${ns[ns.length - 1]}: ${((last / first - 1) * 100).toFixed(1)}%`,
    );
  }
} catch (error) {
  for (const [name, r] of routers) console.error(`${name}'s stderr (tail):\n${r.stderr().slice(-4000)}`);
  throw error;
} finally {
  for (const c of children) c.stop();
  for (const [, r] of routers) await r.stop();
}
