// Shared by the simulation-*.test.ts files: clients on simulated nodes, a callee that counts its
// invocations, the checks that routes match the network, and the seeds (MESH_SEED=<seed> replays one).

import type { ExecutionContext } from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import type { SimNetwork, SimNode } from './sim.ts';

const advanced = {
  callee: { features: { call_canceling: true, progressive_call_results: true } },
  caller: { features: { call_canceling: true, progressive_call_results: true } },
  publisher: {},
  subscriber: {},
};

export function client(node: SimNode): MemoryClient {
  const c = new MemoryClient(node.router);
  c.join('realm1', { roles: advanced });
  return c;
}

export function register(c: MemoryClient, procedure: string, options: Record<string, unknown> = {}): void {
  c.send([64, 1, options, procedure]);
  const reply = c.take().at(-1);
  if (reply?.[0] !== 65) throw new Error(`REGISTER failed: ${JSON.stringify(reply)}`);
}

export function subscribe(c: MemoryClient, topic: string): number {
  c.send([32, 1, {}, topic]);
  const reply = c.take().at(-1);
  if (reply?.[0] !== 33) throw new Error(`SUBSCRIBE failed: ${JSON.stringify(reply)}`);
  return reply[2] as number;
}

/** Callee that answers every INVOCATION with its args, counting invocations per call. */
export function serve(net: SimNetwork, callee: MemoryClient, invocations: Map<string, number>, delayMs = 0): void {
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
export function converged(net: SimNetwork): string | undefined {
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
export function overlaySpansNetwork(net: SimNetwork): string | undefined {
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

export const seeds = process.env.MESH_SEED
  ? [Number(process.env.MESH_SEED)]
  : Array.from({ length: 6 }, (_, i) => 1000 + i * 7919);

export function withSeed(t: ExecutionContext, seed: number, body: () => void): void {
  try {
    body();
  } catch (err) {
    t.fail(`seed ${seed} (replay with MESH_SEED=${seed}): ${(err as Error).message}`);
  }
}
