// A deterministic network simulator for the mesh: one fake clock, seeded randomness, links with
// per-direction FIFO delivery and random delay (like TCP), and faults: link cuts, partitions
// and node deaths. No sockets, no real time.

import type { Scheduler } from '../../src/router/scheduler.ts';
import { Router } from '../../src/router/router.ts';
import { MeshNode, type FrameSendResult, type LinkDriver } from '../../src/mesh/routing/node.ts';
import type { MeshConfig } from '../../src/mesh/config.ts';
import { decodeEnvelope, encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import type { NodeId, OutgoingFrame } from '../../src/mesh/routing/frames.ts';
import { Replicator } from '../../src/mesh/replication/replicator.ts';
import { attachSecurity, createSecurity, type Security } from '../../src/security/index.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { MeshTrust } from '../../src/mesh/trust/membership.ts';
import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import type { Logger } from '../../src/log.ts';
import type { Authorizer } from '../../src/router/auth.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** mulberry32: small, fast, good enough to drive a simulation from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimClock implements Scheduler {
  now = 1_700_000_000_000;
  #seq = 0;
  readonly #queue: { at: number; seq: number; fn: () => void }[] = [];
  readonly #cancelled = new Set<number>();

  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#push({ at: this.now + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.#cancelled.add(handle as number);
  }

  /** Runs everything due up to now + ms, in time order. */
  run(ms: number): void {
    const until = this.now + ms;
    while (this.#queue.length > 0 && this.#queue[0]!.at <= until) {
      const item = this.#pop();
      this.now = Math.max(this.now, item.at);
      if (this.#cancelled.delete(item.seq)) continue;
      item.fn();
    }
    this.now = until;
  }

  #push(item: { at: number; seq: number; fn: () => void }): void {
    // Binary insertion keeps the queue ordered by (at, seq): deterministic order for equal times.
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.#queue[mid]!;
      if (m.at < item.at || (m.at === item.at && m.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, item);
  }

  #pop() {
    return this.#queue.shift()!;
  }
}

export interface SimNode {
  id: NodeId;
  router: Router;
  mesh: MeshNode;
  alive: boolean;
  /** Who belongs to the mesh, as this node sees it; the simulated handshake asks it (admitPeer). */
  trust: MeshTrust;
  security?: Security;
  db?: Db;
}

export class SimNetwork {
  readonly clock = new SimClock();
  readonly random: () => number;
  readonly nodes = new Map<NodeId, SimNode>();
  /** Which pairs could talk at all (same segment); mDNS-style discovery finds exactly these. */
  readonly reach = new Map<NodeId, Set<NodeId>>();
  readonly #links = new Set<string>();
  /** Links that lose every frame without closing (a pulled cable, Wi-Fi out of range). */
  readonly #stalled = new Set<string>();
  /** Extra one-way delay per direction "from>to" (a slow path: a busy board, Wi-Fi). */
  readonly #slow = new Map<string, number>();
  /** Per link, how many times it was opened: a frame sent on an earlier link is not delivered on a later one. */
  readonly #generation = new Map<string, number>();
  readonly #lastDelivery = new Map<string, number>();
  readonly errors: string[] = [];
  /** Links refused at the simulated handshake, as "from->to: code: reason". */
  readonly refusals: string[] = [];
  /** Sees every frame sent (before it travels): to record what an honest node sends. */
  tap: ((from: NodeId, to: NodeId, frame: OutgoingFrame) => void) | undefined;
  /** Changes frames as they are sent: what a malicious member on a path can do to what it passes on. */
  rewrite: ((from: NodeId, to: NodeId, frame: OutgoingFrame) => OutgoingFrame) | undefined;
  /** Warnings and errors the nodes logged, as "node: message" (info and debug are not kept). */
  readonly warnings: string[] = [];
  readonly #config: Partial<MeshConfig>;
  #tickTimer = false;

  readonly #replicate: boolean;
  /** The largest encoded frame each node accepts (its link hello's "max"); unlimited if absent. */
  readonly maxFrameBytes = new Map<NodeId, number>();
  /** Frames not sent because they exceeded the receiver's maxFrameBytes, as "from>to:t". */
  readonly oversize: string[] = [];

  /** With `replicate`, every node has its own SQLite security store, replicated over the mesh. */
  constructor(seed: number, config: Partial<MeshConfig> = {}, options: { replicate?: boolean } = {}) {
    this.random = seededRandom(seed);
    this.#replicate = options.replicate === true;
    this.#config = { lsaRefreshMs: 5_000, lsaMaxAgeMs: 20_000, dialBackoffMs: 200, ...config };
  }

  /** Adds a node; `key`: its node key (a new one by default), `secretJoin` as the config's. */
  addNode(id: NodeId, options: { key?: NodeKey; secretJoin?: boolean; authorizer?: Authorizer } = {}): SimNode {
    const clock = this.clock;
    const logger = this.#logger(id);
    const trust = new MeshTrust({
      self: id,
      key: options.key ?? NodeKey.generate(),
      secretJoin: options.secretJoin ?? true,
      now: () => clock.now,
      logger,
    });
    const router = new Router({
      realms: [{ uri: 'realm1', anonymous: true }],
      now: () => clock.now,
      scheduler: clock,
      random: this.random,
      ...(options.authorizer !== undefined && { authorizer: options.authorizer }),
    });
    const driver: LinkDriver = {
      connect: (peer) => this.#connect(id, peer),
      disconnect: (peer) => this.#cut(id, peer),
      send: (peer, frame) => this.#send(id, peer, frame),
    };
    let replicator: Replicator | undefined;
    let security: Security | undefined;
    let db: Db | undefined;
    if (this.#replicate) {
      db = openDatabase(fs.mkdtempSync(path.join(os.tmpdir(), `wampmesh-sim-${id}-`)));
      // Cheap hashing: the simulation is about replication, not password strength.
      security = createSecurity(db, {
        now: () => clock.now,
        hashing: {
          ticket: { memory: 1024, iterations: 1 },
          wampcra: { iterations: 1000, keylen: 32 },
          scram: { kdf: 'pbkdf2', argon2: { memory: 1024, iterations: 1 }, pbkdf2Iterations: 4096 },
        },
      });
      replicator = new Replicator({
        node: id,
        db,
        store: security.store,
        now: () => clock.now,
        antiEntropyMs: 2_000,
        trust,
        logger,
      });
    }
    if (security !== undefined) attachSecurity(router, security);
    const mesh = new MeshNode({
      id,
      router,
      driver,
      config: this.#config,
      random: this.random,
      trust,
      logger,
      ...(replicator !== undefined && { replicator }),
    });
    const node: SimNode = {
      id,
      router,
      mesh,
      trust,
      alive: true,
      ...(security !== undefined && { security }),
      ...(db !== undefined && { db }),
    };
    this.nodes.set(id, node);
    if (!this.reach.has(id)) this.reach.set(id, new Set());
    if (!this.#tickTimer) {
      this.#tickTimer = true;
      this.#scheduleTicks();
    }
    return node;
  }

  /** Makes two nodes able to reach each other, and lets discovery find them. */
  connectSegment(a: NodeId, b: NodeId): void {
    this.reach.get(a)!.add(b);
    this.reach.get(b)!.add(a);
    this.nodes.get(a)!.mesh.peerDiscovered(b);
    this.nodes.get(b)!.mesh.peerDiscovered(a);
  }

  /** Cuts a link (both ends notice after a short delay, as with a TCP reset). */
  cutLink(a: NodeId, b: NodeId): void {
    this.#cut(a, b);
  }

  /** Separates two groups physically: existing links between them drop, new dials fail. */
  partition(a: NodeId, b: NodeId): void {
    this.reach.get(a)!.delete(b);
    this.reach.get(b)!.delete(a);
    this.#cut(a, b);
    // As mDNS would once the records expire.
    this.nodes.get(a)!.mesh.peerLost(b);
    this.nodes.get(b)!.mesh.peerLost(a);
  }

  /**
   * A silent failure: the link stays up at both ends but every frame on it is lost, in flight
   * or later, and no new dial between them succeeds, until heal(). Nobody is told.
   */
  stall(a: NodeId, b: NodeId): void {
    this.#stalled.add(linkKey(a, b));
    this.reach.get(a)!.delete(b);
    this.reach.get(b)!.delete(a);
  }

  heal(a: NodeId, b: NodeId): void {
    this.#stalled.delete(linkKey(a, b));
    this.reach.get(a)!.add(b);
    this.reach.get(b)!.add(a);
  }

  /** Adds ms to every frame from a to b (and b to a), in order, like a slow path. */
  slow(a: NodeId, b: NodeId, ms: number): void {
    this.#slow.set(`${a}>${b}`, ms);
    this.#slow.set(`${b}>${a}`, ms);
  }

  kill(id: NodeId): void {
    const node = this.nodes.get(id)!;
    node.alive = false;
    for (const link of [...this.#links]) {
      const [x, y] = link.split('|') as [NodeId, NodeId];
      if (x === id || y === id) this.#cut(x, y);
    }
    for (const other of this.reach.get(id)!) this.nodes.get(other)?.mesh.peerLost(id);
  }

  /** Sends a frame from `from` to its neighbour `to` as is: what a malicious member can put on its links. */
  inject(from: NodeId, to: NodeId, frame: OutgoingFrame): FrameSendResult {
    return this.#send(from, to, frame);
  }

  #logger(id: NodeId): Logger {
    const keep = (obj: object, msg?: string) => this.warnings.push(`${id}: ${msg ?? ''} ${JSON.stringify(obj)}`);
    const logger: Logger = { debug: () => {}, info: () => {}, warn: keep, error: keep, child: () => logger };
    return logger;
  }

  hasLink(a: NodeId, b: NodeId): boolean {
    return this.#links.has(linkKey(a, b));
  }
  links(): [NodeId, NodeId][] {
    return [...this.#links].map((l) => l.split('|') as [NodeId, NodeId]);
  }

  run(ms: number): void {
    this.clock.run(ms);
  }

  #delay(): number {
    return 1 + Math.floor(this.random() * 5);
  }

  #connect(from: NodeId, to: NodeId): void {
    const a = this.nodes.get(from)!;
    const b = this.nodes.get(to);
    this.clock.setTimeout(() => {
      if (!a.alive) return;
      if (b === undefined || !b.alive || !this.reach.get(from)!.has(to)) return a.mesh.dialFailed(to);
      if (this.#links.has(linkKey(from, to))) return a.mesh.linkUp(to);
      // As the link handshake does once both proved the cluster secret and their keys: each
      // side asks its membership whether the other may link (links/connection.ts).
      const refusal = b.trust.admitPeer(from, a.trust.key.publicKey) ?? a.trust.admitPeer(to, b.trust.key.publicKey);
      if (refusal !== undefined) {
        this.refusals.push(`${from}->${to}: ${refusal.code}: ${refusal.reason}`);
        return a.mesh.dialFailed(to);
      }
      this.#links.add(linkKey(from, to));
      this.#generation.set(linkKey(from, to), (this.#generation.get(linkKey(from, to)) ?? 0) + 1);
      this.#lastDelivery.delete(`${from}>${to}`);
      this.#lastDelivery.delete(`${to}>${from}`);
      a.mesh.linkUp(to);
      b.mesh.linkUp(from);
    }, this.#delay());
  }

  #cut(a: NodeId, b: NodeId): void {
    if (!this.#links.delete(linkKey(a, b))) return;
    this.#stalled.delete(linkKey(a, b));
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const n = this.nodes.get(x)!;
      this.clock.setTimeout(() => {
        if (n.alive) n.mesh.linkDown(y);
      }, this.#delay());
    }
  }

  #send(from: NodeId, to: NodeId, frame: OutgoingFrame): FrameSendResult {
    if (!this.#links.has(linkKey(from, to))) return 'failed';
    this.tap?.(from, to, frame);
    if (this.rewrite !== undefined) frame = this.rewrite(from, to, frame);
    // Through CBOR, as on the wire: catches anything that would not survive encoding.
    const bytes = encodeEnvelope([frame]);
    // As MeshLinks does: a frame over the receiver's limit is not sent, and the link stays up.
    if (bytes.length > (this.maxFrameBytes.get(to) ?? Infinity)) {
      this.oversize.push(`${from}>${to}:${frame.t}`);
      return 'too-large';
    }
    const dir = `${from}>${to}`;
    const key = linkKey(from, to);
    if (this.#stalled.has(key)) return 'sent';
    const generation = this.#generation.get(key);
    const at = Math.max(this.clock.now + this.#delay() + (this.#slow.get(dir) ?? 0), this.#lastDelivery.get(dir) ?? 0);
    this.#lastDelivery.set(dir, at);
    this.clock.setTimeout(() => {
      const target = this.nodes.get(to)!;
      if (!target.alive || this.#generation.get(key) !== generation || !this.#links.has(key) || this.#stalled.has(key))
        return;
      const problem = target.mesh.receive(from, (decodeEnvelope(bytes, to) as unknown[])[0]);
      if (problem !== undefined) {
        // As MeshLinks does: the link with a peer that sent an invalid frame is closed.
        this.errors.push(`${to} rejected a frame from ${from}: ${problem}`);
        this.#cut(from, to);
      }
    }, at - this.clock.now);
    return 'sent';
  }

  #scheduleTicks(): void {
    this.clock.setTimeout(() => {
      for (const n of this.nodes.values()) if (n.alive) n.mesh.tick(this.clock.now);
      this.#scheduleTicks();
    }, 100);
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** n nodes on a random spanning tree (the network stays connected) plus `extra` random segments. */
export function randomTopology(net: SimNetwork, n: number, extra: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `n${String(i).padStart(2, '0')}`);
  for (const id of ids) net.addNode(id);
  // A random spanning tree keeps the physical network connected; extra edges add cycles.
  for (let i = 1; i < n; i++) net.connectSegment(ids[i]!, ids[Math.floor(net.random() * i)]!);
  for (let e = 0; e < extra; e++) {
    const a = ids[Math.floor(net.random() * n)]!;
    const b = ids[Math.floor(net.random() * n)]!;
    if (a !== b) net.connectSegment(a, b);
  }
  return ids;
}
