// How long a freshly started chain takes to settle: one call at a time from a caller on A to a
// callee on D (the 3-hop chain of the mesh bench; `hop.a` for the callee on A alone), in
// consecutive windows from the routers' start, each with its p50, p99 and the calls over 800 µs.
// Not part of the test suite:
//
//   scripts/node24 test/bench/warm-up.ts [hop.d|hop.a] [WINDOWS] [WINDOW_MS]
//
// The first seconds after a start are slow at the tail while V8 optimizes each router's code on
// the same cores; hop-floor.ts therefore warms every path up before it measures.

import { connect, type RawClient } from '../helpers/raw-client.ts';
import { wampmeshBin } from '../helpers/router-process.ts';
import { startMeshChain } from './mesh.ts';

const procedure = process.argv[2] ?? 'hop.d';
const windows = Number(process.argv[3] ?? 4);
const windowMs = Number(process.argv[4] ?? 6_000);
const PAYLOAD = ['x'.repeat(32)];

const chain = await startMeshChain(wampmeshBin);
const clients: RawClient[] = [];
async function open(port: number): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', serializer: 'cbor', port, timeoutMs: 20_000 });
  await c.join('realm1', {}, 20_000);
  clients.push(c);
  return c;
}
try {
  const [a, , , d] = chain.routers;
  for (const [port, name] of [
    [d!.rawsocketPort, 'hop.d'],
    [a!.rawsocketPort, 'hop.a'],
  ] as const) {
    const callee = await open(port);
    await callee.register(name);
    callee.serveEcho();
  }
  const caller = await open(a!.rawsocketPort);
  for (const deadline = performance.now() + 20_000; (await caller.call('hop.d', PAYLOAD, {}, 5_000))[0] !== 50; ) {
    if (performance.now() > deadline) throw new Error('hop.d not reachable from A within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`${procedure}, one call at a time, windows of ${windowMs} ms from the chain's start`);
  for (let w = 0; w < windows; w++) {
    const latencies: number[] = [];
    for (const until = performance.now() + windowMs; performance.now() < until; ) {
      const t = performance.now();
      await caller.call(procedure, PAYLOAD, {}, 5_000);
      latencies.push((performance.now() - t) * 1000);
    }
    latencies.sort((x, y) => x - y);
    const at = (q: number): number => Math.round(latencies[Math.floor(latencies.length * q)]!);
    const slow = latencies.filter((x) => x > 800).length;
    console.log(
      `window ${w + 1}: ${latencies.length} calls, p50 ${at(0.5)} µs, p99 ${at(0.99)} µs, ${slow} over 800 µs`,
    );
  }
} finally {
  for (const c of clients) await c.destroy();
  await chain.stop();
}
