// Seeded random meshes under the deterministic simulator (sim.ts): routes converge, events and
// calls arrive exactly once, also while links are cut. MESH_SEED=<seed> replays a failing seed.

import test from 'ava';
import { randomTopology, SimNetwork, seededRandom } from './sim.ts';
import {
  client,
  converged,
  overlaySpansNetwork,
  register,
  seeds,
  serve,
  subscribe,
  withSeed,
} from './simulation-harness.ts';

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
