// The HTTP gateway and the router core alone, in process: CPU time per request of
// POST -> route -> CALL -> INVOCATION to a callee -> YIELD -> RESULT -> 200 answer, with the
// gateway's HttpRoute called directly (no HTTP server, no sockets) and a callee behind an
// in-memory CBOR peer answering each batch of INVOCATIONs, as the HTTP bench's callee does.
// Reads CPU time, not wall time, so it is steady on a busy machine and shows what a change to
// the gateway's request path costs or saves:
//
//   scripts/node24 test/bench/gateway-core.ts
//
// With GATEWAY_CORE_ALLOC=1 it also counts the bytes allocated per request (a sampling heap
// profile of one more run, collected objects included) and names the sites that allocate most.
//
// Not part of `npm run bench` (whose HTTP rows include the servers, the kernel and wrk).

import { Gateway } from '../../src/gateway/gateway.ts';
import { parseApiSpec } from '../../src/gateway/spec.ts';
import type { Peer } from '../../src/router/peer.ts';
import { Router } from '../../src/router/router.ts';
import { cbor } from '../../src/serializers/index.ts';
import {
  answer as answerRequest,
  ClientGone,
  type HttpAnswer,
  type HttpReply,
  type HttpRequest,
} from '../../src/transport/http-exchange.ts';
import { startAllocSampling } from './alloc-sites.ts';
import { median } from './common.ts';

const REQUESTS = 100_000;
const BATCH = 32; // requests in flight, as wrk -c32 keeps them
const ROUNDS = 5; // after one warm-up round, not counted
const BODY = Buffer.from(JSON.stringify({ sensor: 'kitchen', value: 21.5, tags: ['a', 'b'] }));

async function main(): Promise<void> {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const invocations: Uint8Array[] = [];
  const peer: Peer = {
    serializer: cbor,
    info: { type: 'memory', peer: '127.0.0.1:1', local: true },
    send: (frame) => invocations.push(frame),
    bufferedAmount: () => 0,
    close: () => undefined,
  };
  const callee = router.attach(peer);
  callee.receive(cbor.encode([1, 'realm1', { roles: { callee: {} } }]));
  callee.receive(cbor.encode([64, 1, {}, 'com.bench.echo']));
  invocations.length = 0;
  const spec = parseApiSpec({
    name: 'bench',
    realm: 'realm1',
    basePath: '/bench',
    routes: [{ method: 'POST', path: '/echo', call: 'com.bench.echo', result: 'first' }],
  });
  const gateway = new Gateway({
    acceptor: router,
    specs: () => ({ version: 1, specs: [spec] }),
    limits: { maxInFlight: 1024 },
  });
  const head = {
    method: 'POST',
    path: '/bench/echo',
    query: '',
    headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', 'content-length': String(BODY.length) },
    remote: '127.0.0.1',
    local: true,
  };
  const one = async (): Promise<void> => {
    if (gateway.route.match(head) === undefined) throw new Error('no route');
    const request: HttpRequest = { ...head, body: BODY };
    const answer = (await new Promise<HttpAnswer>((settle) =>
      // The signal uWS's routes get (an AbortController's costs more than the gateway's work on it).
      answerRequest(gateway.route, request, new ClientGone(), settle),
    )) as HttpReply;
    if (answer.status !== 200) throw new Error(`status ${answer.status}: ${String(answer.body)}`);
  };
  const run = async (n: number): Promise<number> => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i += BATCH) {
      const batch: Promise<void>[] = [];
      for (let j = 0; j < BATCH; j++) batch.push(one());
      // The INVOCATIONs come out once the requests' promises ran; the callee answers them all.
      while (invocations.length < BATCH) await Promise.resolve();
      for (const frame of invocations.splice(0)) {
        const m = cbor.decode(frame) as unknown[];
        callee.receive(cbor.encode([70, m[1], {}, m[4]]));
      }
      await Promise.all(batch);
    }
    const cpu = process.cpuUsage(t0);
    return (cpu.user + cpu.system) / n;
  };
  await run(REQUESTS / 5);
  const figures: number[] = [];
  for (let r = 0; r < ROUNDS; r++) figures.push(await run(REQUESTS));
  const alloc = process.env.GATEWAY_CORE_ALLOC === '1' ? await allocations(() => run(REQUESTS)) : undefined;
  gateway.stop();
  console.log(
    `gateway + core, in process: ${median(figures).toFixed(2)} µs CPU per request (median of ${ROUNDS}: ${figures.map((f) => f.toFixed(2)).join(', ')}); the callee's CBOR decode and encode included`,
  );
  if (alloc !== undefined) console.log(alloc);
}

/** Bytes allocated per request by `run` and its 20 largest sites, as text. */
async function allocations(run: () => Promise<number>): Promise<string> {
  const sampling = await startAllocSampling();
  await run();
  const sites = await sampling.stop();
  const total = sites.reduce((sum, s) => sum + s.bytes, 0);
  const lines = sites.slice(0, 20).map((s) => `  ${(s.bytes / REQUESTS).toFixed(0).padStart(6)}  ${s.site}`);
  return [
    `allocated: ~${(total / REQUESTS).toFixed(0)} bytes per request (sampled); largest sites, bytes per request:`,
    ...lines,
  ].join('\n');
}

await main();
