// Latency of one publication at a time across the mesh chain A-B-C-D, hop by hop: a publisher
// on A, one subscriber on each of B, C and D to a topic of its own, publications one at a
// time (the next once the previous arrived), so each figure is a lone event's trip over 1, 2
// and 3 links. Publisher and subscribers share this process and its clock. Given other
// checkouts' scripts/wampmesh, it runs their chains too, interleaved round by round (one chain
// up at a time). Not part of the test suite.
//
//   scripts/node24 test/bench/mesh-latency.ts [ROUNDS] [BIN ...]

import { cbor } from '../../src/serializers/index.ts';
import { wampmeshBin } from '../helpers/router-process.ts';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { median } from './common.ts';
import { startMeshChain } from './mesh.ts';

const PUBLICATIONS = Number(process.env.LAT_PUBLICATIONS ?? 1_000);
const WARMUP = 200;

async function open(port: number): Promise<RawClient> {
  const c = await connect({ transport: 'rawsocket', serializer: cbor, port, url: '', timeoutMs: 20_000 });
  await c.join('realm1', {}, 20_000);
  return c;
}

/** p50 µs over 0 (A alone), 1, 2, 3 links. */
async function measure(bin: string): Promise<number[]> {
  const options = process.env.BENCH_ROUTER_NODE_OPTIONS;
  const chain = await startMeshChain(
    bin,
    options === undefined ? undefined : { ...process.env, NODE_OPTIONS: options },
  );
  try {
    const [a] = chain.routers;
    const rest = chain.routers;
    const publisher = await open(a!.rawsocketPort);
    const subscribers = await Promise.all(rest.map((r) => open(r.rawsocketPort)));
    const topics = subscribers.map((_, i) => `lat.${i}`);
    await Promise.all(subscribers.map((s, i) => s.subscribe(topics[i]!, 20_000)));
    const out: number[] = [];
    for (const [i, sub] of subscribers.entries()) {
      if (process.env.LAT_LINKS !== undefined && !process.env.LAT_LINKS.includes(String(i))) {
        out.push(Number.NaN);
        continue;
      }
      // The subscription must have reached A first.
      const deadline = performance.now() + 20_000;
      for (let arrived = false; !arrived; ) {
        if (performance.now() > deadline) throw new Error(`no event over ${i} links within 20 s`);
        publisher.send([16, publisher.requestId(), {}, topics[i], []]);
        arrived = await sub
          .next((m) => m[0] === 36, 200)
          .then(
            () => true,
            () => false,
          );
      }
      await new Promise((r) => setTimeout(r, 100));
      const samples: number[] = [];
      for (let n = 0; n < WARMUP + PUBLICATIONS; n++) {
        const t = performance.now();
        publisher.send([16, publisher.requestId(), {}, topics[i], ['x']]);
        await sub.next((m) => m[0] === 36, 5_000);
        if (n >= WARMUP) samples.push((performance.now() - t) * 1000);
      }
      out.push(median(samples));
    }
    await Promise.all([publisher, ...subscribers].map((c) => c.close()));
    return out;
  } finally {
    await chain.stop();
  }
}

const rounds = Number(process.argv[2] ?? 3);
const bins = process.argv.length > 3 ? process.argv.slice(3) : [wampmeshBin];
const results = bins.map((): number[][] => []);
for (let round = 0; round < rounds; round++)
  for (const [i, bin] of bins.entries()) {
    const r = await measure(bin);
    results[i]!.push(r);
    console.log(`round ${round + 1} ${bin}: p50 µs over 0/1/2/3 links ${r.map((x) => x.toFixed(0)).join(' / ')}`);
  }
for (const [i, bin] of bins.entries()) {
  const med = [0, 1, 2, 3].map((h) => median(results[i]!.map((r) => r[h]!)));
  console.log(`${bin}: median p50 µs over 0/1/2/3 links ${med.map((x) => x.toFixed(0)).join(' / ')}`);
}
