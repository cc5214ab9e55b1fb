// End to end over a real multi-hop network: `wampmesh serve` in each namespace of chain4
// (A-B-C-D; A reaches only B, B only A and C, ...), meshed by mDNS alone (no seeds), and
// Autobahn|Python on A calling a procedure registered on D and receiving events published on
// D and on B. Then C dies: the call fails fast; C comes back: the mesh heals.

import test from 'ava';
import {
  announceSkip,
  createBed,
  eventually,
  netnsUnavailable,
  repoRoot,
  runPythonInNetns,
  wampmeshBin,
} from './harness.ts';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  meshRouter,
  silentCut,
  startAgent,
  streamAcross,
  workDir,
  WS_PORT,
  type Agent,
  meshSuite,
} from './mesh-harness.ts';

const unavailable = netnsUnavailable();
const PROC = 'test.chain.add';
const TOPIC = 'test.chain.news';
const EXPECTED_FAILURES = ['wamp.error.network_failure', 'wamp.error.no_such_procedure'];

if (unavailable !== undefined) {
  announceSkip('test/netns/mesh-chain.test.ts', unavailable);
  test.skip(`netns mesh chain (SKIPPED: ${unavailable})`, () => {});
} else {
  const suite = meshSuite(test);
  const { routers, agents } = suite;
  let onA: Agent;
  let onB: Agent;
  let onD: Agent;

  test.before(async () => {
    const bed = (suite.bed = createBed('chain4', 'mchain'));
    const work = (suite.work = workDir('chain'));
    for (const n of ['A', 'B', 'C', 'D']) routers.set(n, meshRouter(bed, n, work.dir));
    await Promise.all([...routers.values()].map((r) => r.start()));
    [onA, onB, onD] = await Promise.all([
      startAgent(bed.node('A').ns, 'A'),
      startAgent(bed.node('B').ns, 'B'),
      startAgent(bed.node('D').ns, 'D'),
    ]);
    agents.push(onA, onB, onD);
    const reg = await onD.request({ op: 'register', procedure: PROC });
    if (!reg.ok) throw new Error(`register on D failed: ${JSON.stringify(reg)}`);
    const sub = await onA.request({ op: 'subscribe', topic: TOPIC });
    if (!sub.ok) throw new Error(`subscribe on A failed: ${JSON.stringify(sub)}`);
  });

  /** Calls until one succeeds; returns the result and how long it took. */
  const callUntilOk = async (what: string, timeoutMs: number) => {
    const started = Date.now();
    const reply = await eventually(
      what,
      timeoutMs,
      async () => {
        const r = await onA.call(PROC, [2, 3], 3_000);
        return r.ok ? r : undefined;
      },
      200,
    );
    return { reply, ms: Date.now() - started };
  };

  test.serial('mDNS alone forms the mesh: A calls a procedure registered on D, three hops away', async (t) => {
    const { reply, ms } = await callUntilOk('call from A reaches D', 30_000);
    t.deepEqual(reply.args, [5, 'D']);
    t.log(`first successful call ${ms} ms after the agents joined`);
    // The links were proposed by discovery (no seeds in any config): each router logged its
    // mDNS neighbours, and only its neighbours.
    const found = (n: string) =>
      new Set(
        [
          ...routers
            .get(n)!
            .proc.stderr()
            .matchAll(/"peer":"([A-Z])"[^\n]*mdns: peer found/g),
        ].map((m) => m[1]),
      );
    // A link needs only one side to have found the other, so the call can succeed before every
    // node has seen both of its neighbours' announcements (and before their log lines reach us).
    const expected: Record<string, string> = { A: 'B', B: 'A,C', C: 'B,D', D: 'C' };
    await eventually(
      'every node has found exactly its neighbours',
      10_000,
      async () => Object.entries(expected).every(([n, want]) => [...found(n)].sort().join(',') === want) || undefined,
      200,
    ).catch(() => undefined);
    t.deepEqual([...found('A')].sort(), ['B']);
    t.deepEqual([...found('B')].sort(), ['A', 'C']);
    t.deepEqual([...found('C')].sort(), ['B', 'D']);
    t.deepEqual([...found('D')].sort(), ['C']);
  });

  test.serial('events published on D and on B reach the subscriber on A exactly once', async (t) => {
    // Subscriptions travel by advertisement; publish probes until one from each side arrives.
    for (const [name, agent] of [
      ['D', onD],
      ['B', onB],
    ] as const) {
      let k = 0;
      await eventually(
        `an event from ${name} reaches A`,
        20_000,
        async () => {
          const r = await agent.request({ op: 'publish', topic: TOPIC, args: [`probe-${name}`, k++] });
          if (!r.ok) throw new Error(JSON.stringify(r));
          return onA.events(TOPIC).some((a) => a[0] === `probe-${name}`) ? true : undefined;
        },
        250,
      );
    }
    const N = 20;
    await Promise.all(
      [
        ['D', onD],
        ['B', onB],
      ].map(async ([name, agent]) => {
        for (let i = 0; i < N; i++) {
          const r = await (agent as Agent).request({ op: 'publish', topic: TOPIC, args: [`${name as string}-${i}`] });
          t.true(r.ok, JSON.stringify(r));
        }
        await (agent as Agent).request({ op: 'publish', topic: TOPIC, args: [`${name as string}-end`] });
      }),
    );
    await eventually('both end markers at A', 10_000, () =>
      ['D-end', 'B-end'].every((m) => onA.events(TOPIC).some((a) => a[0] === m)) ? true : undefined,
    );
    const counts = new Map<string, number>();
    for (const a of onA.events(TOPIC)) {
      const key = String(a[0]);
      if (key.startsWith('probe-')) continue;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const expected = ['D', 'B'].flatMap((n) => [...Array.from({ length: N }, (_, i) => `${n}-${i}`), `${n}-end`]);
    t.deepEqual([...counts.keys()].sort(), expected.sort(), 'every event arrived');
    t.deepEqual(
      [...counts].filter(([, c]) => c !== 1),
      [],
      'none twice',
    );
    // Per publisher, in order.
    for (const n of ['D', 'B']) {
      const seq = onA
        .events(TOPIC)
        .map((a) => String(a[0]))
        .filter((k) => k.startsWith(`${n}-`) && k !== `${n}-end`);
      t.deepEqual(
        seq,
        Array.from({ length: N }, (_, i) => `${n}-${i}`),
      );
    }
  });

  test.serial('a realm user created on A (admin CLI) authenticates on D, three hops away', async (t) => {
    // The CLI reaches A's router over its Unix socket in A's data folder.
    const data = join(suite.work!.dir, 'A', 'data');
    const cli = (args: string[]) => execFileSync(wampmeshBin, [...args, '--data', data], { encoding: 'utf8' });
    cli(['realm', 'create', 'com.chain', '--authmethods', 'ticket']);
    cli(['user', 'create', 'com.chain', 'alice', '--password', 'alice ticket 123']);
    const script = join(repoRoot, 'test', 'security', 'python', 'auth_client.py');
    const joined = await eventually(
      'alice, created on A, joins on D',
      20_000,
      async () => {
        const r = await runPythonInNetns(
          suite.bed!.node('D').ns,
          script,
          [
            '--url',
            `ws://127.0.0.1:${WS_PORT}/ws`,
            '--realm',
            'com.chain',
            '--method',
            'ticket',
            '--authid',
            'alice',
            '--secret',
            'alice ticket 123',
          ],
          15_000,
        );
        const line = r.lines
          .map((l) => {
            try {
              return JSON.parse(l) as { joined?: boolean; authid?: string };
            } catch {
              return undefined;
            }
          })
          .find((x) => x?.joined !== undefined);
        return line?.joined === true ? line : undefined;
      },
      500,
    );
    t.is(joined.authid, 'alice');
    const wrong = await runPythonInNetns(
      suite.bed!.node('D').ns,
      script,
      [
        '--url',
        `ws://127.0.0.1:${WS_PORT}/ws`,
        '--realm',
        'com.chain',
        '--method',
        'ticket',
        '--authid',
        'alice',
        '--secret',
        'not the ticket',
      ],
      15_000,
    );
    t.regex(wrong.stdout, /"joined": ?false/);
  });

  test.serial(
    'C dies: the call fails fast with an error; C restarts: the mesh heals and the call works again',
    async (t) => {
      const c = routers.get('C')!;
      await c.proc.kill();
      const started = Date.now();
      const failed = await onA.call(PROC, [2, 3], 10_000);
      const ms = Date.now() - started;
      t.log(
        `call after C's death: ${JSON.stringify({ ok: failed.ok, error: failed.error, args: failed.args })} after ${ms} ms`,
      );
      t.false(failed.ok, 'the call must not succeed with C dead');
      t.true(EXPECTED_FAILURES.includes(failed.error ?? ''), `error URI ${failed.error}`);
      t.true(ms < 5_000, `failed after ${ms} ms`);
      // Once the routes are withdrawn, a call fails at A's own dealer.
      const settled = await eventually(
        'routes to D withdrawn at A',
        10_000,
        async () => {
          const r = await onA.call(PROC, [2, 3], 5_000);
          return r.ok ? undefined : r.error === 'wamp.error.no_such_procedure' ? r : undefined;
        },
        200,
      );
      t.log(`once routes are withdrawn: ${settled.error} in ${settled.ms} ms`);

      await c.start();
      const healed = await callUntilOk('call works after C restarts', 30_000);
      t.deepEqual(healed.reply.args, [5, 'D']);
      t.log(`healed ${healed.ms} ms after C printed its listening line`);
    },
  );

  test.serial(
    "a 10 s silent outage between B and C, no way round: D's events reach A, none lost, in order",
    async (t) => {
      const stream = { count: 10_000, rate: 500, settleMs: 90_000 };
      const started = Date.now();
      const result = await streamAcross(onD, onA, 'test.chain.stream', stream, async () => {
        silentCut(suite.bed!, 'B', 'C', true);
        // The outage itself lasts 10 s: a duration, not a wait for a condition.
        await new Promise((r) => setTimeout(r, 10_000));
        silentCut(suite.bed!, 'B', 'C', false);
      });
      t.log(
        `${stream.count} events at ${stream.rate}/s across a 10 s outage: ${JSON.stringify(result)} in ${Date.now() - started} ms`,
      );
      t.deepEqual(result, { delivered: stream.count, lost: 0, duplicates: 0, reordered: 0 });
    },
  );
}
