// What a router gives back once a burst of work is over: for each binary given (default this
// checkout's scripts/wampmesh), a router started alone, its RSS idle, then right after 3 s of
// pipelined calls, then 5, 10, 20 and 40 s later with nothing to do (BENCHMARKS.md, sixteenth
// session: V8's memory reducer against src/runtime/idle-heap.ts).
//
//   scripts/node24 test/bench/idle-after-load.ts [BIN ...]
//
// Not part of the test suite.

import { setTimeout as sleep } from 'node:timers/promises';
import { cbor } from '../../src/serializers/index.ts';
import { rssBytes } from '../helpers/process-stats.ts';
import { startRouter, wampmeshBin } from '../helpers/router-process.ts';
import { measureRpc } from './rpc.ts';

const rssMb = (pid: number): number => rssBytes(pid) / 2 ** 20;
const IDLE_AT_S = [5, 10, 20, 40];

for (const bin of process.argv.length > 2 ? process.argv.slice(2) : [wampmeshBin]) {
  const router = await startRouter({ bin, args: ['--rawsocket', '127.0.0.1:0', '--ws', '127.0.0.1:0'] });
  try {
    await sleep(3_000);
    const idle = rssMb(router.pid);
    const target = {
      name: 'A',
      pids: [router.pid],
      transport: 'rawsocket',
      serializer: cbor,
      port: router.rawsocketPort,
      url: '',
      wamp: true,
    } as const;
    await measureRpc(target, { sequential: 500, pipelineMs: 3_000 });
    const loaded = rssMb(router.pid);
    let waited = 0;
    const later: string[] = [];
    for (const s of IDLE_AT_S) {
      await sleep((s - waited) * 1000);
      waited = s;
      later.push(`${s} s: ${rssMb(router.pid).toFixed(1)}`);
    }
    console.log(
      `${bin}: RSS idle ${idle.toFixed(1)} MB, after the calls ${loaded.toFixed(1)}, then idle ${later.join(', ')} MB`,
    );
  } finally {
    await router.stop();
  }
}
