// The link-state database: the newest advertisement of every node, and the shortest-path next
// hop to each reachable node. Each node computes routes from the same flooded data, so routes
// are loop-free once advertisements have spread, and a dead node's routes vanish as soon as
// its neighbours advertise the lost links: no count-to-infinity.

import type { Lsa, NodeId } from './frames.ts';

export class LinkStateDb {
  readonly self: NodeId;
  readonly #lsas = new Map<NodeId, { lsa: Lsa; received: number }>();
  #routes: Map<NodeId, NodeId> | undefined;

  constructor(self: NodeId) {
    this.self = self;
  }

  /** Stores a newer advertisement; false for one already known or older (not to be re-flooded). */
  accept(lsa: Lsa, now: number): boolean {
    const known = this.#lsas.get(lsa.origin);
    if (known !== undefined && !newer(lsa, known.lsa)) return false;
    this.#lsas.set(lsa.origin, { lsa, received: now });
    this.#routes = undefined;
    return true;
  }

  /** Whether `lsa` would be stored: newer than the one held (checked before its signature is). */
  isNewer(lsa: Lsa): boolean {
    const known = this.#lsas.get(lsa.origin);
    return known === undefined || newer(lsa, known.lsa);
  }

  /** Forgets a node's advertisement (a removed node). */
  drop(origin: NodeId): boolean {
    if (!this.#lsas.delete(origin)) return false;
    this.#routes = undefined;
    return true;
  }

  get(origin: NodeId): Lsa | undefined {
    return this.#lsas.get(origin)?.lsa;
  }
  all(): IterableIterator<Lsa> {
    return [...this.#lsas.values()].map((e) => e.lsa).values();
  }

  /** Drops advertisements not refreshed for maxAge (their origin is gone or cut off). */
  expire(now: number, maxAgeMs: number): NodeId[] {
    const gone: NodeId[] = [];
    for (const [origin, e] of this.#lsas) {
      if (origin !== this.self && now - e.received > maxAgeMs) {
        this.#lsas.delete(origin);
        gone.push(origin);
      }
    }
    if (gone.length > 0) this.#routes = undefined;
    return gone;
  }

  /** Next hop for every reachable node (BFS; ties broken by node ID so all nodes agree). */
  routes(): Map<NodeId, NodeId> {
    if (this.#routes !== undefined) return this.#routes;
    const next = new Map<NodeId, NodeId>();
    const visited = new Set<NodeId>([this.self]);
    let frontier: NodeId[] = [this.self];
    while (frontier.length > 0) {
      const following: NodeId[] = [];
      for (const node of frontier) {
        for (const neighbour of this.neighbours(node)) {
          if (visited.has(neighbour)) continue;
          visited.add(neighbour);
          next.set(neighbour, node === this.self ? neighbour : next.get(node)!);
          following.push(neighbour);
        }
      }
      frontier = following;
    }
    this.#routes = next;
    return next;
  }

  reachable(node: NodeId): boolean {
    return node === this.self || this.routes().has(node);
  }

  /** Links both ends advertise: a half-known link is not used. */
  neighbours(node: NodeId): NodeId[] {
    const lsa = this.#lsas.get(node)?.lsa;
    if (lsa === undefined) return [];
    return lsa.links.filter((other) => this.#lsas.get(other)?.lsa.links.includes(node)).sort();
  }

  /** Whether every reachable node stays reachable without the link self<->peer. */
  connectedWithout(peer: NodeId): boolean {
    const before = this.routes().size;
    const visited = new Set<NodeId>([this.self]);
    const stack = [this.self];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const n of this.neighbours(node)) {
        if ((node === this.self && n === peer) || (node === peer && n === this.self) || visited.has(n)) continue;
        visited.add(n);
        stack.push(n);
      }
    }
    return visited.size - 1 >= before;
  }
}

function newer(a: Lsa, b: Lsa): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
}
