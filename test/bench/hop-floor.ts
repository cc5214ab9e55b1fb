// What a process hop costs on this machine, beside what a mesh hop costs (issue 20's per-hop
// latency targets): `scripts/node24 test/bench/hop-floor.ts [ROUNDS]`, not part of `npm run bench`.
//
// The mesh chain A-B-C-D of the mesh bench, an echo callee on A and one on D, and three bare TCP
// forwarders (one process each, read and write, no parsing, TCP_NODELAY: the least a process
// in the path can do) in front of A. One caller, one call at a time, over:
//   direct         caller -> A -> callee on A
//   3 forwarders   caller -> F1 -> F2 -> F3 -> A -> callee on A
//   3 tagging      caller -> T1 -> T2 -> T3 -> A -> callee on A, forwarders that also check and
//                  make a link's integrity tag per read (tagging-forwarder.ts): the floor with tags
//   3 mesh hops    caller -> A -> B -> C -> D -> callee on D
// Each row crosses its three extra processes once each way (CALL out, RESULT back), so
// (row - direct) / 3 is the latency a hop adds. Rows interleaved round by round, the same client
// for all, p50 and p99 of HOP_CALLS sequential calls after a warm-up.
//
// HOP_TURNAROUND=1 also records, over the rounds, how long each process that serves one row
// only (B, C and D of the mesh, the forwarders) holds a message between the read that brings it
// and the write that sends it on (turnaround.ts; needs perf): its own work on the path.
// HOP_SCHED=1 records the scheduler over each row of the last round (sched-waits.ts; needs perf)
// and prints how long the row's processes waited, woken, for a CPU: the sequential rows' tail.
// HOP_BIN=<checkout>/scripts/wampmesh (or a wrapper that adds flags) runs the chain from there.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { wampmeshBin } from '../helpers/router-process.ts';
import { median } from './common.ts';
import { startForwarders } from './forwarder.ts';
import { NODES, startMeshChain } from './mesh.ts';
import { recordSched, type Waits } from './sched-waits.ts';
import { recordTurnaround } from './turnaround.ts';

const CALLS = Number(process.env.HOP_CALLS ?? 3_000);
const WARMUP = 500;
// Before the rounds, the mesh path is called alone for MESH_WARMUP_MS, then every path for
// WARMUP_MS (one call at a time, alternating): a router just started answers its first seconds of
// calls while V8 is still optimizing its code (on the same two cores), and the mesh row crosses
// four such routers. One call at a time through the chain, the tail settles only after ~20 s
// (warm-up.ts hop.d 8 5000: p99 2,096 µs in the first 5 s, 545-565 at 5-15 s, 446 at 15-20 s,
// 394-416 from 20 s on); after 5 s of alternating calls only, the mesh rows were measured while
// it was still settling (per hop p99 +310..+540 µs, against +74..+85 after this warm-up).
// HOP_MESH_WARMUP_MS=0 HOP_WARMUP_MS=0 measures from a cold start.
const MESH_WARMUP_MS = Number(process.env.HOP_MESH_WARMUP_MS ?? 25_000);
const WARMUP_MS = Number(process.env.HOP_WARMUP_MS ?? 5_000);
const ROUNDS = Number(process.argv[2] ?? 3);
const PAYLOAD = ['x'.repeat(32)];

/** CPU time of a process's main thread, ns. */
const cpuNs = (pid: number): number => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ', 1)[0]);

async function client(port: number): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', serializer: 'cbor', port, timeoutMs: 20_000 });
  await c.join('realm1', {}, 20_000);
  return c;
}

/** p50 and p99 (µs) of sequential calls. */
async function sequential(caller: RawClient, procedure: string): Promise<[number, number]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + CALLS; i++) {
    const t = performance.now();
    const reply = await caller.call(procedure, PAYLOAD, {}, 5_000);
    if (reply[0] !== 50) throw new Error(`${procedure}: ${JSON.stringify(reply)}`);
    if (i >= WARMUP) samples.push((performance.now() - t) * 1000);
    // BENCH_SEQUENTIAL_GAP=1: a millisecond between calls (see rpc.ts), as for calls made alone.
    if (process.env.BENCH_SEQUENTIAL_GAP === '1') await new Promise((r) => setTimeout(r, 1));
  }
  samples.sort((a, b) => a - b);
  return [samples[Math.floor(samples.length * 0.5)]!, samples[Math.floor(samples.length * 0.99)]!];
}

// BENCH_ROUTER_NODE_OPTIONS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof') is passed to the routers.
const options = process.env.BENCH_ROUTER_NODE_OPTIONS;
const chain = await startMeshChain(
  process.env.HOP_BIN ?? wampmeshBin,
  options === undefined ? undefined : { ...process.env, NODE_OPTIONS: options },
);
const forwarders: ChildProcess[] = [];
const clients: RawClient[] = [];
try {
  const [a, , , d] = chain.routers;
  const calleeA = await client(a!.rawsocketPort);
  const calleeD = await client(d!.rawsocketPort);
  clients.push(calleeA, calleeD);
  await calleeA.register('hop.a');
  await calleeD.register('hop.d');
  calleeA.serveEcho();
  calleeD.serveEcho();
  const line = await startForwarders(a!.rawsocketPort, 3);
  forwarders.push(...line.map((f) => f.child));
  const tagLine = await startForwarders(a!.rawsocketPort, 3, true);
  forwarders.push(...tagLine.map((f) => f.child));
  const direct = await client(a!.rawsocketPort);
  const forwarded = await client(line[0]!.port);
  const tagged = await client(tagLine[0]!.port);
  clients.push(direct, forwarded, tagged);
  // The registration on D must have reached A.
  for (const deadline = performance.now() + 20_000; (await direct.call('hop.d', PAYLOAD, {}, 5_000))[0] !== 50; ) {
    if (performance.now() > deadline) throw new Error('hop.d not reachable from A within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const until = performance.now() + MESH_WARMUP_MS; performance.now() < until; )
    for (let i = 0; i < 100; i++) await direct.call('hop.d', PAYLOAD, {}, 5_000);
  for (const until = performance.now() + WARMUP_MS; performance.now() < until; ) {
    for (let i = 0; i < 100; i++) await direct.call('hop.a', PAYLOAD, {}, 5_000);
    for (let i = 0; i < 100; i++) await forwarded.call('hop.a', PAYLOAD, {}, 5_000);
    for (let i = 0; i < 100; i++) await tagged.call('hop.a', PAYLOAD, {}, 5_000);
    for (let i = 0; i < 100; i++) await direct.call('hop.d', PAYLOAD, {}, 5_000);
  }
  const rows = {
    direct: [] as number[][],
    forwarders: [] as number[][],
    tagging: [] as number[][],
    mesh: [] as number[][],
  };
  const named = (prefix: string, fs: typeof line): [string, number][] =>
    fs.map((f, i) => [`${prefix}${i + 1}`, f.child.pid!]);
  const routers = chain.routers.map((r, i): [string, number] => [NODES[i]!, r.pid]);
  const onA = routers[0]!;
  const everyone = [...routers, ...named('F', line), ...named('T', tagLine)];
  const pids = everyone.map(([, pid]) => pid);
  // Each process's CPU per call over a row (its main thread, from /proc/<pid>/schedstat: ns, the
  // kernel's work in its system calls included): what a hop costs beside what it waits for.
  const cpu = {
    direct: [] as number[][],
    forwarders: [] as number[][],
    tagging: [] as number[][],
    mesh: [] as number[][],
  };
  // Per row, the processes on its path: the caller and callee (this process), then the others.
  const generator: [string, number] = ['client', process.pid];
  const paths: Record<keyof typeof rows, [string, number][]> = {
    direct: [generator, onA],
    forwarders: [generator, ...named('F', line), onA],
    tagging: [generator, ...named('T', tagLine), onA],
    mesh: [generator, ...routers],
  };
  const sched: Partial<Record<keyof typeof rows, (Waits | undefined)[]>> = {};
  const measured = async (
    name: keyof typeof rows,
    caller: RawClient,
    procedure: string,
    last: boolean,
  ): Promise<void> => {
    const recording = last && process.env.HOP_SCHED === '1' ? await recordSched() : undefined;
    const before = pids.map(cpuNs);
    rows[name].push(await sequential(caller, procedure));
    cpu[name].push(pids.map((pid, i) => (cpuNs(pid) - before[i]!) / 1000 / (WARMUP + CALLS)));
    if (recording !== undefined) sched[name] = await recording.stop(paths[name].map(([, pid]) => pid));
  };
  // A serves every row, so its figure would mix them; the others serve one row each.
  const traced = pids.slice(1);
  const recording = process.env.HOP_TURNAROUND === '1' ? await recordTurnaround(traced) : undefined;
  if (process.env.HOP_TURNAROUND === '1' && recording === undefined)
    console.log('HOP_TURNAROUND: perf not usable here');
  for (let round = 0; round < ROUNDS; round++) {
    const last = round === ROUNDS - 1;
    await measured('direct', direct, 'hop.a', last);
    await measured('forwarders', forwarded, 'hop.a', last);
    await measured('tagging', tagged, 'hop.a', last);
    await measured('mesh', direct, 'hop.d', last);
  }
  const at = (r: number[][], k: number): number => median(r.map((x) => x[k]!));
  const base = [at(rows.direct, 0), at(rows.direct, 1)];
  console.log(
    `sequential calls, RawSocket/CBOR, ${CALLS} per row, median of ${ROUNDS} rounds after ${MESH_WARMUP_MS} ms of warm-up on the mesh path and ${WARMUP_MS} on all (p50 | p99 µs)`,
  );
  for (const [name, r] of Object.entries(rows)) {
    const p50 = at(r, 0);
    const p99 = at(r, 1);
    const hop =
      name === 'direct'
        ? ''
        : `   per hop +${((p50 - base[0]!) / 3).toFixed(0)} | +${((p99 - base[1]!) / 3).toFixed(0)} µs`;
    console.log(`${name.padEnd(12)} ${p50.toFixed(0).padStart(5)} | ${p99.toFixed(0).padStart(5)}${hop}`);
  }
  console.log(
    `${'µs of CPU per call, each process (main thread):'.padEnd(48)} ${everyone.map(([name]) => name.padStart(5)).join(' ')}`,
  );
  for (const [name, r] of Object.entries(cpu)) {
    const each = pids.map((_, i) =>
      median(r.map((x) => x[i]!))
        .toFixed(1)
        .padStart(5),
    );
    console.log(`${name.padEnd(48)} ${each.join(' ')}`);
  }
  if (process.env.HOP_SCHED === '1') {
    console.log(
      'waits for a CPU once woken, last round (ms: p50 / p99 / max; waits over 0.5 ms; of their time, another CPU idle; what held the CPU):',
    );
    for (const [name, ws] of Object.entries(sched)) {
      console.log(`  ${name}`);
      for (const [i, w] of ws.entries()) {
        if (w === undefined) continue;
        const who = paths[name as keyof typeof rows][i]![0];
        const held = w.heldBy.map(([task, ms]) => `${task} ${ms.toFixed(1)}`).join(', ');
        console.log(
          `    ${who.padEnd(7)} ${w.delay.map((x) => x.toFixed(2)).join(' / ')}  ${w.long} of ${w.runs}  ${(100 * w.idleElsewhere).toFixed(0)}%  ${held}`,
        );
      }
    }
  }
  if (recording !== undefined) {
    const held = await recording.stop();
    console.log('µs each process holds a message, read to write (p10 / p50 / p90):');
    for (const [i, [name]] of everyone.slice(1).entries()) {
      const h = held[i];
      const figures = h === undefined ? 'none seen' : `${h.held.map((x) => x.toFixed(0)).join(' / ')}  (${h.count})`;
      console.log(`  ${name.padEnd(3)} ${figures}`);
    }
  }
} finally {
  for (const c of clients) await c.destroy();
  for (const f of forwarders) f.kill();
  await chain.stop();
}
