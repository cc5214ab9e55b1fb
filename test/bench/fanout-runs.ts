// The fan-out and mesh rows of the bench (BENCH_ONLY=fanout, mesh): 1,000 subscribers on each
// router and fox-wamp, then calls and events across a four-router chain against one node alone.

import { json } from '../../src/serializers/index.ts';
import { startChild } from './common.ts';
import { startMeshChain, type MeshChain } from './mesh.ts';
import { fanoutRun, overRawSocket, overWebSocket, rpcRun, type Run } from './runs.ts';
import { baseBin, FANOUT_CHILDREN, here, LARGE_PAYLOADS, MESH_SUBSCRIBERS, routerEnv } from './settings.ts';
import type { Cleanup, Targets } from './targets.ts';

/** BENCH_ONLY=fanout: one publisher, SUBSCRIBERS subscribers, each router and fox-wamp. */
export async function addFanoutRuns(t: Targets, runs: Run[], cleanup: Cleanup): Promise<void> {
  const { routers, metered, foxUrl, foxPids } = t;
  const children = await Promise.all(
    Array.from({ length: FANOUT_CHILDREN }, () => startChild(here('fanout-child.ts'))),
  );
  for (const c of children) cleanup.push(() => c.stop());
  for (const r of routers) {
    const p = r.process!;
    runs.push(
      fanoutRun(
        `${r.key}-fan-cbor`,
        { ...overRawSocket(p), name: r.name },
        children,
        r.key === 'base' || !baseBin ? [] : ['base-fan-cbor'],
      ),
    );
  }
  for (const r of routers) {
    const p = r.process!;
    runs.push(
      fanoutRun(`${r.key}-fan-ws`, { ...overWebSocket(p), name: r.name }, children, [
        'fox-fan',
        ...(r.key === 'base' || !baseBin ? [] : ['base-fan-ws']),
      ]),
    );
  }
  runs.push(
    fanoutRun('metrics-fan-cbor', { ...overRawSocket(metered!), name: 'router + metrics' }, children, [
      'router-fan-cbor',
    ]),
  );
  runs.push(
    fanoutRun(
      'fox-fan',
      { name: 'fox-wamp', pids: foxPids, transport: 'websocket', serializer: json, port: 0, url: foxUrl },
      children,
    ),
  );
}

/**
 * The rate of the mesh rows' paced calls: a fifth or so of what the 3-hop chain carries here, in
 * bursts of ~20 calls a millisecond (timers), so that a stall of the box (a router woken late)
 * does not take the caller to the realm's 1,000 calls waiting for an answer.
 */
const MESH_PACED = 20_000;

/** BENCH_ONLY=mesh: a chain A-B-C-D per router (and BENCH_BASE's), calls and events from A to D. */
export async function addMeshRuns(t: Targets, runs: Run[], cleanup: Cleanup): Promise<void> {
  const { routers } = t;
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
    // Calls from A: to a callee on A, and to one on D (the registration travels to A first).
    const fromA = { ...overRawSocket(a!), pids, wamp: true };
    const toD = { ...fromA, callee: { port: d!.rawsocketPort }, waitForRoute: true } as const;
    // Measured warm, as hop-floor.ts measures a hop: the first round calls A alone for 5 s and
    // across the chain for 25 s before its sequential calls (the per-hop p99 is the tail).
    // Then calls paced at MESH_PACED calls/s (open loop, rpc.ts): the added latency per hop under
    // load, at one rate for both rows (with a fixed number of calls in flight, the slower row's
    // calls would wait longer by as much as its rate is lower).
    const paced = [MESH_PACED];
    runs.push(
      rpcRun(`${r.key}-mesh-1`, { ...fromA, name: `mesh, A only${suffix}`, warmUpMs: 5_000, paced }, [], 'mesh'),
    );
    runs.push(
      rpcRun(
        `${r.key}-mesh-3`,
        { ...toD, name: `mesh, A->D${suffix}`, warmUpMs: 25_000, paced },
        [`${r.key}-mesh-1`],
        'mesh',
      ),
    );
    // The same with 10 KB arguments: what the mesh does per octet (the link MAC, the copies), and
    // a frame writer's handling of frames larger than its slab, which only this row exercises.
    runs.push(
      rpcRun(
        `${r.key}-mesh-10k`,
        { ...toD, name: `mesh, A->D 10 KB${suffix}`, payload: LARGE_PAYLOADS[0]![2] },
        r.key === 'base' || !baseBin ? [] : ['base-mesh-10k'],
        'mesh',
      ),
    );
    // Events published on A for MESH_SUBSCRIBERS subscribers on D: three links, hop-by-hop
    // acknowledgements, and little fan-out.
    runs.push(
      fanoutRun(
        `${r.key}-mesh-ev`,
        {
          ...overRawSocket(d!),
          pids,
          name: `mesh events A->D${suffix}`,
          publisherPort: a!.rawsocketPort,
          subscribers: MESH_SUBSCRIBERS,
        },
        meshChildren,
        r.key === 'base' ? [] : ['base-mesh-ev'],
      ),
    );
    // Fan-out across the chain: events published on A for the full SUBSCRIBERS on D, against
    // the same fan-out on A alone (publisher and subscribers on A).
    runs.push(
      fanoutRun(
        `${r.key}-mesh-fan-1`,
        { ...overRawSocket(a!), pids, name: `mesh fan-out, A only${suffix}` },
        meshChildren,
      ),
    );
    runs.push(
      fanoutRun(
        `${r.key}-mesh-fan-3`,
        { ...overRawSocket(d!), pids, name: `mesh fan-out A->D${suffix}`, publisherPort: a!.rawsocketPort },
        meshChildren,
        [`${r.key}-mesh-fan-1`],
      ),
    );
  }
}
