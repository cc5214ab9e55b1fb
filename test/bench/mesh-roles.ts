// CPU per call at each role of the mesh chain (origin A, middles B and C, destination D), user
// and system time apart, for the mesh speed work (issue 20). The bench (bench.ts) gives the sum
// over the four routers; this gives each one, from /proc over the measured pipelined phase only
// (1000 calls in flight, at /proc's 10 ms resolution), beside the same calls on A alone and on A
// through three bare forwarders (forwarder.ts: the calls/s no three-hop path can beat here). Given
// other checkouts' scripts/wampmesh, it runs their chains too, interleaved round by round:
//
//   scripts/node24 test/bench/mesh-roles.ts [ROUNDS] [BIN ...]
//
// Each round starts one chain per binary, measures it, and stops it, so that an idle chain does
// not share the box with the one measured. Not part of the test suite.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cbor, json } from '../../src/serializers/index.ts';
import { wampmeshBin } from '../helpers/router-process.ts';
import { median } from './common.ts';
import { startForwarders } from './forwarder.ts';
import { NODES, startMeshChain } from './mesh.ts';
import { measureRpc, PIPELINE_MS, SEQUENTIAL_CALLS, type PacedFigures, type RpcTarget } from './rpc.ts';

const CLK_TCK = 100; // Linux USER_HZ

/** [busy, all] jiffies of the machine since boot, over every core (/proc/stat). */
function machine(): [number, number] {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const all = fields.reduce((sum, x) => sum + x, 0);
  // idle and iowait are the 4th and 5th fields.
  return [all - fields[3]! - fields[4]!, all];
}

/** [utime, stime] of a process, in ms. */
function times(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [(Number(fields[11]) * 1000) / CLK_TCK, (Number(fields[12]) * 1000) / CLK_TCK];
}

// MESH_ROLES_PERF=stat: also count each router's system calls (perf stat) over the same phase;
// MESH_ROLES_PERF=record: sample each router's CPU (perf record, /tmp/mesh-roles-<node>.data;
// start the routers with BENCH_ROUTER_NODE_OPTIONS=--perf-basic-prof for JavaScript names);
// MESH_ROLES_PERF=record-g: the same with call chains (perf record -g: V8 keeps frame pointers).
const SYSCALLS = ['write', 'writev', 'read', 'epoll_pwait', 'epoll_wait'];

interface Figures {
  callsPerSec: number;
  /** This process (the caller and the callee), [user, system] µs per call over the pipelined phase. */
  generator: [number, number];
  /** Cores of the machine busy over the pipelined phase (/proc/stat, every process). */
  busyCores: number;
  p50: number;
  p99: number;
  /** Per node: [user, system] µs per call over the pipelined phase. */
  roles: [number, number][];
  /** The same over the sequential phase (one call at a time). */
  sequential: [number, number][];
  /** Per node, with MESH_ROLES_PERF: system calls per call, by name. */
  syscalls?: Record<string, number>[];
  /** With MESH_ROLES_PACED: p50 and p99 of calls sent at each of those rates (rpc.ts). */
  paced: PacedFigures[];
}

const perfMode = process.env.MESH_ROLES_PERF;

function perfStat(pid: number, n: number): { child: ChildProcess; file: string; done: Promise<void> } {
  const record = perfMode === 'record' || perfMode === 'record-g';
  const file = record ? `/tmp/mesh-roles-${NODES[n]}.data` : `/tmp/mesh-roles-perf-${pid}.csv`;
  const events = SYSCALLS.map((s) => `syscalls:sys_enter_${s}`).join(',');
  const args = record
    ? ['record', '-F', '4999', ...(perfMode === 'record-g' ? ['-g'] : []), '-p', String(pid), '-o', file]
    : ['stat', '-x', ',', '-e', events, '-p', String(pid), '-o', file];
  const child = spawn('perf', args, { stdio: 'ignore' });
  return { child, file, done: new Promise((resolve) => child.once('exit', () => resolve())) };
}

function perfCounts(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [count, , event] = line.split(',');
    const name = event?.replace('syscalls:sys_enter_', '');
    if (name !== undefined && SYSCALLS.includes(name)) out[name] = Number(count);
  }
  return out;
}

async function run(target: RpcTarget): Promise<Figures> {
  let before: [number, number][] = [];
  let after: [number, number][] = [];
  let box: [number, number] = [0, 0];
  let busyCores = 0;
  let seqBefore: [number, number][] = [];
  let seqAfter: [number, number][] = [];
  let t0 = 0;
  let seconds = 0;
  let perf: ReturnType<typeof perfStat>[] = [];
  const sequential = SEQUENTIAL_CALLS;
  const limits = { sequential, pipelineMs: PIPELINE_MS, paced: pacedRates };
  const figures = await measureRpc(target, limits, (phase, start) => {
    if (phase === 'sequential') {
      if (start) seqBefore = target.pids.map(times);
      else seqAfter = target.pids.map(times);
    } else if (start) {
      if (perfMode !== undefined && target.name === 'A->D') perf = target.pids.map(perfStat);
      before = [...target.pids, process.pid].map(times);
      box = machine();
      t0 = performance.now();
    } else {
      after = [...target.pids, process.pid].map(times);
      seconds = (performance.now() - t0) / 1000;
      const [busy, all] = machine();
      busyCores = ((busy - box[0]) / (all - box[1])) * cpus().length;
      for (const p of perf) p.child.kill('SIGINT');
    }
  });
  await Promise.all(perf.map((p) => p.done));
  const calls = figures.callsPerSec * seconds;
  const perCall = (counts: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / calls]));
  const cpu = (a: [number, number][], b: [number, number][], n: number): [number, number][] =>
    b.map((t, i) => [((t[0] - a[i]![0]) * 1000) / n, ((t[1] - a[i]![1]) * 1000) / n]);
  const roles = cpu(before, after, calls);
  return {
    callsPerSec: figures.callsPerSec,
    generator: roles.pop()!,
    busyCores,
    p50: figures.p50,
    p99: figures.p99,
    roles,
    sequential: cpu(seqBefore, seqAfter, sequential),
    paced: figures.paced ?? [],
    ...(perf.length > 0 && perfMode === 'stat' && { syscalls: perf.map((p) => perCall(perfCounts(p.file))) }),
  };
}

/** [A alone, A->D, A through three relays, A through three tagging relays] on one chain of `bin`. */
async function measure(bin: string): Promise<Figures[]> {
  const options = process.env.BENCH_ROUTER_NODE_OPTIONS;
  const chain = await startMeshChain(
    bin,
    options === undefined ? undefined : { ...process.env, NODE_OPTIONS: options },
  );
  try {
    const [a, , , d] = chain.routers;
    const base = {
      pids: chain.routers.map((r) => r.pid),
      transport: 'rawsocket',
      // MESH_ROLES_SERIALIZER=json: the caller and the callee speak JSON (default CBOR).
      serializer: process.env.MESH_ROLES_SERIALIZER === 'json' ? json : cbor,
      port: a!.rawsocketPort,
      url: '',
      wamp: true,
      // MESH_ROLES_PAYLOAD=<octets>: each call's one string argument of that size (default 32 B).
      ...(payloadBytes > 0 && { payload: 'x'.repeat(payloadBytes) }),
    } as const;
    // MESH_ROLES_REMOTE_ONLY=1: the chain's calls only (a profile of A then holds no local calls).
    const none = {
      callsPerSec: 0,
      generator: [0, 0] as [number, number],
      busyCores: 0,
      p50: 0,
      p99: 0,
      roles: base.pids.map(() => [0, 0] as [number, number]),
      sequential: [],
      paced: [],
    };
    const local = remoteOnly ? none : await run({ ...base, name: 'A only' });
    // MESH_ROLES_LOCAL_ONLY=1: A alone only (a profile of A then holds no mesh calls).
    if (localOnly) return [local, none, none, none];
    const remote = await run({ ...base, name: 'A->D', callee: { port: d!.rawsocketPort }, waitForRoute: true });
    if (remoteOnly) return [local, remote, none, none];
    // The caller behind three bare forwarders in front of A, the callee on A: three processes in
    // the path that do less than any router could (no parsing, no routing, no tags), so no
    // three-hop mesh on this machine can beat this row's calls/s.
    const relayed: Figures[] = [];
    // The same with relays that also check and make a link's integrity tag per read
    // (tagging-forwarder.ts): the least a mesh hop with the tags on can do.
    for (const tagging of [false, true]) {
      const line = await startForwarders(a!.rawsocketPort, 3, tagging);
      try {
        relayed.push(
          await run({
            ...base,
            name: tagging ? 'A via 3 tagging relays' : 'A via 3 relays',
            pids: [a!.pid, ...line.map((f) => f.child.pid!)],
            port: line[0]!.port,
            callee: { port: a!.rawsocketPort },
          }),
        );
      } finally {
        for (const f of line) f.child.kill();
      }
    }
    return [local, remote, ...relayed];
  } catch (error) {
    // What the routers said (a link that went down says why).
    console.error(`${bin}: ${(error as Error).stack}`);
    for (const [n, r] of chain.routers.entries())
      console.error(`--- ${NODES[n]} (pid ${r.pid}):\n${r.stdout().slice(-4000)}${r.stderr().slice(-4000)}`);
    throw error;
  } finally {
    await chain.stop();
  }
}

const payloadBytes = Number(process.env.MESH_ROLES_PAYLOAD ?? 0);
const remoteOnly = process.env.MESH_ROLES_REMOTE_ONLY === '1';
const localOnly = process.env.MESH_ROLES_LOCAL_ONLY === '1';
// MESH_ROLES_PACED=20000,80000: after the pipelined phase, calls sent at each of these rates
// (open loop, rpc.ts), their p50 and p99 printed per row, and per hop against A only's.
const pacedRates = (process.env.MESH_ROLES_PACED ?? '')
  .split(',')
  .filter((r) => r !== '')
  .map(Number);
const rounds = Number(process.argv[2] ?? 3);
const bins = process.argv.length > 3 ? process.argv.slice(3) : [wampmeshBin];
const results = bins.map(() => [] as Figures[][]);
for (let r = 0; r < rounds; r++)
  for (const [i, bin] of bins.entries()) {
    const f = await measure(bin);
    results[i]!.push(f);
    console.error(
      `round ${r + 1} ${bin}: A only ${Math.round(f[0]!.callsPerSec)}, A->D ${Math.round(f[1]!.callsPerSec)}, A via 3 relays ${Math.round(f[2]!.callsPerSec)}, tagging ${Math.round(f[3]!.callsPerSec)} calls/s`,
    );
  }
const fmt = (x: number): string => x.toFixed(2).padStart(6);
for (const [i, bin] of bins.entries()) {
  const rs = results[i]!;
  console.log(`\n${bin}: median of ${rs.length} round(s)`);
  for (const [k, name] of ['A only', 'A->D', 'A via 3 relays', 'A via 3 tagging relays'].entries()) {
    if ((k !== 1 && remoteOnly) || (k !== 0 && localOnly)) continue;
    const m = (f: (x: Figures) => number): number => median(rs.map((r) => f(r[k]!)));
    const local = median(rs.map((r) => r[0]!.p50));
    const alone = median(rs.map((r) => r[0]!.callsPerSec));
    const hop = k > 0 && local > 0 ? `, +${Math.round((m((x) => x.p50) - local) / 3)} µs per hop at p50` : '';
    const share = k > 0 && alone > 0 ? `, ${(m((x) => x.callsPerSec) / alone).toFixed(2)}x of A only` : '';
    console.log(
      `  ${name}: ${Math.round(m((x) => x.callsPerSec))} calls/s, p50 ${Math.round(m((x) => x.p50))} µs, p99 ${Math.round(m((x) => x.p99))} µs${hop}${share}`,
    );
    let total = 0;
    for (const [n, node] of (k === 2 ? ['A', 'F1', 'F2', 'F3'] : k === 3 ? ['A', 'T1', 'T2', 'T3'] : NODES).entries()) {
      const user = m((x) => x.roles[n]![0]);
      const sys = m((x) => x.roles[n]![1]);
      total += user + sys;
      if (k === 0 && n > 0) continue;
      const calls = rs[0]![k]!.syscalls?.[n];
      const sc =
        calls === undefined
          ? ''
          : `; per call: ${SYSCALLS.map((name) => `${name} ${m((x) => x.syscalls![n]![name] ?? 0).toFixed(2)}`).join(', ')}`;
      const seq = m((x) => x.sequential[n]![0] + x.sequential[n]![1]);
      console.log(
        `    ${node}: user ${fmt(user)}  sys ${fmt(sys)}  = ${fmt(user + sys)} µs per call; one at a time ${fmt(seq)}${sc}`,
      );
    }
    for (const [p, rate] of pacedRates.entries()) {
      const at = (row: number, f: (x: PacedFigures) => number): number => median(rs.map((r) => f(r[row]!.paced[p]!)));
      const [p50, p99] = [at(k, (x) => x.p50), at(k, (x) => x.p99)];
      const hop =
        k > 0 && !remoteOnly
          ? `, per hop +${Math.round((p50 - at(0, (x) => x.p50)) / 3)} / +${Math.round((p99 - at(0, (x) => x.p99)) / 3)} µs`
          : '';
      console.log(
        `    paced at ${rate} calls/s (sent ${Math.round(at(k, (x) => x.sent))}): p50 ${Math.round(p50)} µs, p99 ${Math.round(p99)} µs${hop}`,
      );
    }
    const gen = m((x) => x.generator[0] + x.generator[1]);
    console.log(`    all four: ${fmt(total)} µs per call`);
    console.log(
      `    caller and callee (this process): ${fmt(gen)} µs per call; machine: ${m((x) => x.busyCores).toFixed(2)} of ${cpus().length} cores busy`,
    );
  }
}
