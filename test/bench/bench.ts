// wampmesh benchmark (`npm run bench`): RPC, PubSub fan-out, mesh hops and idle connections on
// loopback, each next to a baseline measured in the same run, printed as one table.
//
// What runs (every target a child process; the load generator is this process, plus child
// processes where one process cannot hold the connections):
//   - the router: `scripts/wampmesh serve` (test/helpers/router-process.ts);
//   - the relay (relay.ts): a RawSocket server that forwards frames between paired connections
//     with the router's own framing code and corking but no WAMP: the floor that the transport,
//     the kernel and the generator impose on RPC;
//   - fox-wamp (fox.ts): another WAMP router on Node (npm fox-wamp, WebSocket + JSON only), for
//     the RPC and fan-out scenarios over WebSocket/JSON;
//   - a mesh of four routers A-B-C-D (mesh.ts): calls from A to a callee on D cross three links
//     (with 32 B and with 10 KB arguments); the same calls with both ends on A are the
//     single-node figure; events published on A for
//     10 subscribers on D (the links bound the rate) and for 1,000 (fan-out across the chain,
//     against the same fan-out on A alone);
//   - with BENCH_BASE=<another checkout's scripts/wampmesh>, that router too, as "router (base)"
//     on every router row: before/after figures of a change from one run;
//   - with BENCH_NEXUS=<a nexusd executable> (nexus.ts), gammazero/nexus, a WAMP router in Go, on
//     the RPC rows (RawSocket/CBOR, WebSocket/JSON) and the payload rows, compared as "vs nexus".
//
// Scenarios:
//   RPC (rpc.ts): sequential latency p50/p99 of SEQUENTIAL_CALLS calls, pipelined calls/s with
//     IN_FLIGHT calls in flight for PIPELINE_MS; pre-encoded CALLs, no client library.
//   Fan-out (fanout.ts): one publisher, 1,000 subscribers (999 in FANOUT_CHILDREN generator
//     processes, fanout-child.ts, and one "sentinel" here that paces the publisher); latency
//     p50/p99 of deliveries with one publication at a time, then events delivered/s with
//     publications kept in flight, and the p99 under that load.
//   Mesh: the RPC measurement against the chain (caller on A, callee on D) and against A alone;
//     the fan-out measurement with the publisher on A and MESH_SUBSCRIBERS subscribers on D.
//   Bridge (bridge.ts, BENCH_ONLY=bridge): events/s through an MQTT
//     bridge's durable outbox (synchronous=FULL) to a local mosquitto, sustained and draining
//     after an outage; runs once, after the rounds.
//   Connections: CONNECTIONS idle RawSocket/CBOR sessions (anonymous, joined) opened by
//     CONN_CHILDREN generator processes (conn-child.ts) against a fresh router: the time until
//     the last WELCOME, and the router's RSS (VmRSS from /proc) after minus before, per session.
//   Start-up (startup.ts): spawn to the listening line and idle RSS, from the sources and of the
//     executables in dist/ where built (x64; arm64 under qemu-user), each router of the run.
//   MQTT (mqtt.ts): wampmesh's MQTT listener, mosquitto and aedes in the same run: QoS 0 fan-out
//     to 1,000 subscribers, QoS 1 publish throughput, RSS per idle client (10,000); own table,
//     with BENCH_BASE's router as "wampmesh (base)"; the generator's ceiling and other knobs are
//     in mqtt.ts (MQTT_BROKERS=relay,..., MQTT_PHASES).
// Rounds: ROUNDS rounds over the RPC, fan-out and mesh targets, interleaved so that load from
// elsewhere on the box spreads over all of them; the table shows medians and then the spread.
// Connections run once, at the end. Every scenario is bounded in count and time, and the whole
// run in BUDGET_MS (a round that would end past it is skipped): about 3-4 minutes on 2 cores.
//
// Is the generator the bottleneck? During every measurement the CPU time of the target
// process(es) and of the generator (this process and its child processes) is read from /proc
// and printed as a share of one core, with the rest of the machine's busy time ("other": other
// processes and kernel network work charged to no one). The generator does little per message:
// pre-encoded frames patched in place, replies matched at fixed offsets, events counted without
// decoding. A row is marked generator-bound when a generator process is near a full core while
// the target is not; otherwise the figure is the target's (or the box's, when all cores are
// busy: then "other" says how much went elsewhere). On 2 cores generator and target share the
// CPU alike for every target, so ratios to the baselines stay fair even on a busy box.
//
// WebSocket load comes from raw-client's own RFC 6455 client on node:net (frames corked per
// tick, pooled masking keys); BENCH_WS=global drives the RPC runs with Node's WebSocket
// (undici) instead, which costs the generator several times more per message.
//
//   Payloads (BENCH_ONLY=payload): RPC RawSocket/CBOR with one 10 KB or 1 MB argument echoed,
//     router and relay, with the CPU per octet moved; fewer calls in flight and in sequence.
//   HTTP (http.ts): POST -> call -> callee -> 200 through the gateway (on uWS and on node:http)
//     beside a bare uWS handler answering the same JSON, driven by Debian's wrk; its own table.
// Environment: BENCH_ONLY=rpc,payload,fanout,mesh,connections,startup,mqtt,http,bridge (a subset), BENCH_RUNS=key,... (single
// runs, keys as in rpc-runs.ts and fanout-runs.ts), BENCH_ROUNDS=n, BENCH_BASE=<scripts/wampmesh of another checkout>,
// BENCH_NEXUS=<nexusd>,
// BENCH_WS=global, BENCH_ROUTER_NODE_OPTIONS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof', for
// the routers under test only; profile-top.ts lists the top frames of such a profile).
//
// Not part of the test suite (the file name does not end in .test.ts).

import { raiseFileLimit } from './common.ts';
import { runMqttBench } from './mqtt.ts';
import { benchHttp, httpTable, type HttpFigures } from './http.ts';
import { measureBridge, type BridgeFigures } from './bridge.ts';
import { measureConnections, type Connections } from './connections.ts';
import { addFanoutRuns, addMeshRuns } from './fanout-runs.ts';
import { report } from './report.ts';
import { addPayloadRuns, addRpcRuns } from './rpc-runs.ts';
import type { Run } from './runs.ts';
import { BUDGET_MS, CONNECTIONS, only, ROUNDS } from './settings.ts';
import { measureStartup, startupLines, startupTargets, STARTUP_RUNS } from './startup.ts';
import { startTargets, type Cleanup } from './targets.ts';

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  const fileLimit = raiseFileLimit(65_536);
  const cleanup: Cleanup = [];
  const runs: Run[] = [];
  const connections: Connections[] = [];
  let mqtt: string[] = [];
  let http: HttpFigures[] | undefined;
  let bridge: BridgeFigures | undefined;
  let startup: string[] = [];
  let rounds = 0;
  try {
    const targets = await startTargets(runs, cleanup);
    const { routers } = targets;
    if (only.has('rpc')) await addRpcRuns(targets, runs, cleanup);
    if (only.has('fanout')) await addFanoutRuns(targets, runs, cleanup);
    if (only.has('mesh')) await addMeshRuns(targets, runs, cleanup);
    if (only.has('payload')) await addPayloadRuns(targets, runs, cleanup);

    // BENCH_RUNS=key,key: only these runs (keys as in the code: router-fan-ws, fox-rpc, ...).
    const selected = process.env.BENCH_RUNS?.split(',').map((k) => k.trim());
    if (selected !== undefined) runs.splice(0, runs.length, ...runs.filter((r) => selected.includes(r.key)));
    // Interleaved rounds: a shared (virtual) box is rarely quiet for minutes, and interleaving
    // spreads any disturbance over all targets.
    const roundsStart = performance.now();
    for (let round = 1; round <= ROUNDS && runs.length > 0; round++) {
      const elapsed = performance.now() - t0;
      if (round > 1 && elapsed + (performance.now() - roundsStart) / (round - 1) > BUDGET_MS) break;
      rounds = round;
      // Every other round in the opposite order: a target measured first in a round reads 5-20%
      // worse here (it meets the box as the previous round left it), so with this code always
      // ahead of BENCH_BASE's, the comparison leaned against it.
      for (const run of round % 2 === 1 ? runs : [...runs].reverse()) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${run.scenario} ${run.name} ${run.label}...\n`);
        run.results.push(await run.measure());
      }
    }

    for (const f of cleanup.splice(0).reverse()) await f();

    if (only.has('bridge')) {
      process.stderr.write('bridge: events through the outbox to mosquitto...\n');
      bridge = await measureBridge();
    }

    if (only.has('connections')) {
      for (const r of routers) {
        process.stderr.write(`connections: ${CONNECTIONS} sessions to ${r.name}...\n`);
        connections.push(await measureConnections(r.name, r.bin));
      }
    }
    if (only.has('startup')) {
      process.stderr.write(`startup: ${STARTUP_RUNS} starts of each router, from source and as executables...\n`);
      startup = startupLines(await measureStartup(startupTargets(routers)));
    }
    if (only.has('mqtt')) mqtt = await runMqttBench(ROUNDS);
    if (only.has('http')) {
      process.stderr.write('http: the gateway against a bare uWS handler...\n');
      http = await benchHttp();
    }
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
  report(runs, connections, startup, mqtt, rounds, fileLimit, performance.now() - t0, bridge);
  if (http !== undefined) {
    console.log(`\n${httpTable(http)}`);
    const [ceiling, ...gateway] = http;
    for (const g of gateway)
      console.log(
        `  [${g.rps >= 0.5 * ceiling!.rps ? 'met' : 'MISSED'}] ${g.name} >= 50% of the bare uWS handler's requests/s: ${Math.round((g.rps / ceiling!.rps) * 100)}%`,
      );
  }
}

// Interrupted (Ctrl-C, a timeout's SIGTERM): exit through 'exit', where router-process.ts kills
// the routers it started; the other child processes exit when our end of their stdin closes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
await main();
