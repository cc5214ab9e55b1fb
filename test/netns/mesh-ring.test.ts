// End to end on a ring of six namespaces (R_i linked to R_(i+1 mod 6) only), meshed by mDNS
// alone: Autobahn|Python on R0 calls a procedure registered on R2 (two hops, through R1).
// R1 dies: once R0 notices, new calls go the long way round (R5 R4 R3) without a single error.

import test from 'ava';
import { announceSkip, createBed, eventually, netnsUnavailable } from './harness.ts';
import { linksUp, meshRouter, startAgent, workDir, meshSuite } from './mesh-harness.ts';

const unavailable = netnsUnavailable();
const PROC = 'test.ring.add';
const NODES = ['R0', 'R1', 'R2', 'R3', 'R4', 'R5'];

if (unavailable !== undefined) {
  announceSkip('test/netns/mesh-ring.test.ts', unavailable);
  test.skip(`netns mesh ring (SKIPPED: ${unavailable})`, () => {});
} else {
  const suite = meshSuite(test);
  const { routers, agents } = suite;

  test.serial('a dead node on the shortest path: new calls are rerouted around it without errors', async (t) => {
    const bed = (suite.bed = createBed('ring6', 'mring'));
    const work = (suite.work = workDir('ring'));
    for (const n of NODES) routers.set(n, meshRouter(bed, n, work.dir));
    await Promise.all([...routers.values()].map((r) => r.start()));
    const [caller, callee] = await Promise.all([
      startAgent(bed.node('R0').ns, 'R0'),
      startAgent(bed.node('R2').ns, 'R2'),
    ]);
    agents.push(caller, callee);
    t.true((await callee.request({ op: 'register', procedure: PROC })).ok);

    const started = Date.now();
    const first = await eventually(
      'call from R0 reaches R2',
      30_000,
      async () => {
        const r = await caller.call(PROC, [20, 22], 3_000);
        return r.ok ? r : undefined;
      },
      200,
    );
    t.deepEqual(first.args, [42, 'R2']);
    t.log(`ring converged: first call ${Date.now() - started} ms after the agents joined`);
    // The whole ring must be up before R1 dies, or "the long way round" may not exist yet.
    // R0 learns every link from the advertisements; each router logs its own links.
    await Promise.all(NODES.map((n) => routers.get(n)!.proc.waitForStderr((l) => l.includes('mesh link up'), 20_000)));
    await linksUp(
      routers,
      NODES.map((n, i) => [n, NODES[(i + 1) % 6]!] as const),
    );

    const r1 = routers.get('R1')!;
    await r1.proc.kill();
    const killedAt = Date.now();
    await routers
      .get('R0')!
      .proc.waitForStderr((l) => l.includes('mesh link down') && l.includes('"peer":"R1"'), 10_000);
    t.log(`R0 saw its link to R1 go down ${Date.now() - killedAt} ms after SIGKILL`);

    const results = [];
    for (let i = 0; i < 20; i++) results.push(await caller.call(PROC, [i, 1], 5_000));
    const failures = results.filter((r) => !r.ok);
    t.deepEqual(failures, [], 'no call failed after R0 noticed R1 was gone');
    t.deepEqual(
      results.map((r) => r.args),
      results.map((_, i) => [i + 1, 'R2']),
    );
    const slowest = Math.max(...results.map((r) => r.ms));
    t.log(`20 calls around the ring, slowest ${slowest} ms`);
  });
}
