// Events across the mesh. A publication made here goes to the nodes with a matching
// subscription (every node, for a retained one: each keeps it for later subscribers), along the
// shortest-path tree: one copy per next hop, each carrying the destinations behind that hop.
//
// Delivery contract (README "Mesh"): each hop keeps a copy until the next hops have it safely
// (event-custody.ts) and spreads it again over the new routes when a link dies; a destination
// no route reaches gets its events kept for a while (event-outage.ts); the destination delivers
// each origin's events once and in order (event-order.ts). Transit nodes do not de-duplicate: a
// copy spread again must pass a node that saw the first one. A hop limit (ttl) ends a copy
// caught in a routing loop while advertisements spread.

import type { Logger } from '../../log.ts';
import type { EventRouting } from '../../router/broker.ts';
import type { StoredEvent } from '../../router/event-store.ts';
import type { Federation } from '../../router/federation.ts';
import type { Scheduler } from '../../router/scheduler.ts';
import { LogThrottle } from '../log-throttle.ts';
import type { Subscribers } from './advertise.ts';
import { EventCustody, type CustodyLimits, type Received } from './event-custody.ts';
import { InOrder, type OrderCounters, type OrderLimits } from './event-order.ts';
import { OutageStore, type EventBody, type OutageLimits } from './event-outage.ts';
import type { AckFrame, EventFrame, NodeId } from './frames.ts';
import { eventDetailsFor, type OriginIdentities } from './origin-identity.ts';
import type { Publisher } from '../../router/broker.ts';
import type { LinkDriver } from './link-driver.ts';

export interface EventLimits extends CustodyLimits, OrderLimits, OutageLimits {
  /** Hops a copy may take. */
  readonly eventTtl: number;
  /** A link whose copies stay unreceived this long is dead, though heartbeats may still pass. */
  readonly unackedDeadMs: number;
  /** Drops are logged at most this often per reason, with a count. */
  readonly dropLogIntervalMs: number;
}

export interface EventContext {
  readonly self: NodeId;
  /** This node's epoch (its LSA epoch): numbering restarts with it. */
  readonly epoch: number;
  readonly driver: LinkDriver;
  readonly federation: Federation;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  now(): number;
  /** Next hop per reachable node. */
  routes(): ReadonlyMap<NodeId, NodeId>;
  /** A known node's epoch (from its advertisement). */
  epochOf(node: NodeId): number | undefined;
  readonly limits: EventLimits;
  /** Binds publishers to their nodes (mesh trust on); without it they pass unchecked. */
  readonly identities?: OriginIdentities | undefined;
}

/** Event delivery as `mesh status` shows it (README "Mesh"). */
export interface EventStatus {
  /** Copies sent and not yet safely through the next hops, and their octets (roughly). */
  readonly unacked: number;
  readonly unackedBytes: number;
  /** Events kept for destinations no route reaches. */
  readonly outageHeld: number;
  readonly outageHeldBytes: number;
  /** Events received here, held back behind a missing earlier one. */
  readonly heldBack: number;
  /** Here as a destination: numbers skipped, events delivered unordered, duplicates dropped, events ever held back, numbers given up, stale copies. */
  readonly order: OrderCounters;
  /** Copies dropped here since start, by reason (the bound that was hit, tooLarge, eventTtl). */
  readonly dropped: Readonly<Record<string, number>>;
}

/** Lives (epochs) per destination whose numbering is kept. */
const LIVES_KEPT = 4;

interface Target {
  readonly dst: NodeId;
  readonly seq: number;
  readonly life: number;
}

export class EventSpreader {
  readonly #ctx: EventContext;
  readonly #custody: EventCustody;
  readonly #order: InOrder<EventBody>;
  readonly #outage: OutageStore;
  readonly #dropLog: LogThrottle;
  /**
   * Per destination and life (epoch) of it: the number of the last event addressed to it. A few
   * lives each: a false advertisement of a node's epoch, once gone, must not restart the
   * numbering of its real life (the destination would drop the new numbers as duplicates).
   */
  readonly #numbered = new Map<NodeId, Map<number, number>>();
  readonly #dropped = new Map<string, number>();
  /** Events refused here because their publisher was not bound to their origin. */
  refusedIdentities = 0;
  #subscribers: Subscribers = new Map();

  constructor(ctx: EventContext) {
    this.#ctx = ctx;
    const dropped = (count: number, reason: string) => this.#drop(count, reason);
    this.#custody = new EventCustody({
      driver: ctx.driver,
      scheduler: ctx.scheduler,
      limits: ctx.limits,
      forgotten: dropped,
    });
    this.#order = new InOrder(ctx.limits, (body) => this.#deliver(body));
    this.#outage = new OutageStore(ctx.limits, dropped);
    this.#dropLog = new LogThrottle(ctx.limits.dropLogIntervalMs);
  }

  /** Who subscribes to what, as the known nodes advertise it (reachable or not). */
  set subscribers(subscribers: Subscribers) {
    this.#subscribers = subscribers;
  }

  /** An event frame from a neighbour: delivered here if this node is a destination, spread on; a string closes the link. */
  receive(peer: NodeId, frame: EventFrame): string | undefined {
    const self = this.#ctx.self;
    const now = this.#ctx.now();
    const entry = this.#custody.received(peer, frame.ls);
    if (typeof entry === 'string') return entry;
    const { dsts, seqs, lives, ttl, ls: _ls, ...body } = frame;
    const onward: Target[] = [];
    for (let i = 0; i < dsts.length; i++) {
      const dst = dsts[i]!;
      if (dst !== self) onward.push({ dst, seq: seqs[i]!, life: lives[i]! });
      else if (!this.#fromItsOrigin(peer, body)) continue;
      else if (lives[i] === this.#ctx.epoch)
        this.#order.accept(frame.src, frame.ep, seqs[i]!, frame.skip === true ? undefined : body, now);
      else if (frame.skip !== true) this.#order.unordered(body);
    }
    if (onward.length > 0) {
      if (ttl <= 0) this.#drop(onward.length, 'eventTtl');
      // Never more than our own limit: a neighbour's large ttl must not lengthen a loop.
      else this.#forward(body, Math.min(ttl, this.#ctx.limits.eventTtl) - 1, onward, entry, sizeOf(body));
    }
    this.#custody.done(entry);
    return undefined;
  }

  ack(peer: NodeId, frame: AckFrame): undefined {
    this.#custody.ack(peer, frame.r, frame.c, frame.x);
    return undefined;
  }

  /** A publication made here (after its delivery here). */
  publish(realm: string, event: StoredEvent, routing: EventRouting, publisher: Publisher): void {
    const { excluded, filter, retain } = routing;
    const routes = this.#ctx.routes();
    let dsts: Iterable<NodeId>;
    if (retain) {
      // Retained events are kept by every node, so a subscriber anywhere gets them later.
      dsts = routes.keys();
    } else {
      const nodes = new Set<NodeId>();
      for (const set of this.#subscribers.get(realm)?.all(event.topic) ?? []) for (const n of set) nodes.add(n);
      dsts = nodes;
    }
    const targets: Target[] = [];
    for (const dst of dsts) {
      const life = this.#ctx.epochOf(dst) ?? 0;
      let lives = this.#numbered.get(dst);
      if (lives === undefined) this.#numbered.set(dst, (lives = new Map()));
      const seq = (lives.get(life) ?? 0) + 1;
      lives.set(life, seq);
      if (lives.size > LIVES_KEPT) lives.delete(lives.keys().next().value!);
      targets.push({ dst, seq, life });
    }
    if (targets.length === 0) return;
    const unbound: EventBody = {
      t: 'event',
      src: this.#ctx.self,
      ep: this.#ctx.epoch,
      realm,
      topic: event.topic,
      publication: event.publication,
      timestamp: event.timestamp,
      details: event.details,
      retain,
      ...(event.args !== undefined && { args: event.args }),
      ...(event.kwargs !== undefined && { kwargs: event.kwargs }),
      ...(excluded !== undefined && { excluded }),
      ...(filter !== undefined && { filter }),
    };
    const body =
      this.#ctx.identities?.bindEvent(
        unbound,
        publisher,
        targets.map((t) => t.dst),
      ) ?? unbound;
    // An event too large for the first hop never left: its numbers are taken back, so the
    // destinations do not wait for it (a transit hop's smaller limit leaves a gap, given up).
    for (const t of this.#forward(body, this.#ctx.limits.eventTtl, targets, undefined, sizeOf(body))) {
      const lives = this.#numbered.get(t.dst);
      if (lives?.get(t.life) === t.seq) lives.set(t.life, t.seq - 1);
    }
  }

  linkUp(peer: NodeId): void {
    this.#custody.linkUp(peer);
  }

  /** After the routes no longer use the link: its unacknowledged copies go the new ways. */
  linkDown(peer: NodeId): void {
    const now = this.#ctx.now();
    for (const copy of this.#custody.linkDown(peer)) {
      const { dsts, seqs, lives, ttl, ls: _ls, ...body } = copy.frame;
      this.#forward(
        body,
        ttl,
        dsts.map((dst, i) => ({ dst, seq: seqs[i]!, life: lives[i]! })),
        copy.parent,
        copy.bytes,
        now,
      );
      this.#custody.done(copy.parent);
    }
  }

  /** Routes changed: what was kept for destinations now reachable goes on, oldest first. */
  topologyChanged(): void {
    const routes = this.#ctx.routes();
    const now = this.#ctx.now();
    for (const dst of [...this.#outage.destinations()]) {
      if (!routes.has(dst)) continue;
      for (const held of this.#outage.take(dst))
        this.#forward(held.body, held.ttl, [{ dst, seq: held.seq, life: held.life }], undefined, held.bytes, now);
    }
  }

  /** Expiry and hold-back; returns the links to declare dead (copies unreceived for unackedDeadMs). */
  tick(now: number): NodeId[] {
    this.#custody.expire(now);
    this.#outage.expire(now);
    this.#order.tick(now);
    return this.#custody.overdue(now, this.#ctx.limits.unackedDeadMs);
  }

  status(): EventStatus {
    const custody = this.#custody.status();
    const outage = this.#outage.status();
    return {
      unacked: custody.unacked,
      unackedBytes: custody.unackedBytes,
      outageHeld: outage.held,
      outageHeldBytes: outage.heldBytes,
      heldBack: this.#order.held,
      order: { ...this.#order.counters },
      dropped: Object.fromEntries(this.#dropped),
    };
  }

  /** One copy per next hop; destinations no route reaches are kept (OutageStore). Returns the targets of copies too large to send. */
  #forward(
    body: EventBody,
    ttl: number,
    targets: readonly Target[],
    parent: Received | undefined,
    bytes: number,
    now = this.#ctx.now(),
  ): Target[] {
    const tooLarge: Target[] = [];
    const routes = this.#ctx.routes();
    const byHop = new Map<NodeId, Target[]>();
    for (const target of targets) {
      const hop = routes.get(target.dst);
      if (hop === undefined) {
        this.#outage.hold(target.dst, { body, seq: target.seq, life: target.life, ttl, bytes, at: now });
        continue;
      }
      let list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, (list = []));
      list.push(target);
    }
    for (const [hop, list] of byHop) {
      const frame = {
        ...body,
        dsts: list.map((x) => x.dst),
        seqs: list.map((x) => x.seq),
        lives: list.map((x) => x.life),
        ttl,
      };
      if (this.#custody.send(hop, frame, bytes, now, parent) === 'too-large') {
        this.#drop(list.length, 'tooLarge');
        tooLarge.push(...list);
        // On the way (the origin takes its numbers back instead): the numbers go on without
        // the event, so that the destinations skip them rather than wait.
        if (parent !== undefined) this.#custody.send(hop, skipOf(frame), 64, now, parent);
      }
    }
    return tooLarge;
  }

  /**
   * Whether an event for subscribers here carries the publisher its origin bound. Checked before
   * its number is taken: a forged copy must not take the place of the real one.
   */
  #fromItsOrigin(peer: NodeId, body: EventBody): boolean {
    const problem = this.#ctx.identities?.eventProblem(body);
    if (problem === undefined) return true;
    this.refusedIdentities++;
    if (this.#dropLog.admit(`identity\u0000${peer}`, this.#ctx.now()) !== undefined)
      this.#ctx.logger.warn(
        { peer, src: body.src, topic: body.topic, who: body.who },
        `mesh: event refused: ${problem}`,
      );
    return false;
  }

  #deliver(body: EventBody): void {
    const event: StoredEvent = {
      topic: body.topic,
      publication: body.publication,
      timestamp: body.timestamp,
      details: this.#ctx.identities === undefined ? body.details : eventDetailsFor(body),
      ...(body.args !== undefined && { args: body.args }),
      ...(body.kwargs !== undefined && { kwargs: body.kwargs }),
      ...(body.filter !== undefined && { filter: body.filter }),
    };
    this.#ctx.federation.event(body.realm, event, {
      excluded: body.excluded,
      filter: body.filter,
      retain: body.retain,
    });
  }

  #drop(count: number, reason: string): void {
    this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + count);
    const suppressed = this.#dropLog.admit(reason, this.#ctx.now());
    if (suppressed === undefined) return;
    this.#ctx.logger.warn(
      { reason, count, total: this.#dropped.get(reason), ...(suppressed > 0 && { alsoDropped: suppressed }) },
      'mesh events dropped',
    );
  }
}

/** The same numbers, no event: what a destination needs to skip them. */
function skipOf(frame: Omit<EventFrame, 'ls'>): Omit<EventFrame, 'ls'> {
  const { args: _a, kwargs: _k, filter: _f, details: _d, ...rest } = frame;
  return { ...rest, details: {}, skip: true };
}

/** Octets an event takes, roughly (its payload and names): bounds memory without encoding it again. */
export function sizeOf(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length + 2;
  if (typeof v !== 'object' || v === null) return 9;
  if (depth > 16) return 16;
  if (v instanceof Uint8Array) return v.byteLength + 4;
  let n = 2;
  if (Array.isArray(v)) for (const x of v) n += sizeOf(x, depth + 1);
  else for (const [k, x] of Object.entries(v)) n += k.length + 2 + sizeOf(x, depth + 1);
  return n;
}
