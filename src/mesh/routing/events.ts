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
//
// The origin encodes an event once and the nodes on the way pass its octets on as they came; the
// publications of one tick leave together, with a seal per destination that binds them to the
// origin (event-seal.ts; it rides with the batch's first event for that destination), checked at
// the destination before an event takes its number.

import type { Logger } from '../../log.ts';
import type { EventRouting } from '../../router/broker.ts';
import type { StoredEvent } from '../../router/event-store.ts';
import type { Federation } from '../../router/federation.ts';
import type { Scheduler } from '../../router/scheduler.ts';
import { LogThrottle } from '../../log-throttle.ts';
import type { Subscribers } from './advertise.ts';
import { EventCustody, type CustodyLimits, type Received } from './event-custody.ts';
import { InOrder, type OrderCounters, type OrderLimits } from './event-order.ts';
import { OutageStore, type EventBody, type OutageLimits } from './event-outage.ts';
import { HEADER_BYTES, OriginBatches, type Target } from './event-batches.ts';
import { SealCheck, type Verdict } from './event-seal.ts';
import type { AckFrame, EventFrame, NodeId, Seal } from './frames.ts';
import { decodeEventContent, encodeEventContent, type EventContent } from './event-content.ts';
import type { OriginIdentities } from './origin-identity.ts';
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
  /** Binds events to their origin nodes (mesh trust on): seals; without it they pass unchecked. */
  readonly identities?: OriginIdentities | undefined;
  /** Runs `fn` once the current work is done, before the links write it (the tick's publications leave together). */
  soon(fn: () => void): void;
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

/** An event (or skip) for this node, as it arrived. */
interface Arrival {
  readonly peer: NodeId;
  readonly body: EventBody;
  readonly seq: number;
  readonly life: number;
}

export class EventSpreader {
  readonly #ctx: EventContext;
  readonly #custody: EventCustody;
  readonly #order: InOrder<EventBody>;
  readonly #outage: OutageStore;
  readonly #dropLog: LogThrottle;
  readonly #dropped = new Map<string, number>();
  /** Events refused here because they were not their origin's (forged, altered, unsealed). */
  refusedIdentities = 0;
  #subscribers: Subscribers = new Map();
  readonly #seals: SealCheck<Arrival> | undefined;
  readonly #batches: OriginBatches;

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
    const ids = ctx.identities;
    this.#seals = ids === undefined ? undefined : new SealCheck(ctx.self, (node) => ids.keyWith(node), ctx.limits);
    this.#batches = new OriginBatches(ctx, (body, targets, bytes, now) =>
      this.#forward(body, ctx.limits.eventTtl, targets, undefined, bytes, now),
    );
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
    const { dsts, seqs, lives, ttl, ls: _ls, seals, ...body } = frame;
    const onward: Target[] = [];
    for (let i = 0; i < dsts.length; i++) {
      const dst = dsts[i]!;
      const seal = seals?.[i] ?? undefined;
      if (dst !== self) onward.push({ dst, seq: seqs[i]!, life: lives[i]!, seal });
      else this.#arrived({ peer, body, seq: seqs[i]!, life: lives[i]! }, seal, now);
    }
    if (onward.length > 0) {
      if (ttl <= 0) this.#drop(onward.length, 'eventTtl');
      // Never more than our own limit: a neighbour's large ttl must not lengthen a loop.
      else this.#forward(body, Math.min(ttl, this.#ctx.limits.eventTtl) - 1, onward, entry, bytesOf(body, onward));
    }
    this.#custody.done(entry);
    return undefined;
  }

  ack(peer: NodeId, frame: AckFrame): undefined {
    this.#custody.ack(peer, frame.r, frame.c, frame.x);
    return undefined;
  }

  /** A publication made here (after its delivery here): it leaves with the others of this tick (event-batches.ts). */
  publish(realm: string, event: StoredEvent, routing: EventRouting): void {
    const { excluded, filter, retain } = routing;
    const routes = this.#ctx.routes();
    let dsts: NodeId[];
    if (retain) {
      // Retained events are kept by every node, so a subscriber anywhere gets them later.
      dsts = [...routes.keys()];
    } else {
      const nodes = new Set<NodeId>();
      for (const set of this.#subscribers.get(realm)?.all(event.topic) ?? []) for (const n of set) nodes.add(n);
      dsts = [...nodes];
    }
    if (dsts.length === 0) return;
    const content: EventContent = {
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
    let b: Uint8Array;
    try {
      b = encodeEventContent(content);
    } catch (error) {
      this.#ctx.logger.error({ topic: event.topic, err: (error as Error).message }, 'mesh event cannot be encoded');
      this.#drop(dsts.length, 'unencodable');
      return;
    }
    this.#batches.add(b, dsts);
  }

  linkUp(peer: NodeId): void {
    this.#custody.linkUp(peer);
  }

  /** After the routes no longer use the link: its unacknowledged copies go the new ways. */
  linkDown(peer: NodeId): void {
    const now = this.#ctx.now();
    for (const copy of this.#custody.linkDown(peer)) {
      const { dsts, seqs, lives, ttl, ls: _ls, seals, ...body } = copy.frame;
      this.#forward(
        body,
        ttl,
        dsts.map((dst, i) => ({ dst, seq: seqs[i]!, life: lives[i]!, seal: seals?.[i] ?? undefined })),
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
        this.#forward(
          held.body,
          held.ttl,
          [{ dst, seq: held.seq, life: held.life, seal: held.seal }],
          undefined,
          held.bytes,
          now,
        );
    }
  }

  /** Expiry and hold-back; returns the links to declare dead (copies unreceived for unackedDeadMs). */
  tick(now: number): NodeId[] {
    this.#custody.expire(now);
    this.#outage.expire(now);
    this.#order.tick(now);
    this.#seals?.expire(now, (w) =>
      this.#refuse(w.item, 'unsealed', `no seal of its origin's came for it within ${this.#ctx.limits.holdbackMs} ms`),
    );
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

  /** One copy per next hop; destinations no route reaches are kept (OutageStore). */
  #forward(
    body: EventBody,
    ttl: number,
    targets: readonly Target[],
    parent: Received | undefined,
    bytes: number,
    now = this.#ctx.now(),
  ): void {
    const routes = this.#ctx.routes();
    const byHop = new Map<NodeId, Target[]>();
    for (const target of targets) {
      const hop = routes.get(target.dst);
      if (hop === undefined) {
        this.#outage.hold(target.dst, {
          body,
          seq: target.seq,
          life: target.life,
          seal: target.seal,
          ttl,
          bytes,
          at: now,
        });
        continue;
      }
      let list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, (list = []));
      list.push(target);
    }
    for (const [hop, list] of byHop) {
      const header = {
        dsts: list.map((x) => x.dst),
        seqs: list.map((x) => x.seq),
        lives: list.map((x) => x.life),
        ttl,
        ...(list.some((x) => x.seal !== undefined) && { seals: list.map((x) => x.seal ?? null) }),
      };
      if (this.#custody.send(hop, { ...body, ...header }, bytes, now, parent) === 'too-large') {
        this.#drop(list.length, 'tooLarge');
        // The numbers go on without the event (and with its seals, which cover the batch's
        // others too), so that the destinations skip them rather than wait (they believe a skip
        // only of an event its seal says is that large).
        this.#custody.send(hop, { t: 'event', src: body.src, ep: body.ep, ...header, skip: true }, 64, now, parent);
      }
    }
  }

  /**
   * An event or skip for this node, with the seal numbered just before it if one rides with it:
   * the seal first (its number taken), then the event, checked against its origin's seal before
   * it takes its number.
   */
  #arrived(arrival: Arrival, seal: Seal | undefined, now: number): void {
    const check = this.#seals;
    const { body, seq, life } = arrival;
    const sealed: Arrival | undefined =
      seal === undefined ? undefined : { ...arrival, body: { t: 'event', src: body.src, ep: body.ep }, seq: seq - 1 };
    if (check === undefined) {
      // Trust off here: the seal's number is taken all the same.
      if (sealed !== undefined) this.#toOrder(sealed, now);
      return this.#toOrder(arrival, now);
    }
    if (seal !== undefined && sealed !== undefined) {
      const problem = check.seal(body.src, body.ep, life, seq - 1, seal, (w, verdict) =>
        this.#checked(w.item, verdict, now),
      );
      if (problem === undefined) this.#toOrder(sealed, now);
      // The event itself then waits for a seal of its origin's, as one that came without.
      else if (problem !== 'stale') this.#refuse(sealed, 'seal', problem);
    }
    const verdict = check.check(body.src, body.ep, life, seq, body.b);
    if (verdict !== 'wait') this.#checked(arrival, verdict, now);
    else if (!check.hold(body.src, body.ep, life, { seq, b: body.b, item: arrival, at: now }))
      this.#refuse(
        arrival,
        'unsealed',
        'too many events are waiting for their seals (holdbackEvents, outageHoldBytes)',
      );
  }

  #checked(arrival: Arrival, verdict: Verdict, now: number): void {
    if (verdict === 'ok') this.#toOrder(arrival, now);
    else if (verdict === 'duplicate') this.#order.duplicate();
    else if (verdict !== 'stale' && verdict !== 'wait')
      this.#refuse(arrival, arrival.body.skip === true ? 'skip' : 'event', verdict);
  }

  #toOrder(arrival: Arrival, now: number): void {
    const { body, seq, life } = arrival;
    if (life === this.#ctx.epoch)
      this.#order.accept(body.src, body.ep, seq, body.skip === true ? undefined : body, now);
    else if (body.b !== undefined) this.#order.unordered(body);
  }

  /** Counted; logged at most once per dropLogIntervalMs per neighbour and kind (a forged seal, event, skip; unsealed). */
  #refuse(arrival: Arrival, kind: string, problem: string): void {
    this.refusedIdentities++;
    const { peer, body } = arrival;
    if (this.#dropLog.admit(`refused\u0000${kind}\u0000${peer}`, this.#ctx.now()) !== undefined)
      this.#ctx.logger.warn({ peer, src: body.src, seq: arrival.seq }, `mesh: event refused: ${problem}`);
  }

  #deliver(body: EventBody): void {
    if (body.b === undefined) return; // a seal's number
    const content = decodeEventContent(body.b);
    if (typeof content === 'string') {
      // Its origin sealed it (or trust is off): the neighbour that passed it on is not at fault.
      this.#drop(1, 'invalid');
      if (this.#dropLog.admit(`invalid\u0000${body.src}`, this.#ctx.now()) !== undefined)
        this.#ctx.logger.warn({ src: body.src, problem: content }, 'mesh: invalid event from its origin dropped');
      return;
    }
    const event: StoredEvent = {
      topic: content.topic,
      publication: content.publication,
      timestamp: content.timestamp,
      details: content.details,
      ...(content.args !== undefined && { args: content.args }),
      ...(content.kwargs !== undefined && { kwargs: content.kwargs }),
      ...(content.filter !== undefined && { filter: content.filter }),
    };
    this.#ctx.federation.event(content.realm, event, {
      excluded: content.excluded,
      filter: content.filter,
      retain: content.retain,
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

/** Octets custody counts for a copy (its event's, its seals', and the rest roughly). */
function bytesOf(body: EventBody, targets: readonly Target[]): number {
  let bytes = HEADER_BYTES + (body.b?.length ?? 0);
  for (const { seal } of targets) if (seal !== undefined) bytes += seal[0].length + seal[1].length;
  return bytes;
}
