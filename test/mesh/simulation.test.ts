// The mesh logic under a deterministic simulator: seeded random topologies, a fake clock and an
// in-memory network with link cuts, partitions and node deaths. A failing seed is printed so it
// can be replayed with MESH_SEED=<seed>.

import test, { type ExecutionContext } from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { randomTopology, SimNetwork, seededRandom, type SimNode } from './sim.ts';

const advanced = {
  callee: { features: { call_canceling: true, progressive_call_results: true } },
  caller: { features: { call_canceling: true, progressive_call_results: true } },
  publisher: {},
  subscriber: {},
};

function client(node: SimNode): MemoryClient {
  const c = new MemoryClient(node.router);
  c.join('realm1', { roles: advanced });
  return c;
}

function register(c: MemoryClient, procedure: string, options: Record<string, unknown> = {}): void {
  c.send([64, 1, options, procedure]);
  const reply = c.take().at(-1);
  if (reply?.[0] !== 65) throw new Error(`REGISTER failed: ${JSON.stringify(reply)}`);
}

function subscribe(c: MemoryClient, topic: string): number {
  c.send([32, 1, {}, topic]);
  const reply = c.take().at(-1);
  if (reply?.[0] !== 33) throw new Error(`SUBSCRIBE failed: ${JSON.stringify(reply)}`);
  return reply[2] as number;
}

/** Callee that answers every INVOCATION with its args, counting invocations per call. */
function serve(net: SimNetwork, callee: MemoryClient, invocations: Map<string, number>, delayMs = 0): void {
  const loop = () => {
    for (const m of callee.take()) {
      if (m[0] !== 68) continue;
      const key = JSON.stringify(m[4]);
      invocations.set(key, (invocations.get(key) ?? 0) + 1);
      const answer = () => callee.send([70, m[1], {}, m[4]]);
      if (delayMs > 0) net.clock.setTimeout(answer, delayMs);
      else answer();
    }
    net.clock.setTimeout(loop, 1);
  };
  loop();
}

/** Checks that every live node's routes match the real link graph. */
function converged(net: SimNetwork): string | undefined {
  const alive = [...net.nodes.values()].filter((n) => n.alive);
  const adj = new Map<string, Set<string>>(alive.map((n) => [n.id, new Set()]));
  for (const [a, b] of net.links()) {
    adj.get(a)?.add(b);
    adj.get(b)?.add(a);
  }
  for (const n of alive) {
    const seen = new Set([n.id]);
    const stack = [n.id];
    while (stack.length)
      for (const x of adj.get(stack.pop()!) ?? [])
        if (!seen.has(x)) {
          seen.add(x);
          stack.push(x);
        }
    seen.delete(n.id);
    const routes = n.mesh.lsdb.routes();
    const routed = [...routes.keys()].sort().join(',');
    if (routed !== [...seen].sort().join(','))
      return `${n.id} routes to [${routed}] but can reach [${[...seen].sort()}]`;
    for (const hop of routes.values())
      if (!adj.get(n.id)!.has(hop)) return `${n.id} routes via ${hop}, not a neighbour`;
  }
  return undefined;
}

/** The overlay must not split what the network joins: every node reaches its physical component. */
function overlaySpansNetwork(net: SimNetwork): string | undefined {
  const alive = [...net.nodes.values()].filter((n) => n.alive);
  for (const n of alive) {
    const seen = new Set([n.id]);
    const stack = [n.id];
    while (stack.length)
      for (const x of net.reach.get(stack.pop()!) ?? [])
        if (net.nodes.get(x)?.alive && !seen.has(x)) {
          seen.add(x);
          stack.push(x);
        }
    seen.delete(n.id);
    const missing = [...seen].filter((x) => !n.mesh.lsdb.routes().has(x));
    if (missing.length > 0)
      return `${n.id} cannot reach ${missing.length} nodes of its network (${missing.slice(0, 3).join(', ')}...): an overlay island`;
  }
  return undefined;
}

const seeds = process.env.MESH_SEED
  ? [Number(process.env.MESH_SEED)]
  : Array.from({ length: 6 }, (_, i) => 1000 + i * 7919);

function withSeed(t: ExecutionContext, seed: number, body: () => void): void {
  try {
    body();
  } catch (err) {
    t.fail(`seed ${seed} (replay with MESH_SEED=${seed}): ${(err as Error).message}`);
  }
}

test('chain A-B-C-D: a call from A reaches a callee on D and returns; events cross three hops', (t) => {
  const net = new SimNetwork(1);
  for (const id of ['A', 'B', 'C', 'D']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('C', 'D');
  net.run(2000);
  t.is(converged(net), undefined);
  const [a, b, d] = [client(net.nodes.get('A')!), client(net.nodes.get('B')!), client(net.nodes.get('D')!)];
  const invocations = new Map<string, number>();
  register(d, 'com.app.echo');
  serve(net, d, invocations);
  subscribe(a, 'com.app.news');
  net.run(200);
  a.send([48, 7, {}, 'com.app.echo', ['hi']]);
  net.run(200);
  t.deepEqual(
    a.take().filter((m) => m[0] === 50),
    [[50, 7, {}, ['hi']]],
  );
  d.send([16, 1, {}, 'com.app.news', ['from D']]);
  b.send([16, 1, {}, 'com.app.news', ['from B']]);
  net.run(200);
  t.deepEqual(
    a
      .take()
      .filter((m) => m[0] === 36)
      .map((m) => (m[4] as string[])[0])
      .sort(),
    ['from B', 'from D'],
  );
  t.deepEqual(net.errors, []);
});

test('a callee with several registrations is reachable through each from another node, and leaves none behind', (t) => {
  // Remote callees were proxied per session: a callee's second registration replaced its
  // first, which other nodes then answered with no_such_procedure (found while fixing what
  // test/mesh/fuzz-*.test.ts found: proxies sharing a session ID).
  const net = new SimNetwork(3);
  for (const id of ['A', 'B']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.run(2000);
  const [a, b] = [client(net.nodes.get('A')!), client(net.nodes.get('B')!)];
  register(b, 'com.app.one');
  register(b, 'com.app.two');
  register(b, 'com.app', { match: 'prefix' });
  serve(net, b, new Map());
  net.run(200);
  t.is(net.nodes.get('A')!.mesh.status().remoteCallees, 3);
  for (const [i, procedure] of ['com.app.one', 'com.app.two', 'com.app.three'].entries())
    a.send([48, i + 1, {}, procedure, [procedure]]);
  net.run(200);
  t.deepEqual(
    a.take().map((m) => [m[0], m[1], m[3]]),
    [
      [50, 1, ['com.app.one']],
      [50, 2, ['com.app.two']],
      [50, 3, ['com.app.three']],
    ],
  );
  b.handler.closed();
  net.run(200);
  t.is(net.nodes.get('A')!.mesh.status().remoteCallees, 0);
  t.is(net.nodes.get('A')!.router.realms.get('realm1')!.dealer.registrationCount, 0);
});

for (const seed of seeds) {
  test(`random 50-node mesh, seed ${seed}: routes converge, events exactly once, calls answered exactly once`, (t) => {
    withSeed(t, seed, () => {
      const net = new SimNetwork(seed);
      const ids = randomTopology(net, 50, 30);
      net.run(5000);
      const problem = converged(net) ?? overlaySpansNetwork(net);
      if (problem) throw new Error(`not converged: ${problem}`);
      for (const n of net.nodes.values()) {
        const links = n.mesh.status().links as string[];
        if (links.length > n.mesh.config.maxLinks + 1) throw new Error(`${n.id} keeps ${links.length} links`);
      }
      const rand = seededRandom(seed + 1);
      const pick = () => net.nodes.get(ids[Math.floor(rand() * ids.length)]!)!;
      // Subscribers on random nodes; every publication must reach each exactly once.
      const subscribers = Array.from({ length: 12 }, () => client(pick()));
      for (const s of subscribers) subscribe(s, 'com.app.topic');
      const callees = Array.from({ length: 3 }, () => client(pick()));
      const invocations = new Map<string, number>();
      for (const c of callees) {
        register(c, 'com.app.work', { invoke: 'roundrobin' });
        serve(net, c, invocations);
      }
      net.run(500);
      const publishers = Array.from({ length: 5 }, () => client(pick()));
      const callers = Array.from({ length: 10 }, () => client(pick()));
      let sent = 0;
      for (let round = 0; round < 10; round++) {
        for (const [i, p] of publishers.entries()) p.send([16, round + 1, {}, 'com.app.topic', [`${i}:${round}`]]);
        for (const [i, c] of callers.entries()) {
          c.send([48, round + 1, {}, 'com.app.work', [`${i}:${round}`]]);
          sent++;
        }
        net.run(20);
      }
      net.run(2000);
      for (const [i, s] of subscribers.entries()) {
        const got = s
          .take()
          .filter((m) => m[0] === 36)
          .map((m) => (m[4] as string[])[0]!)
          .sort();
        const expected = publishers
          .flatMap((p, pi) => (p === s ? [] : Array.from({ length: 10 }, (_, r) => `${pi}:${r}`)))
          .sort();
        if (got.join() !== expected.join())
          throw new Error(`subscriber ${i} got ${got.length} events, expected ${expected.length}`);
      }
      let answered = 0;
      for (const [i, c] of callers.entries()) {
        const answers = c.take().filter((m) => m[0] === 50 || m[0] === 8);
        const byRequest = new Map<number, number>();
        for (const m of answers)
          byRequest.set(m[m[0] === 8 ? 2 : 1] as number, (byRequest.get(m[m[0] === 8 ? 2 : 1] as number) ?? 0) + 1);
        for (let r = 1; r <= 10; r++)
          if (byRequest.get(r) !== 1) throw new Error(`caller ${i} call ${r} answered ${byRequest.get(r) ?? 0} times`);
        for (const m of answers) if (m[0] !== 50) throw new Error(`caller ${i}: ${JSON.stringify(m)}`);
        answered += answers.length;
      }
      if (answered !== sent) throw new Error(`${answered} of ${sent} calls answered`);
      for (const [k, n] of invocations) if (n !== 1) throw new Error(`call ${k} invoked ${n} times`);
      if (net.errors.length > 0) throw new Error(net.errors.join('; '));
      t.pass();
    });
  });
}

test('a node dying mid-call: the caller gets wamp.error.network_failure promptly, the callee runs once; the mesh heals', (t) => {
  const net = new SimNetwork(7);
  for (const id of ['A', 'B', 'C', 'D']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('C', 'D');
  net.run(2000);
  const a = client(net.nodes.get('A')!);
  const d = client(net.nodes.get('D')!);
  const invocations = new Map<string, number>();
  register(d, 'com.app.slow');
  serve(net, d, invocations, 1000);
  net.run(200);
  a.send([48, 1, {}, 'com.app.slow', ['x']]);
  net.run(100);
  const killedAt = net.clock.now;
  net.kill('C');
  let answer: unknown[] | undefined;
  for (let i = 0; i < 100 && answer === undefined; i++) {
    net.run(10);
    answer = a.take().find((m) => m[0] === 8 || m[0] === 50);
  }
  t.truthy(answer);
  t.is(answer![0], 8);
  t.is(answer![4], 'wamp.error.network_failure');
  t.true(net.clock.now - killedAt < 100, `answered ${net.clock.now - killedAt} ms after the failure`);
  net.run(2000);
  t.deepEqual([...invocations.values()], [1]);
  a.send([48, 2, {}, 'com.app.slow', ['y']]);
  net.run(100);
  t.is(
    a.take().find((m) => m[0] === 8)?.[4],
    'wamp.error.no_such_procedure',
    'with no path left, the procedure is gone',
  );
  // C comes back: a new node process with a new epoch, and the node key kept in its data folder.
  const key = net.nodes.get('C')!.trust.key;
  net.nodes.delete('C');
  net.reach.get('B')!.delete('C');
  net.reach.get('D')!.delete('C');
  net.reach.delete('C');
  net.addNode('C', { key });
  net.connectSegment('B', 'C');
  net.connectSegment('C', 'D');
  net.run(3000);
  t.is(converged(net), undefined);
  a.send([48, 3, {}, 'com.app.slow', ['z']]);
  net.run(2000);
  t.deepEqual(
    a.take().filter((m) => m[0] === 50),
    [[50, 3, {}, ['z']]],
  );
});

test('ring of six: killing a node reroutes new calls around it without errors', (t) => {
  const net = new SimNetwork(11);
  const ids = ['R0', 'R1', 'R2', 'R3', 'R4', 'R5'];
  for (const id of ids) net.addNode(id);
  for (let i = 0; i < 6; i++) net.connectSegment(ids[i]!, ids[(i + 1) % 6]!);
  net.run(3000);
  const caller = client(net.nodes.get('R0')!);
  const callee = client(net.nodes.get('R3')!);
  const invocations = new Map<string, number>();
  register(callee, 'com.app.ring');
  serve(net, callee, invocations);
  net.run(300);
  net.kill('R1');
  net.run(500);
  t.is(converged(net), undefined);
  for (let i = 1; i <= 20; i++) caller.send([48, i, {}, 'com.app.ring', [i]]);
  net.run(500);
  const answers = caller.take();
  t.is(answers.filter((m) => m[0] === 50).length, 20);
  t.is(answers.filter((m) => m[0] === 8).length, 0);
});

test('a partition heals: routes converge again and events flow across', (t) => {
  const net = new SimNetwork(3);
  const ids = randomTopology(net, 12, 4);
  net.run(3000);
  // Cut every physical path between the two halves, then restore them.
  const cut = net.links().filter(([a, b]) => ids.indexOf(a) < 6 !== ids.indexOf(b) < 6);
  const segments = [...net.reach].flatMap(([a, set]) =>
    [...set].filter((b) => a < b && ids.indexOf(a) < 6 !== ids.indexOf(b) < 6).map((b) => [a, b] as const),
  );
  for (const [a, b] of segments) net.partition(a, b);
  net.run(3000);
  t.is(converged(net), undefined, 'converged while partitioned');
  t.true(cut.length >= 0);
  for (const [a, b] of segments) net.connectSegment(a, b);
  net.run(5000);
  t.is(converged(net), undefined, 'converged after healing');
  const sub = client(net.nodes.get(ids[0]!)!);
  subscribe(sub, 'com.app.heal');
  net.run(300);
  const pub = client(net.nodes.get(ids[11]!)!);
  pub.send([16, 1, {}, 'com.app.heal', ['ok']]);
  net.run(300);
  t.is(sub.take().filter((m) => m[0] === 36).length, 1);
});

for (const seed of seeds.slice(0, 3)) {
  test(`churn, seed ${seed}: links cut during traffic; every call answered exactly once, no callee runs twice`, (t) => {
    withSeed(t, seed, () => {
      const net = new SimNetwork(seed);
      const ids = randomTopology(net, 30, 25);
      net.run(4000);
      const rand = seededRandom(seed + 2);
      const pick = () => net.nodes.get(ids[Math.floor(rand() * ids.length)]!)!;
      const callees = Array.from({ length: 3 }, () => client(pick()));
      const invocations = new Map<string, number>();
      for (const c of callees) {
        register(c, 'com.app.churn', { invoke: 'roundrobin' });
        serve(net, c, invocations, 30);
      }
      net.run(500);
      const callers = Array.from({ length: 8 }, () => client(pick()));
      for (let round = 0; round < 20; round++) {
        for (const [i, c] of callers.entries()) c.send([48, round + 1, {}, 'com.app.churn', [`${i}:${round}`]]);
        const links = net.links();
        if (links.length > 0 && round % 3 === 0) {
          const [a, b] = links[Math.floor(rand() * links.length)]!;
          net.cutLink(a, b);
        }
        net.run(15);
      }
      net.run(5000);
      for (const [i, c] of callers.entries()) {
        const counts = new Map<number, number>();
        for (const m of c.take())
          if (m[0] === 50 || m[0] === 8) {
            const req = m[m[0] === 8 ? 2 : 1] as number;
            counts.set(req, (counts.get(req) ?? 0) + 1);
            if (
              m[0] === 8 &&
              !['wamp.error.network_failure', 'wamp.error.canceled', 'wamp.error.no_such_procedure'].includes(
                m[4] as string,
              )
            )
              throw new Error(`unexpected error ${m[4]}`);
          }
        for (let r = 1; r <= 20; r++)
          if (counts.get(r) !== 1) throw new Error(`caller ${i} call ${r} answered ${counts.get(r) ?? 0} times`);
      }
      for (const [k, n] of invocations) if (n > 1) throw new Error(`call ${k} invoked ${n} times`);
      if (converged(net)) throw new Error(`not converged after churn: ${converged(net)}`);
      t.pass();
    });
  });
}

test(
  'frames too large for a link: every call shape is answered at once with ' +
    'wamp.error.payload_size_exceeded; the callee side is stopped; events are dropped',
  (t) => {
    // A - B - C, where A and C accept frames up to 64 KiB and B takes anything: each kind of
    // frame meets a too-small link either on its first hop (where the Dealer answers) or further on.
    const net = new SimNetwork(5);
    for (const id of ['A', 'B', 'C']) net.addNode(id);
    net.maxFrameBytes.set('A', 65_536);
    net.maxFrameBytes.set('C', 65_536);
    net.connectSegment('A', 'B');
    net.connectSegment('B', 'C');
    net.run(2000);
    t.is(converged(net), undefined);
    const roles = {
      caller: {
        features: { call_canceling: true, progressive_call_results: true, progressive_call_invocations: true },
      },
      callee: {
        features: { call_canceling: true, progressive_call_results: true, progressive_call_invocations: true },
      },
      publisher: {},
      subscriber: {},
    };
    const join = (id: string) => {
      const c = new MemoryClient(net.nodes.get(id)!.router);
      c.join('realm1', { roles });
      return c;
    };
    const [a, b, c] = [join('A'), join('B'), join('C')];
    const big = 'x'.repeat(100_000);
    register(c, 'com.app.c');
    register(b, 'com.app.b');
    subscribe(a, 'com.app.news');
    net.run(200);
    const errorFor = (client: MemoryClient, request: number) =>
      client.received.find((m) => m[0] === 8 && m[1] === 48 && m[2] === request);
    const tooLarge = (client: MemoryClient, request: number, what: string) => {
      const answer = errorFor(client, request);
      t.is(answer?.[4], 'wamp.error.payload_size_exceeded', `${what}: ${JSON.stringify(answer)?.slice(0, 200)}`);
    };
    const invocations = (callee: MemoryClient) => callee.take().filter((m) => m[0] === 68);

    // A CALL too large for the first hop (B -> C): the Dealer on B answers synchronously.
    b.send([48, 1, {}, 'com.app.c', [big]]);
    tooLarge(b, 1, 'first hop');
    // Too large for a later hop (A -> B -> C): B answers, one hop's delay later.
    a.send([48, 2, {}, 'com.app.c', [big]]);
    net.run(20);
    tooLarge(a, 2, 'second hop');
    t.deepEqual(invocations(c), [], 'the callee never saw either call');

    // A RESULT too large for the first hop back (callee on B, caller on A) and for a later one
    // (callee on C, caller on A: C -> B is fine, B -> A is not).
    a.send([48, 3, {}, 'com.app.b', ['small']]);
    a.send([48, 4, {}, 'com.app.c', ['small']]);
    net.run(20);
    for (const [callee] of [
      [b, 3],
      [c, 4],
    ] as const) {
      const inv = invocations(callee);
      t.is(inv.length, 1);
      callee.send([70, inv[0]![1], {}, [big]]);
    }
    net.run(20);
    tooLarge(a, 3, 'result, first hop back');
    tooLarge(a, 4, 'result, second hop back');
    // An ERROR with a huge payload is replaced the same way.
    a.send([48, 5, {}, 'com.app.c', ['small']]);
    net.run(20);
    c.send([8, 68, invocations(c)[0]![1], {}, 'com.app.error.broken', [big]]);
    net.run(20);
    tooLarge(a, 5, 'error payload');
    t.regex(String((errorFor(a, 5)![5] as string[])[0]), /com\.app\.error\.broken/);

    // Progressive results: the first is small and arrives; a huge one ends the call for the caller
    // and interrupts the callee, on the first hop back (B) and on a later one (C, via B).
    for (const [callee, request, procedure] of [
      [b, 6, 'com.app.b'],
      [c, 7, 'com.app.c'],
    ] as const) {
      a.send([48, request, { receive_progress: true }, procedure, ['stream']]);
      net.run(20);
      const inv = invocations(callee)[0]!;
      callee.send([70, inv[1], { progress: true }, ['part 1']]);
      net.run(20);
      t.deepEqual(
        a.received.find((m) => m[0] === 50 && m[1] === request),
        [50, request, { progress: true }, ['part 1']],
      );
      callee.send([70, inv[1], { progress: true }, [big]]);
      net.run(20);
      tooLarge(a, request, `progressive result via ${procedure}`);
      const interrupt = callee.take().find((m) => m[0] === 69);
      t.is(interrupt?.[1], inv[1], `${procedure}: the callee was interrupted`);
      callee.send([70, inv[1], {}, ['late final result']]);
      net.run(20);
      t.is(
        a.received.filter(
          (m) =>
            (m[0] === 50 && m[1] === request && !(m[2] as { progress?: boolean }).progress) ||
            (m[0] === 8 && m[2] === request),
        ).length,
        1,
        'exactly one final answer',
      );
    }

    // Progressive invocations: a huge chunk ends the call, on the first hop (B -> C) and on a later one (A -> B -> C).
    for (const [caller, request] of [
      [b, 8],
      [a, 9],
    ] as const) {
      caller.send([48, request, { progress: true }, 'com.app.c', ['chunk 1']]);
      net.run(20);
      const inv = invocations(c)[0]!;
      caller.send([48, request, { progress: true }, 'com.app.c', [big]]);
      net.run(20);
      tooLarge(caller, request, `progressive invocation from ${request === 8 ? 'B' : 'A'}`);
      t.is(c.take().find((m) => m[0] === 69)?.[1], inv[1], 'the callee was interrupted');
    }

    // Nothing is left behind, and normal calls still work over the same links.
    a.send([48, 10, {}, 'com.app.c', ['after']]);
    net.run(20);
    c.send([70, invocations(c)[0]![1], {}, ['done']]);
    net.run(20);
    t.deepEqual(
      a.received.find((m) => m[1] === 10),
      [50, 10, {}, ['done']],
    );
    for (const id of ['A', 'B', 'C']) t.is(net.nodes.get(id)!.mesh.status().callsInFlight, 0, `${id} holds no calls`);
    for (const id of ['A', 'B', 'C'])
      t.is(net.nodes.get(id)!.router.realms.get('realm1')!.dealer.pendingCount, 0, `${id}'s Dealer holds no calls`);

    // An EVENT too large for a link cannot be reported to anyone: it is dropped (MeshLinks logs it).
    const publisher = join('C');
    publisher.send([16, 1, {}, 'com.app.news', [big]]);
    publisher.send([16, 2, {}, 'com.app.news', ['small']]);
    net.run(50);
    t.deepEqual(
      a
        .take()
        .filter((m) => m[0] === 36)
        .map((m) => m[4]),
      [['small']],
    );
    t.true(net.oversize.includes('B>A:event'), net.oversize.join());
    t.deepEqual(net.errors, []);
  },
);
