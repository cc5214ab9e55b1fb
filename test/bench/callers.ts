// CPU per call against the number of concurrent callers (issue 23, "many connections"):
// `scripts/node24 test/bench/callers.ts`, not part of `npm run bench`.
//
// One router (scripts/wampmesh serve), one callee (echo), N RawSocket/CBOR callers for each N
// of CALLERS_NS (default 10,100,1000). Each caller keeps DEPTH calls in flight, one after the
// other: DEPTH=1 (default) is N callers each waiting for its result, so the load per connection
// stays the same as N grows; CALLERS_TOTAL=1000 instead spreads 1,000 calls in flight over the N
// callers, so each connection carries fewer as N grows. The router's CPU time (/proc) over a
// 5 s window, divided by the calls answered in it. The callers use raw-client's call(), which
// is slow on the generator's side: the router is not saturated, and the figure is its cost per
// call at the load the generator gives it. CALLERS_STRACE=1 also counts the router's main
// thread's syscalls (strace -c) into /tmp/wampmesh-callers-strace-N.txt (slows everything).
// BENCH_ROUTER_NODE_OPTIONS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof') is passed to the
// router; each line ends with its window on the machine's monotonic clock, which
// profile-top.ts takes to cut such a profile to one count of callers.

import { spawn } from 'node:child_process';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import { monoMs, processCpuSplitMs, processSyscalls } from './common.ts';

const WINDOW_MS = 5_000;
const WARMUP_MS = 1_500;
const ns = (process.env.CALLERS_NS ?? '10,100,1000').split(',').map(Number);
const total = Number(process.env.CALLERS_TOTAL ?? 0);

const extra = process.env.BENCH_ROUTER_NODE_OPTIONS;
const router = await startRouter(
  extra === undefined
    ? {}
    : { env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${extra}`.trim() } },
);
const port = router.rawsocketPort;
const client = async (): Promise<RawClient> => {
  const c = await connect({ transport: 'rawsocket', serializer: 'cbor', port, timeoutMs: 60_000 });
  await c.join('realm1');
  return c;
};
const callee = await client();
await callee.register('bench.echo');
callee.serveEcho();
try {
  for (const n of ns) {
    const callers: RawClient[] = [];
    for (let i = 0; i < n; i++) callers.push(await client());
    const depth = total > 0 ? Math.max(1, Math.round(total / n)) : 1;
    let calls = 0;
    let stop = false;
    const loop = async (c: RawClient): Promise<void> => {
      while (!stop) {
        await c.call('bench.echo', ['x'.repeat(32)], {}, 60_000);
        calls++;
      }
    };
    const loops = callers.flatMap((c) => Array.from({ length: depth }, () => loop(c)));
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const strace =
      process.env.CALLERS_STRACE === '1'
        ? spawn('strace', ['-c', '-p', String(router.pid), '-o', `/tmp/wampmesh-callers-strace-${n}.txt`], {
            stdio: 'ignore',
          })
        : undefined;
    const calls0 = calls;
    const cpu0 = processCpuSplitMs(router.pid);
    const sys0 = processSyscalls(router.pid);
    const from = monoMs();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const answered = calls - calls0;
    const cpu1 = processCpuSplitMs(router.pid);
    const cpuMs = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
    const systemMs = cpu1.system - cpu0.system;
    const sys1 = processSyscalls(router.pid);
    const ms = performance.now() - t0;
    const to = monoMs();
    strace?.kill('SIGINT');
    stop = true;
    await Promise.all(loops);
    console.log(
      `${String(n).padStart(5)} callers x ${depth} in flight: ${Math.round((answered / ms) * 1000).toLocaleString('en-US')} calls/s, ` +
        `router CPU ${((cpuMs / ms) * 100).toFixed(0)}% of a core, ${((cpuMs * 1000) / answered).toFixed(2)} µs per call ` +
        `(kernel ${((systemMs * 1000) / answered).toFixed(2)}), ` +
        `${((sys1.writes - sys0.writes) / answered).toFixed(2)} writes and ${((sys1.reads - sys0.reads) / answered).toFixed(2)} reads per call; window ${from.toFixed(0)},${to.toFixed(0)}`,
    );
    for (const c of callers) await c.destroy();
  }
} finally {
  await callee.destroy();
  await router.stop();
}
