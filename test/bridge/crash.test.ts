// The router as an operator runs it (a child process): kill -9 in the middle of a drain to a
// real mosquitto, restart on the same data folder, and nothing acknowledged is lost, order is
// kept, and duplicates stay within the in-flight window and are counted; `wampmesh bridge
// status` and /metrics show the bridge.

import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RawClient } from '../helpers/raw-client.ts';
import { startRouter, wampmeshBin, type RouterProcess } from '../helpers/router-process.ts';
import { promtoolCheck, scrape } from '../helpers/metrics.ts';
import { Mosquitto, subscriber, until } from './mosquitto.ts';
import type { BridgeStatus } from '../../src/bridge/bridges.ts';

const run = promisify(execFile);
const INFLIGHT = 16;

async function bridgeStatus(dataDir: string): Promise<BridgeStatus> {
  const { stdout } = await run(wampmeshBin, ['bridge', 'status', '--data', dataDir]);
  return (JSON.parse(stdout) as BridgeStatus[])[0]!;
}

test('kill -9 mid-drain and restart: all N in order, duplicates only within the in-flight window, counted', async (t) => {
  const broker = await Mosquitto.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-crash-'));
  const configFile = path.join(dir, 'config.json');
  const dataDir = path.join(dir, 'data');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: { http: [{ host: '127.0.0.1', port: 0, serve: ['metrics'] }] },
      bridges: [
        {
          name: 'cloud',
          type: 'mqtt',
          url: broker.url,
          realm: 'realm1',
          retry: { initialMs: 50, maxMs: 200 },
          queue: { inflight: INFLIGHT },
          rules: [{ direction: 'out', wamp: 'tele.', match: 'prefix', mqtt: 'site7/tele/', qos: 1 }],
        },
      ],
    }),
  );
  const args = ['--config', configFile, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'];
  let router: RouterProcess | undefined;
  t.teardown(async () => {
    await router?.stop();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const sub = await subscriber(broker, 'site7/tele/#');
  // It reconnects on its own: left open after a failure, it would keep the test process alive.
  t.teardown(() => void sub.client.end(true));
  router = await startRouter({ args, dataDir });
  await broker.pause();

  // N acknowledged publications while the broker is away: each PUBLISHED means "on disk".
  const N = 5000;
  const pub = await RawClient.connect({ transport: 'rawsocket', port: router.rawsocketPort, serializer: 'json' });
  await pub.join('realm1');
  const first = pub.requestId();
  for (let i = 0; i < N; i++) pub.send([16, first + i, { acknowledge: true }, 'tele.seq', [i]]);
  for (let i = 0; i < N; i++) pub.requestId();
  let acked = 0;
  while (acked < N) {
    const m = await pub.next((x) => x[0] === 17 || x[0] === 8, 20_000);
    t.is(m[0], 17);
    acked++;
  }
  pub.destroy();
  const before = await bridgeStatus(dataDir);
  t.is(before.queue.depth, N, '`wampmesh bridge status` shows the queue');
  t.is(before.state, 'down');
  t.truthy(before.lastError);

  const http = router.listeners.find((l) => l.transport === 'http')!;
  const { text, samples } = await scrape(http.port);
  t.is(samples.get('wampmesh_bridge_queue_messages{bridge="cloud"}'), N);
  t.is(samples.get('wampmesh_bridge_up{bridge="cloud"}'), 0);
  const check = await promtoolCheck(text);
  t.is(check.code, 0, check.output);

  await broker.resume();
  await until(() => sub.got.length >= 500, 20_000, 'the drain under way');
  process.kill(router.pid, 'SIGKILL');
  await router.stop();
  const atKill = sub.got.length;
  t.true(atKill < N, `killed mid-drain (${atKill} of ${N} had arrived)`);

  router = await startRouter({ args, dataDir });
  const distinct = () => new Set(sub.got).size;
  await until(() => distinct() === N, 30_000, 'all N after the restart');
  // Order: first appearances are 0..N-1 in order; a duplicate is an event resent from the window.
  const seen = new Set<string>();
  const firsts: number[] = [];
  for (const g of sub.got)
    if (!seen.has(g)) {
      seen.add(g);
      firsts.push(Number(g));
    }
  t.deepEqual(
    firsts,
    Array.from({ length: N }, (_, i) => i),
  );
  const duplicates = sub.got.length - N;
  t.true(duplicates <= INFLIGHT, `${duplicates} duplicates, at most the in-flight window of ${INFLIGHT}`);
  let after = await bridgeStatus(dataDir);
  for (const deadline = Date.now() + 10_000; after.queue.depth > 0 && Date.now() < deadline; )
    after = await bridgeStatus(dataDir);
  t.is(after.queue.depth, 0);
  t.log(`killed after ${atKill} of ${N}; ${duplicates} duplicates; redelivered counted: ${after.counters.redelivered}`);
  t.is(after.state, 'up');
  t.true(
    after.counters.redelivered >= duplicates,
    `redelivered ${after.counters.redelivered} counts the ${duplicates} duplicates`,
  );
  t.true(after.counters.redelivered <= INFLIGHT);
  await sub.client.endAsync();
});
