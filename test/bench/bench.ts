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
//   - a mesh of four routers A-B-C-D (mesh.ts): calls from A to a callee on D cross three links;
//     the same calls with both ends on A are the single-node figure; events published on A for
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
// runs, keys as in main()), BENCH_ROUNDS=n, BENCH_BASE=<scripts/wampmesh of another checkout>,
// BENCH_NEXUS=<nexusd>,
// BENCH_WS=global, BENCH_ROUTER_NODE_OPTIONS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof', for
// the routers under test only; profile-top.ts lists the top frames of such a profile).
//
// Not part of the test suite (the file name does not end in .test.ts).

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cbor, json } from '../../src/serializers/index.ts';
import { rssBytes } from '../helpers/raw-client.ts';
import { startRouter, wampmeshBin, type RouterProcess } from '../helpers/router-process.ts';
import { median, medianCpu, PAYLOAD, raiseFileLimit, spread, startChild, type Child, type Cpu } from './common.ts';
import {
  FANOUT_MS,
  LAG_LIMIT,
  measureFanout,
  SUBSCRIBERS,
  WINDOW,
  type FanoutFigures,
  type FanoutTarget,
} from './fanout.ts';
import { NODES, startMeshChain, type MeshChain } from './mesh.ts';
import { runMqttBench } from './mqtt.ts';
import { benchHttp, httpTable, type HttpFigures } from './http.ts';
import {
  BRIDGE_INFLIGHT,
  BRIDGE_SUSTAIN_MS,
  BRIDGE_WINDOW,
  DRAIN_EVENTS,
  measureBridge,
  type BridgeFigures,
} from './bridge.ts';
import { measureStartup, startupLines, startupTargets, STARTUP_RUNS } from './startup.ts';
import { startNexus } from './nexus.ts';
import { IN_FLIGHT, measureRpc, PIPELINE_MS, SEQUENTIAL_CALLS, type RpcFigures, type RpcTarget } from './rpc.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_ONLY=payload: one string argument of these sizes, echoed (sensor-like text, not one
// repeated octet, so nothing on the way can shortcut it).
// Keys (relay-10k, router-rpc-10k, base-rpc-10k, ...), row names, payloads.
const LARGE_PAYLOADS: readonly (readonly [string, string, string])[] = [
  ['10k', '10 KB', 'reading 0123456789 abcdefghij, '.repeat(320)],
  ['1m', '1 MB', 'reading 0123456789 abcdefghij, '.repeat(32_768)],
];
// Time for the rounds (connections come after): a round is started only if it should end
// within it, judged by the rounds so far. BENCH_BASE doubles the router rows, and the budget;
// BENCH_NEXUS adds four rows of about 5 s each a round.
const BUDGET_MS =
  Number(
    process.env.BENCH_BUDGET_S ??
      (process.env.BENCH_BASE === undefined ? 210 : 420) + (process.env.BENCH_NEXUS === undefined ? 0 : 60),
  ) * 1000;
const FANOUT_CHILDREN = 2;
/** Subscribers on D of the mesh event run: few, so that the links bound the rate, not the fan-out. */
const MESH_SUBSCRIBERS = 10;
const CONNECTIONS = 10_000;
const CONN_CHILDREN = 4;
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

const only = new Set(
  (process.env.BENCH_ONLY ?? 'rpc,payload,fanout,mesh,connections,startup,mqtt,http,bridge')
    .split(',')
    .map((s) => s.trim()),
);
const baseBin = process.env.BENCH_BASE;
const nexusBin = process.env.BENCH_NEXUS;
/** The nexus row to compare a router row with, when nexus is in the run. */
const vsNexus = (key: string): string[] => (nexusBin === undefined ? [] : [`nexus-${key}`]);
const routerEnv =
  process.env.BENCH_ROUTER_NODE_OPTIONS === undefined
    ? undefined
    : {
        ...process.env,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_ROUTER_NODE_OPTIONS}`.trim(),
      };

// ---- the runs ------------------------------------------------------------------------------

type Scenario = 'RPC' | 'fan-out' | 'mesh';

interface Run {
  readonly scenario: Scenario;
  readonly name: string;
  readonly label: string;
  /** What the row is compared with, by key of another run; undefined: it is a baseline. */
  readonly against: readonly string[];
  readonly key: string;
  measure(): Promise<RpcFigures | FanoutFigures>;
  results: (RpcFigures | FanoutFigures)[];
}

const label = (transport: string, serializer: string): string =>
  `${transport === 'rawsocket' ? 'RawSocket' : 'WebSocket'}/${serializer.toUpperCase()}`;

function rpcRun(key: string, target: RpcTarget, against: string[] = [], scenario: Scenario = 'RPC'): Run {
  return {
    scenario,
    name: target.name,
    label: label(target.transport, target.serializer.name),
    against,
    key,
    measure: () => measureRpc(target),
    results: [],
  };
}

function fanoutRun(key: string, target: FanoutTarget, children: readonly Child[], against: string[] = []): Run {
  return {
    scenario: 'fan-out',
    name: target.name,
    label: label(target.transport, target.serializer.name),
    against,
    key,
    measure: () => measureFanout(target, children),
    results: [],
  };
}

interface Connections {
  name: string;
  accepted: number;
  failed: number;
  firstError?: string;
  seconds: number;
  rssBefore: number;
  rssAfter: number;
}

async function measureConnections(name: string, bin: string): Promise<Connections> {
  const router = await startRouter({ bin, ...(routerEnv && { env: routerEnv }) });
  const children = await Promise.all(Array.from({ length: CONN_CHILDREN }, () => startChild(here('conn-child.ts'))));
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    const rssBefore = rssBytes(router.pid);
    const t0 = performance.now();
    const share = CONNECTIONS / CONN_CHILDREN;
    const replies = await Promise.all(
      children.map((c) =>
        c.request<{ opened: number; failed: number; firstError?: string }>(
          { cmd: 'open', port: router.rawsocketPort, count: share },
          120_000,
        ),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    // Let the router settle (allocation bursts, the next GC) before reading its RSS.
    await new Promise((r) => setTimeout(r, 2_000));
    const rssAfter = rssBytes(router.pid);
    const firstError = replies.find((r) => r.firstError !== undefined)?.firstError;
    return {
      name,
      seconds,
      rssBefore,
      rssAfter,
      accepted: replies.reduce((a, r) => a + r.opened, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      ...(firstError !== undefined && { firstError }),
    };
  } finally {
    await Promise.all(children.map((c) => c.request({ cmd: 'close' }, 60_000).catch(() => undefined)));
    for (const c of children) c.stop();
    await router.stop();
  }
}

// ---- output --------------------------------------------------------------------------------

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
const pct = (x: number): string => `${Math.round(x * 100)}%`;
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

function isRpc(f: RpcFigures | FanoutFigures): f is RpcFigures {
  return 'callsPerSec' in f;
}

interface Row {
  run: Run;
  p50: number;
  p99: number;
  rate: number;
  cpu: Cpu;
  seqCpu?: Cpu;
  loadedP99?: number;
  lost?: number;
}

function summarize(run: Run): Row {
  const rs = run.results;
  if (rs.every(isRpc)) {
    return {
      run,
      p50: median(rs.map((f) => f.p50)),
      p99: median(rs.map((f) => f.p99)),
      rate: median(rs.map((f) => f.callsPerSec)),
      cpu: medianCpu(rs.map((f) => f.pipeCpu)),
      seqCpu: medianCpu(rs.map((f) => f.seqCpu)),
    };
  }
  const fs = rs as FanoutFigures[];
  return {
    run,
    p50: median(fs.map((f) => f.p50)),
    p99: median(fs.map((f) => f.p99)),
    rate: median(fs.map((f) => f.eventsPerSec)),
    cpu: medianCpu(fs.map((f) => f.cpu)),
    loadedP99: median(fs.map((f) => f.loadedP99)),
    lost: Math.max(...fs.map((f) => f.lost)),
  };
}

function machine(): string {
  const model =
    /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return (
    `${availableParallelism()} CPUs (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} ` +
    `GiB, Linux ${kernel}, Node ${process.version}, load average at the end ${load}`
  );
}

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  const fileLimit = raiseFileLimit(65_536);
  const cleanup: (() => unknown)[] = [];
  const runs: Run[] = [];
  const connections: Connections[] = [];
  let mqtt: string[] = [];
  let http: HttpFigures[] | undefined;
  let bridge: BridgeFigures | undefined;
  let startup: string[] = [];
  let rounds = 0;
  try {
    const routers: { key: string; name: string; bin: string; process?: RouterProcess }[] = [
      { key: 'router', name: 'router', bin: wampmeshBin },
    ];
    if (baseBin !== undefined) routers.push({ key: 'base', name: 'router (base)', bin: baseBin });
    const needRouters = only.has('rpc') || only.has('fanout') || only.has('payload');
    if (needRouters) {
      for (const r of routers) {
        r.process = await startRouter({ bin: r.bin, ...(routerEnv && { env: routerEnv }) });
        const p = r.process;
        cleanup.push(() => p.stop());
      }
    }
    let fox: Child | undefined;
    if (needRouters) {
      fox = await startChild(here('fox.ts'));
      cleanup.push(() => fox!.stop());
    }
    // The same router with an HTTP listener serving /metrics, so the core counts every
    // message: compared with the router above (no metrics) in the same rounds.
    let metered: RouterProcess | undefined;
    if (needRouters) {
      const m = await startRouter({
        args: ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', '--http', '127.0.0.1:0'],
        ...(routerEnv && { env: routerEnv }),
      });
      cleanup.push(() => m.stop());
      metered = m;
    }
    const nexus = needRouters && nexusBin !== undefined ? await startNexus(nexusBin) : undefined;
    if (nexus !== undefined) cleanup.push(() => nexus.stop());
    // nexus's rows (key nexus-<key>), driven like the router's, which compare themselves with them.
    const nexusRpc = (key: string, name: string, t: Pick<RpcTarget, 'transport' | 'serializer' | 'payload'>): void => {
      if (nexus === undefined) return;
      const where = { pids: [nexus.pid], port: nexus.rawsocketPort, url: nexus.wsUrl, wamp: true };
      runs.push(rpcRun(`nexus-${key}`, { name, ...where, ...t }));
    };
    const foxPort = fox?.hello.fox as number;
    const foxUrl = `ws://127.0.0.1:${foxPort}/`;
    const foxPids = fox === undefined ? [] : [fox.pid];

    if (only.has('rpc')) {
      const relay = await startChild(here('relay.ts'));
      cleanup.push(() => relay.stop());
      const relayPort = relay.hello.relay as number;
      const relayPids = [relay.pid];
      runs.push(
        rpcRun('relay-cbor', {
          name: 'relay (no WAMP)',
          pids: relayPids,
          transport: 'rawsocket',
          serializer: cbor,
          port: relayPort,
          url: '',
          wamp: false,
        }),
      );
      for (const r of routers) {
        const p = r.process!;
        runs.push(
          rpcRun(
            `${r.key}-rpc-cbor`,
            {
              name: r.name,
              pids: [p.pid],
              transport: 'rawsocket',
              serializer: cbor,
              port: p.rawsocketPort,
              url: '',
              wamp: true,
            },
            [
              'relay-cbor',
              ...(r.key === 'base' ? [] : [...(baseBin ? ['base-rpc-cbor'] : []), ...vsNexus('rpc-cbor')]),
            ],
          ),
        );
      }
      nexusRpc('rpc-cbor', 'nexus', { transport: 'rawsocket', serializer: cbor });
      runs.push(
        rpcRun('relay-json', {
          name: 'relay (no WAMP)',
          pids: relayPids,
          transport: 'rawsocket',
          serializer: json,
          port: relayPort,
          url: '',
          wamp: false,
        }),
      );
      const wsRelay = await startChild(here('ws-relay.ts'));
      cleanup.push(() => wsRelay.stop());
      runs.push(
        rpcRun('wsrelay-json', {
          name: 'relay (no WAMP)',
          pids: [wsRelay.pid],
          transport: 'websocket',
          serializer: json,
          port: 0,
          url: `ws://127.0.0.1:${wsRelay.hello.wsRelay as number}/`,
          wamp: false,
        }),
      );
      const codecRelay = await startChild(here('ws-relay.ts'), ['--json-codec']);
      cleanup.push(() => codecRelay.stop());
      runs.push(
        rpcRun(
          'wsrelay-codec',
          {
            name: 'relay + JSON codec',
            pids: [codecRelay.pid],
            transport: 'websocket',
            serializer: json,
            port: 0,
            url: `ws://127.0.0.1:${codecRelay.hello.wsRelay as number}/`,
            wamp: false,
          },
          ['wsrelay-json', 'fox-rpc'],
        ),
      );
      for (const r of routers) {
        const p = r.process!;
        runs.push(
          rpcRun(
            `${r.key}-rpc-ws`,
            {
              name: r.name,
              pids: [p.pid],
              transport: 'websocket',
              serializer: json,
              port: 0,
              url: p.wsUrl,
              wamp: true,
            },
            [
              'wsrelay-json',
              'fox-rpc',
              ...(r.key === 'base' ? [] : [...(baseBin ? ['base-rpc-ws'] : []), ...vsNexus('rpc-ws')]),
            ],
          ),
        );
      }
      nexusRpc('rpc-ws', 'nexus', { transport: 'websocket', serializer: json });
      runs.push(
        rpcRun('fox-rpc', {
          name: 'fox-wamp',
          pids: foxPids,
          transport: 'websocket',
          serializer: json,
          port: 0,
          url: foxUrl,
          wamp: true,
        }),
      );
      runs.push(
        rpcRun(
          'metrics-rpc-cbor',
          {
            name: 'router + metrics',
            pids: [metered!.pid],
            transport: 'rawsocket',
            serializer: cbor,
            port: metered!.rawsocketPort,
            url: '',
            wamp: true,
          },
          ['router-rpc-cbor'],
        ),
      );
      runs.push(
        rpcRun(
          'metrics-rpc-ws',
          {
            name: 'router + metrics',
            pids: [metered!.pid],
            transport: 'websocket',
            serializer: json,
            port: 0,
            url: metered!.wsUrl,
            wamp: true,
          },
          ['router-rpc-ws'],
        ),
      );
    }

    if (only.has('fanout')) {
      const children = await Promise.all(
        Array.from({ length: FANOUT_CHILDREN }, () => startChild(here('fanout-child.ts'))),
      );
      for (const c of children) cleanup.push(() => c.stop());
      for (const r of routers) {
        const p = r.process!;
        runs.push(
          fanoutRun(
            `${r.key}-fan-cbor`,
            { name: r.name, pids: [p.pid], transport: 'rawsocket', serializer: cbor, port: p.rawsocketPort, url: '' },
            children,
            r.key === 'base' || !baseBin ? [] : ['base-fan-cbor'],
          ),
        );
      }
      for (const r of routers) {
        const p = r.process!;
        runs.push(
          fanoutRun(
            `${r.key}-fan-ws`,
            { name: r.name, pids: [p.pid], transport: 'websocket', serializer: json, port: 0, url: p.wsUrl },
            children,
            ['fox-fan', ...(r.key === 'base' || !baseBin ? [] : ['base-fan-ws'])],
          ),
        );
      }
      runs.push(
        fanoutRun(
          'metrics-fan-cbor',
          {
            name: 'router + metrics',
            pids: [metered!.pid],
            transport: 'rawsocket',
            serializer: cbor,
            port: metered!.rawsocketPort,
            url: '',
          },
          children,
          ['router-fan-cbor'],
        ),
      );
      runs.push(
        fanoutRun(
          'fox-fan',
          { name: 'fox-wamp', pids: foxPids, transport: 'websocket', serializer: json, port: 0, url: foxUrl },
          children,
        ),
      );
    }

    if (only.has('mesh')) {
      const meshChildren = await Promise.all(
        Array.from({ length: FANOUT_CHILDREN }, () => startChild(here('fanout-child.ts'))),
      );
      for (const c of meshChildren) cleanup.push(() => c.stop());
      for (const r of routers) {
        const chain: MeshChain = await startMeshChain(r.bin, routerEnv);
        cleanup.push(() => chain.stop());
        const [a, , , d] = chain.routers;
        const pids = chain.routers.map((x) => x.pid);
        const suffix = r.key === 'base' ? ' (base)' : '';
        runs.push(
          rpcRun(
            `${r.key}-mesh-1`,
            {
              name: `mesh, A only${suffix}`,
              pids,
              transport: 'rawsocket',
              serializer: cbor,
              port: a!.rawsocketPort,
              url: '',
              wamp: true,
            },
            [],
            'mesh',
          ),
        );
        runs.push(
          rpcRun(
            `${r.key}-mesh-3`,
            {
              name: `mesh, A->D${suffix}`,
              pids,
              transport: 'rawsocket',
              serializer: cbor,
              port: a!.rawsocketPort,
              url: '',
              callee: { port: d!.rawsocketPort },
              wamp: true,
              waitForRoute: true,
            },
            [`${r.key}-mesh-1`],
            'mesh',
          ),
        );
        // Events published on A for MESH_SUBSCRIBERS subscribers on D: three links, hop-by-hop
        // acknowledgements, and little fan-out.
        runs.push(
          fanoutRun(
            `${r.key}-mesh-ev`,
            {
              name: `mesh events A->D${suffix}`,
              pids,
              transport: 'rawsocket',
              serializer: cbor,
              port: d!.rawsocketPort,
              url: '',
              publisherPort: a!.rawsocketPort,
              subscribers: MESH_SUBSCRIBERS,
            },
            meshChildren,
            r.key === 'base' ? [] : ['base-mesh-ev'],
          ),
        );
        // Fan-out across the chain: events published on A for the full SUBSCRIBERS on D, against
        // the same fan-out on A alone (publisher and subscribers on A).
        const fanout = { pids, transport: 'rawsocket', serializer: cbor, url: '' } as const;
        runs.push(
          fanoutRun(
            `${r.key}-mesh-fan-1`,
            { ...fanout, name: `mesh fan-out, A only${suffix}`, port: a!.rawsocketPort },
            meshChildren,
          ),
        );
        runs.push(
          fanoutRun(
            `${r.key}-mesh-fan-3`,
            {
              ...fanout,
              name: `mesh fan-out A->D${suffix}`,
              port: d!.rawsocketPort,
              publisherPort: a!.rawsocketPort,
            },
            meshChildren,
            [`${r.key}-mesh-fan-1`],
          ),
        );
      }
    }

    if (only.has('payload')) {
      // Large arguments echoed (the callee answers with as many octets as it got): what
      // passthrough and the copies on the way cost, per octet moved.
      const relay = await startChild(here('relay.ts'));
      cleanup.push(() => relay.stop());
      for (const [key, size, payload] of LARGE_PAYLOADS) {
        runs.push(
          rpcRun(`relay-${key}`, {
            name: `relay, ${size}`,
            pids: [relay.pid],
            transport: 'rawsocket',
            serializer: cbor,
            port: relay.hello.relay as number,
            url: '',
            wamp: false,
            payload,
          }),
        );
        for (const r of routers) {
          const p = r.process!;
          runs.push(
            rpcRun(
              `${r.key}-rpc-${key}`,
              {
                name: `${r.name === 'router' ? 'router' : 'base'}, ${size}`,
                pids: [p.pid],
                transport: 'rawsocket',
                serializer: cbor,
                port: p.rawsocketPort,
                url: '',
                wamp: true,
                payload,
              },
              [
                `relay-${key}`,
                ...(r.key === 'base' ? [] : [...(baseBin ? [`base-rpc-${key}`] : []), ...vsNexus(`rpc-${key}`)]),
              ],
            ),
          );
        }
        nexusRpc(`rpc-${key}`, `nexus, ${size}`, { transport: 'rawsocket', serializer: cbor, payload });
      }
    }

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
      for (const run of runs) {
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

function report(
  runs: readonly Run[],
  connections: readonly Connections[],
  startup: readonly string[],
  mqtt: readonly string[],
  rounds: number,
  fileLimit: number,
  elapsedMs: number,
  bridge?: BridgeFigures,
): void {
  const rows = runs.filter((r) => r.results.length > 0).map(summarize);
  const byKey = new Map(rows.map((r) => [r.run.key, r]));
  const cores = availableParallelism();
  const out: string[] = [];
  out.push('', `wampmesh bench, ${new Date().toISOString().slice(0, 10)}: loopback; ${machine()}`);
  if (rows.length === 0 && connections.length === 0 && bridge === undefined) {
    // BENCH_ONLY=mqtt or startup: their own lines alone.
    console.log([...out, ...startup, ...mqtt, `\n(total ${(elapsedMs / 1000).toFixed(0)} s)`].join('\n'));
    return;
  }
  out.push(
    `median of ${rounds} interleaved round(s); RPC payload one ${PAYLOAD.length} B string, latency over ` +
      `${SEQUENTIAL_CALLS} sequential calls, throughput with ${IN_FLIGHT} calls in flight for ${PIPELINE_MS / 1000} s;`,
  );
  out.push(
    `fan-out to ${SUBSCRIBERS} subscribers: latency with one publication at a time, events/s with ${WINDOW} ` +
      `publications in flight (at most ${LAG_LIMIT} ahead of the slowest subscriber) for ${FANOUT_MS / 1000} s.`,
  );
  out.push(
    'CPU = share of one core: the target process(es), the load generator (this process and its child processes), and the rest of the',
  );
  out.push(
    'machine (other processes, unattributed kernel network work); for RPC rows "sequential | pipelined". A large "other" means the box was busy.',
  );
  out.push(
    "CPU µs/op = the target's CPU time per call (RPC, mesh: all four routers) or per event delivered (fan-out) at full load.",
    '',
  );
  const header =
    `${pad('scenario', 9)}${pad('target', 19)}${pad('transport', 16)}${lpad('p50 µs', 8)}` +
    `${lpad('p99 µs', 8)}${lpad('rate/s', 11)}${lpad('CPU µs/op', 10)} ` +
    ` ${pad('target CPU', 12)}${pad('gen CPU', 12)}${pad('other CPU', 12)}compared (p50 | p99 | rate)`;
  out.push(header, '-'.repeat(header.length + 20));
  for (const row of rows) {
    const { run } = row;
    const cpuCell = (f: (c: Cpu) => number): string =>
      row.seqCpu ? `${pct(f(row.seqCpu))} | ${pct(f(row.cpu))}` : pct(f(row.cpu));
    const comparisons = run.against
      .map((k) => byKey.get(k))
      .filter((b) => b !== undefined)
      .map((base) => {
        if (run.scenario === 'mesh') {
          const hops = 3;
          return (
            `vs A only: +${((row.p50 - base.p50) / hops).toFixed(0)} | +${((row.p99 - base.p99) / hops).toFixed(0)} ` +
            `µs per hop, ${(row.rate / base.rate).toFixed(2)}x calls/s`
          );
        }
        // Against nexus (another process, another runtime) the CPU per call says more than the
        // rates, which the two cores shared with the generator bound for both.
        const cpuRatio = base.run.key.startsWith('nexus-')
          ? `, ${(row.cpu.target / row.rate / (base.cpu.target / base.rate)).toFixed(2)}x CPU per call`
          : '';
        return (
          `${(row.p50 / base.p50).toFixed(2)}x | ${(row.p99 / base.p99).toFixed(2)}x | ${(row.rate / base.rate).toFixed(2)}x ` +
          `vs ${base.run.name}${base.run.label === run.label ? '' : ` ${base.run.label}`}${cpuRatio}`
        );
      });
    const genBound =
      row.cpu.generator / (run.scenario === 'fan-out' ? FANOUT_CHILDREN + 1 : 1) > 0.9 && row.cpu.target < 0.75;
    const busy = (row.cpu.target + row.cpu.generator + row.cpu.other) / cores > 0.85;
    const notes = [
      ...(comparisons.length > 0 ? comparisons : ['baseline']),
      ...(row.loadedP99 !== undefined ? [`p99 under load ${int(row.loadedP99)} µs`] : []),
      ...(row.lost ? [`${int(row.lost)} events lost`] : []),
      ...(genBound ? ['[generator-bound: rate is a lower bound]'] : busy ? ['[all cores busy]'] : []),
    ];
    // Target CPU time per call (per event for fan-out) at full load: steadier than the rates
    // on a busy machine, where the target gets what the scheduler leaves it.
    const perOp = (row.cpu.target * 1e6) / row.rate;
    // Large payloads: CPU per octet moved (a call moves the payload in and out twice: CALL and
    // INVOCATION, YIELD and RESULT; behind the relay CALL and RESULT, each in and out).
    const size = LARGE_PAYLOADS.find(([, name]) => run.name.endsWith(`, ${name}`))?.[2].length;
    if (size !== undefined) notes.push(`${((perOp * 1000) / (4 * size)).toFixed(2)} ns CPU per octet moved`);
    out.push(
      `${pad(run.scenario, 9)}${pad(run.name, 19)}${pad(run.label, 16)}${lpad(row.p50.toFixed(0), 8)}` +
        `${lpad(row.p99.toFixed(0), 8)}${lpad(int(row.rate), 11)}${lpad(perOp.toFixed(perOp < 10 ? 2 : 1), 10)} ` +
        ` ` +
        `${pad(
          cpuCell((c) => c.target),
          12,
        )}${pad(
          cpuCell((c) => c.generator),
          12,
        )}${pad(
          cpuCell((c) => c.other),
          12,
        )}${notes.join('; ')}`,
    );
  }
  for (const c of connections) {
    const perSession = (c.rssAfter - c.rssBefore) / Math.max(1, c.accepted) / 1024;
    out.push(
      `${pad('conns', 9)}${pad(c.name, 19)}${pad('RawSocket/CBOR', 16)}${int(c.accepted)} idle sessions ` +
        `(${c.failed} failed${c.firstError ? `: ${c.firstError}` : ''}) accepted in ${c.seconds.toFixed(1)} s ` +
        `(${int(c.accepted / c.seconds)}/s); router RSS ${(c.rssBefore / 2 ** 20).toFixed(0)} ` +
        `-> ${(c.rssAfter / 2 ** 20).toFixed(0)} MB: ${perSession.toFixed(1)} KB per session`,
    );
  }
  out.push(...startup);

  if (bridge !== undefined) {
    const cpu = (c: Cpu) => `router+broker ${pct(c.target)}, gen ${pct(c.generator)}, other ${pct(c.other)}`;
    out.push(
      `${pad('bridge', 9)}${pad('router -> MQTT', 19)}${pad('QoS 1', 16)}sustained ${int(bridge.sustainedPerSec)} events/s ` +
        `delivered through the outbox (${int(bridge.ackedPerSec)}/s acknowledged, ${BRIDGE_WINDOW} publications in flight, ` +
        `bridge inflight ${BRIDGE_INFLIGHT}, ${BRIDGE_SUSTAIN_MS / 1000} s; CPU ${cpu(bridge.sustainedCpu)})`,
      `${pad('bridge', 9)}${pad('router -> MQTT', 19)}${pad('QoS 1', 16)}drain after an outage ${int(bridge.drainPerSec)} events/s ` +
        `(${int(DRAIN_EVENTS)} queued on disk; CPU ${cpu(bridge.drainCpu)})`,
    );
  }

  out.push('', 'spread across rounds (min..max):');
  for (const row of rows) {
    const rs = row.run.results;
    const series = rs.every(isRpc)
      ? `p50 ${spread(rs.map((f) => f.p50))} µs, p99 ${spread(rs.map((f) => f.p99))} µs, calls/s ${spread(rs.map((f) => f.callsPerSec))}`
      : `p50 ${spread((rs as FanoutFigures[]).map((f) => f.p50))} µs, p99 ${spread((rs as FanoutFigures[]).map((f) => f.p99))} ` +
        `µs, events/s ${spread((rs as FanoutFigures[]).map((f) => f.eventsPerSec))}`;
    out.push(`  ${pad(row.run.scenario, 9)}${pad(row.run.name, 19)}${pad(row.run.label, 16)}${series}`);
  }

  // The issue's targets, for this router ("router" rows).
  const targets: string[] = [];
  const check = (ok: boolean, text: string): void => {
    targets.push(`  [${ok ? 'met' : 'MISSED'}] ${text}`);
  };
  const r = (k: string): Row | undefined => byKey.get(k);
  const rpcCbor = r('router-rpc-cbor');
  const relayCbor = r('relay-cbor');
  if (rpcCbor && relayCbor) {
    // As the issue counts: a call is four messages through the router (CALL, INVOCATION, YIELD,
    // RESULT) and two through the relay (it forwards the CALL and the RESULT).
    check(
      rpcCbor.rate * 4 >= 0.5 * relayCbor.rate * 2,
      `pipelined RPC RawSocket/CBOR >= 50% of the relay's message rate, counted as the issue does (4 messages per call through the router, 2 ` +
        `through the relay): ${int(rpcCbor.rate * 4)} vs ${int(relayCbor.rate * 2)} messages/s, ${pct((rpcCbor.rate * 4) / (relayCbor.rate * 2))}`,
    );
    // Stricter: frames into and out of the process, four per call for both (router: CALL in,
    // INVOCATION out, YIELD in, RESULT out; relay: CALL in and out, RESULT in and out), which is
    // the calls/s ratio.
    check(
      rpcCbor.rate >= 0.5 * relayCbor.rate,
      `the same counting frames in and out of the process (4 per call for both, i.e. calls/s): ` +
        `${int(rpcCbor.rate * 4)} vs ${int(relayCbor.rate * 4)} frames/s, ${pct(rpcCbor.rate / relayCbor.rate)}`,
    );
    check(rpcCbor.rate >= 100_000, `pipelined RPC RawSocket/CBOR >= 100,000 calls/s: ${int(rpcCbor.rate)}`);
    check(
      rpcCbor.p99 <= 2 * relayCbor.p99,
      `sequential RPC p99 within 2x the relay's round trip (RawSocket/CBOR): ${rpcCbor.p99.toFixed(0)} ` +
        `vs ${relayCbor.p99.toFixed(0)} µs, ${(rpcCbor.p99 / relayCbor.p99).toFixed(2)}x`,
    );
  }
  const kb10 = r('router-rpc-10k');
  const nexus10 = r('nexus-rpc-10k');
  if (kb10 && nexus10)
    check(
      kb10.rate >= 3 * nexus10.rate,
      `issue 23: calls/s with a 10 KB argument echoed >= 3x nexus's (RawSocket/CBOR): ${int(kb10.rate)} vs ` +
        `${int(nexus10.rate)}, ${(kb10.rate / nexus10.rate).toFixed(2)}x`,
    );
  const rpcWs = r('router-rpc-ws');
  const foxRpc = r('fox-rpc');
  if (rpcWs && foxRpc) {
    check(
      rpcWs.rate >= 10 * foxRpc.rate,
      `>= 10x fox-wamp's calls/s on WebSocket/JSON: ${int(rpcWs.rate)} vs ${int(foxRpc.rate)}, ${(rpcWs.rate / foxRpc.rate).toFixed(1)}x`,
    );
    // What bounds it: uWS forwarding the same frames with no WAMP work at all.
    const wsRelay = r('wsrelay-json');
    if (wsRelay)
      targets.push(
        `        the WebSocket relay (uWS, no WAMP) forwards ${int(wsRelay.rate)} calls/s, ` +
          `${(wsRelay.rate / foxRpc.rate).toFixed(1)}x fox-wamp; the router is at ${pct(rpcWs.rate / wsRelay.rate)} of it`,
      );
    // ...and uWS plus only decoding and re-encoding each message, which any router must do.
    const codecRelay = r('wsrelay-codec');
    if (codecRelay)
      targets.push(
        `        the same relay decoding and re-encoding every message with the router's JSON codec ` +
          `(no session, no routing) forwards ${int(codecRelay.rate)} ` +
          `calls/s, ${(codecRelay.rate / foxRpc.rate).toFixed(1)}x fox-wamp; the router is at ${pct(rpcWs.rate / codecRelay.rate)} of it`,
      );
  }
  const fanWs = r('router-fan-ws');
  const foxFan = r('fox-fan');
  if (fanWs && foxFan)
    check(
      fanWs.rate >= 10 * foxFan.rate,
      `>= 10x fox-wamp's events/s on WebSocket/JSON: ${int(fanWs.rate)} vs ${int(foxFan.rate)}, ${(fanWs.rate / foxFan.rate).toFixed(1)}x`,
    );
  const fanCbor = r('router-fan-cbor');
  if (fanCbor)
    check(
      fanCbor.rate >= 1_000_000,
      `fan-out >= 1,000,000 events/s delivered to ${SUBSCRIBERS} subscribers (RawSocket/CBOR): ${int(fanCbor.rate)}`,
    );
  if (bridge !== undefined)
    check(
      bridge.sustainedPerSec >= 20_000,
      `bridge: >= 20,000 events/s through the outbox (synchronous=FULL, group commit) to mosquitto: ${int(bridge.sustainedPerSec)}`,
    );
  const conns = connections.find((c) => c.name === 'router');
  if (conns) {
    const kb = (conns.rssAfter - conns.rssBefore) / Math.max(1, conns.accepted) / 1024;
    check(
      conns.accepted === CONNECTIONS && conns.rssAfter - conns.rssBefore < 100 * 2 ** 20 && kb < 10,
      `${int(CONNECTIONS)} idle sessions in under 100 MB of router RSS (< 10 KB each): ${int(conns.accepted)} sessions, ` +
        `+${((conns.rssAfter - conns.rssBefore) / 2 ** 20).toFixed(0)} MB (${(conns.rssBefore / 2 ** 20).toFixed(0)} MB idle before), ${kb.toFixed(1)} KB each`,
    );
  }
  for (const [k, base] of [
    ['metrics-rpc-cbor', 'router-rpc-cbor'],
    ['metrics-rpc-ws', 'router-rpc-ws'],
  ] as const) {
    const on = r(k);
    const off = r(base);
    if (on && off)
      check(
        on.rate >= 0.97 * off.rate,
        `issue 15: pipelined calls/s with /metrics counting within 3% of without (${on.run.label}): ${int(on.rate)} vs ${int(off.rate)}, ${((on.rate / off.rate - 1) * 100).toFixed(1)}%`,
      );
  }
  const fanOn = r('metrics-fan-cbor');
  if (fanOn && fanCbor)
    check(
      fanOn.rate >= 0.97 * fanCbor.rate,
      `issue 15: fan-out events/s with /metrics counting within 3% of without (RawSocket/CBOR): ${int(fanOn.rate)} vs ${int(fanCbor.rate)}, ${((fanOn.rate / fanCbor.rate - 1) * 100).toFixed(1)}%`,
    );
  if (targets.length > 0) out.push('', 'targets (issue 7):', ...targets);
  out.push(...mqtt);
  const mesh3 = r('router-mesh-3');
  if (mesh3)
    out.push(
      '',
      `mesh: ${NODES.join('-')} chain on loopback, checked with \`wampmesh mesh status\` on every node (links only to neighbours, A routes to D via B).`,
    );

  out.push(
    '',
    `generator check: the generator sends pre-encoded frames patched in place and matches replies at fixed offsets (no client`,
    `library, no decoding on the caller or the subscribers' hot path); its CPU is measured like the target's (/proc) and shown beside it.`,
    `A row is marked [generator-bound] when a generator process runs near a full core while the target does not.`,
    `open-file limit of this process and its children: ${fileLimit}.`,
  );
  out.push(`\n(total ${(elapsedMs / 1000).toFixed(0)} s)`);
  console.log(out.join('\n'));
}

// Interrupted (Ctrl-C, a timeout's SIGTERM): exit through 'exit', where router-process.ts kills
// the routers it started; the other child processes exit when our end of their stdin closes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
await main();
