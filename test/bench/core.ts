// The router core alone, in process: the CPU time per call (RPC) and per publication with
// 1,000 subscribers (fan-out) of the sans-IO core (Router, Session, Dealer, Broker, the
// serializers) behind in-memory peers, without sockets, syscalls or a load generator. Frames
// are pre-encoded and the peers only count what they get, so nearly all of the CPU time is the
// core's. Robust on a busy machine (it reads CPU time, not wall time), so small changes to the
// hot path can be compared; with other source trees, all run in this process, in turns:
//
//   scripts/node24 test/bench/core.ts [/path/to/other/checkout/src ...]
//
// CORE_METRICS=1 adds "<tree> + metrics" for each tree: the same core counting for /metrics
// (RouterMetrics given to the Router, as `serve` does when an HTTP listener serves metrics).
//
// Not part of `npm run bench` (whose figures include the transports and the kernel).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Peer, PeerHandler } from '../../src/router/peer.ts';
import type { Router as RouterClass, RouterOptions } from '../../src/router/router.ts';
import type { Serializer } from '../../src/serializers/serializer.ts';
import { median } from './common.ts';

const CALLS = 200_000;
const BATCH = 100; // calls in flight, as a pipelining caller has them
const PUBLICATIONS = 20_000;
const SUBSCRIBERS = 1_000;
const ROUNDS = 5; // after one warm-up round (JIT), not counted
const PAYLOAD = 'the quick brown fox jumps over..';
// About 4 KB of JSON (less in CBOR): a batch of sensor readings, where passthrough pays.
const READINGS = Array.from({ length: 48 }, (_, i) => ({
  sensor: `sensor-${i}`,
  t: 1_763_800_000_000 + i * 1000,
  value: i * 0.37 + 20.5,
  ok: i % 7 !== 0,
}));

const TEXT_10K = 'reading 0123456789 abcdefghij, '.repeat(320);
const TEXT_1M = 'reading 0123456789 abcdefghij, '.repeat(32_768);

interface Tree {
  name: string;
  Router: new (options: RouterOptions) => RouterClass;
  serializers: { cbor: Serializer; json: Serializer; msgpack: Serializer };
  /** Extra router options (the metrics variant). */
  options?: () => Partial<RouterOptions>;
}

async function load(name: string, src: string): Promise<Tree> {
  const router = (await import(path.join(src, 'router/router.ts'))) as { Router: Tree['Router'] };
  const serializers = (await import(path.join(src, 'serializers/index.ts'))) as Tree['serializers'];
  return { name, Router: router.Router, serializers };
}

/** An in-memory peer that keeps the router's frames for the test loop to handle. */
function attach(router: RouterClass, serializer: Serializer, onFrame: (frame: Uint8Array) => void): PeerHandler {
  const peer: Peer = {
    serializer,
    info: { type: 'memory', peer: '127.0.0.1:1', local: true },
    send: onFrame,
    bufferedAmount: () => 0,
    close: () => undefined,
  };
  return router.attach(peer);
}

function join(handler: PeerHandler, s: Serializer): void {
  handler.receive(s.encode([1, 'realm1', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } }]));
}

// Pre-encoded frames, made once per serializer (outside any measurement, and out of profiles).
const made = new Map<string, unknown>();
function frames<T>(s: Serializer, what: string, make: () => T): T {
  const key = `${s.name}:${what}`;
  if (!made.has(key)) made.set(key, make());
  return made.get(key) as T;
}

/** µs of CPU per call: CALL in, INVOCATION out, YIELD in, RESULT out. */
function rpc(tree: Tree, s: Serializer, args: unknown[] = [PAYLOAD], calls = CALLS): number {
  const router = new tree.Router({ realms: [{ uri: 'realm1', anonymous: true }], ...tree.options?.() });
  let invocations = 0;
  let results = 0;
  const callee = attach(router, s, () => {
    invocations++;
  });
  const caller = attach(router, s, () => {
    results++;
  });
  join(callee, s);
  join(caller, s);
  callee.receive(s.encode([64, 1, {}, 'bench.echo']));
  // INVOCATION request IDs count up from 1 per callee session; YIELDs for them are built up
  // front, like the CALLs, so the loop below only feeds frames.
  const { callFrames, yields } = frames(s, `rpc ${calls} ${args.length}`, () => ({
    callFrames: Array.from({ length: calls }, (_, i) => s.encode([48, 0x1000_0000 + i, {}, 'bench.echo', args])),
    yields: Array.from({ length: calls }, (_, i) => s.encode([70, i + 1, {}, args])),
  }));
  invocations = 0;
  results = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < calls; i += BATCH) {
    for (let j = i; j < i + BATCH; j++) caller.receive(callFrames[j]!);
    for (let j = i; j < i + BATCH; j++) callee.receive(yields[j]!);
  }
  const cpu = process.cpuUsage(t0);
  if (invocations !== calls || results !== calls)
    throw new Error(`${tree.name}: ${invocations} invocations, ${results} results of ${calls}`);
  return (cpu.user + cpu.system) / calls;
}

/** µs of CPU per publication delivered to SUBSCRIBERS subscribers. */
function fanout(tree: Tree, s: Serializer): number {
  const router = new tree.Router({ realms: [{ uri: 'realm1', anonymous: true }], ...tree.options?.() });
  let events = 0;
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const h = attach(router, s, () => {
      events++;
    });
    join(h, s);
    h.receive(s.encode([32, 1, {}, 'bench.fanout']));
  }
  const publisher = attach(router, s, () => undefined);
  join(publisher, s);
  const { publishes } = frames(s, 'fanout', () => ({
    publishes: Array.from({ length: PUBLICATIONS }, (_, i) =>
      s.encode([16, 0x1000_0000 + i, {}, 'bench.fanout', [PAYLOAD, 1234.5678]]),
    ),
  }));
  events = 0;
  const t0 = process.cpuUsage();
  for (const frame of publishes) publisher.receive(frame);
  const cpu = process.cpuUsage(t0);
  if (events !== PUBLICATIONS * SUBSCRIBERS)
    throw new Error(`${tree.name}: ${events} events of ${PUBLICATIONS * SUBSCRIBERS}`);
  return (cpu.user + cpu.system) / PUBLICATIONS;
}

const trees = [await load('this checkout', fileURLToPath(new URL('../../src/', import.meta.url)))];
for (const other of process.argv.slice(2)) trees.push(await load(other, path.resolve(other)));
if (process.env.CORE_METRICS === '1') {
  // Each tree with its own RouterMetrics, so an older checkout's counting compares too.
  const sources = [fileURLToPath(new URL('../../src/', import.meta.url)), ...process.argv.slice(2)];
  for (const [i, tree] of [...trees].entries()) {
    const { RouterMetrics } = (await import(path.join(path.resolve(sources[i]!), 'router/metrics.ts'))) as {
      RouterMetrics: new (clock: () => number) => NonNullable<RouterOptions['metrics']>;
    };
    trees.push({
      ...tree,
      name: `${tree.name} + metrics`,
      options: () => ({ metrics: new RouterMetrics(() => performance.now()) }),
    });
  }
}
const runs: { name: string; run: (t: Tree) => number }[] = [
  { name: 'RPC CBOR µs/call', run: (t) => rpc(t, t.serializers.cbor) },
  { name: 'RPC JSON µs/call', run: (t) => rpc(t, t.serializers.json) },
  { name: 'RPC CBOR µs/call, 4 KB of args', run: (t) => rpc(t, t.serializers.cbor, READINGS, CALLS / 10) },
  { name: 'RPC JSON µs/call, 4 KB of args', run: (t) => rpc(t, t.serializers.json, READINGS, CALLS / 10) },
  { name: 'RPC MsgPack µs/call', run: (t) => rpc(t, t.serializers.msgpack) },
  { name: 'RPC MsgPack µs/call, 4 KB of args', run: (t) => rpc(t, t.serializers.msgpack, READINGS, CALLS / 10) },
  // As bench.ts's payload rows (BENCH_ONLY=payload): one string argument, echoed.
  { name: 'RPC CBOR µs/call, 10 KB string', run: (t) => rpc(t, t.serializers.cbor, [TEXT_10K], CALLS / 100) },
  { name: 'RPC JSON µs/call, 10 KB string', run: (t) => rpc(t, t.serializers.json, [TEXT_10K], CALLS / 100) },
  { name: 'RPC CBOR µs/call, 1 MB string', run: (t) => rpc(t, t.serializers.cbor, [TEXT_1M], BATCH) },
  { name: `fan-out CBOR µs/publication (${SUBSCRIBERS} subscribers)`, run: (t) => fanout(t, t.serializers.cbor) },
  { name: `fan-out JSON µs/publication (${SUBSCRIBERS} subscribers)`, run: (t) => fanout(t, t.serializers.json) },
];
// CORE_RUNS=regexp: only the runs whose name matches it (e.g. "RPC CBOR", "call$"), to profile one.
if (process.env.CORE_RUNS !== undefined) {
  const only = new RegExp(process.env.CORE_RUNS);
  runs.splice(0, runs.length, ...runs.filter((r) => only.test(r.name)));
}
const results = new Map<string, number[]>();
for (let round = 0; round <= ROUNDS; round++) {
  for (const r of runs) {
    for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
      // alternate the order
      const key = `${r.name}\u0000${tree.name}`;
      const x = r.run(tree);
      if (round > 0) results.set(key, [...(results.get(key) ?? []), x]);
    }
  }
}
console.log(`median (min..max) of ${ROUNDS} rounds; the minimum is the least disturbed by other work on the machine`);
for (const r of runs) {
  const line = trees.map((tree) => {
    const xs = results.get(`${r.name}\u0000${tree.name}`)!;
    return `${tree.name}: ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)})`;
  });
  console.log(`${r.name.padEnd(48)} ${line.join('   ')}`);
}
