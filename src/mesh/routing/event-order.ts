// Delivery in publisher order at the subscriber's node. Each origin numbers its events per
// destination node (EventFrame.seqs); a copy that arrives ahead of a missing one is held back
// until the gap fills, for at most holdbackMs without progress (or holdbackEvents held), then the
// gap is given up and counted. Numbers already delivered are duplicates (a copy spread again
// after a link failed, or a route flap) and dropped. This, not transit de-duplication, is what
// makes re-sent copies safe: transit nodes pass on every copy, the destination delivers once.
//
// Why hold-back rather than "keep the old path until it drained": copies are spread again by
// whichever node lost a link, and routes switch at every node on the way independently; only
// the destination sees all paths, and it needs no coordination to restore the order.

import type { NodeId } from './frames.ts';

export interface OrderLimits {
  /** How long a gap may hold back later events without progress before it is given up. */
  readonly holdbackMs: number;
  /** Events held back, all origins together; beyond, the gap being held is given up at once. */
  readonly holdbackEvents: number;
  /** Origins whose numbering is remembered; beyond, the least recently heard is forgotten. */
  readonly maxOrigins: number;
}

interface OriginState<T> {
  ep: number;
  next: number;
  readonly held: Map<number, T>;
  /** When the current gap began (or last made progress). */
  waitingSince: number;
}

export interface OrderCounters {
  /** Numbers that carried no event (too large for a link on the way). */
  skipped: number;
  /** Events numbered for another life of this node, delivered as they came (see unordered()). */
  unordered: number;
  duplicates: number;
  heldBack: number;
  gaveUp: number;
  stale: number;
}

export class InOrder<T> {
  readonly #limits: OrderLimits;
  readonly #deliverItem: (item: T) => void;
  readonly #origins = new Map<NodeId, OriginState<T | undefined>>();
  /** Held back over all origins: a neighbour inventing origins must not multiply the bound. */
  #held = 0;
  readonly counters: OrderCounters = { skipped: 0, unordered: 0, duplicates: 0, heldBack: 0, gaveUp: 0, stale: 0 };

  constructor(limits: OrderLimits, deliver: (item: T) => void) {
    this.#limits = limits;
    this.#deliverItem = deliver;
  }

  /** `item` undefined: the number carries no event; it only keeps the order moving. */

  accept(origin: NodeId, ep: number, seq: number, item: T | undefined, now: number): void {
    let st = this.#origins.get(origin);
    if (st !== undefined && ep < st.ep) {
      // From an earlier life of the origin, overtaken by its restart.
      this.counters.stale++;
      return;
    }
    if (st === undefined || ep > st.ep) {
      // The first event heard from this origin (life): it numbers from 1 for this node's life,
      // so a later number waits for the earlier ones like any other gap.
      if (st === undefined && this.#origins.size >= this.#limits.maxOrigins) {
        const [oldest, gone] = this.#origins.entries().next().value!;
        this.#held -= gone.held.size;
        this.#origins.delete(oldest);
      }
      // A restarted origin: what its earlier life left held back is dropped with it.
      if (st !== undefined) this.#held -= st.held.size;
      st = { ep, next: 1, held: new Map(), waitingSince: now };
      this.#origins.set(origin, st);
    } else {
      // Most recently heard last: the map's order is the eviction order.
      this.#origins.delete(origin);
      this.#origins.set(origin, st);
    }
    if (seq < st.next || st.held.has(seq)) {
      this.counters.duplicates++;
      return;
    }
    if (seq > st.next) {
      if (st.held.size === 0) st.waitingSince = now;
      st.held.set(seq, item);
      this.#held++;
      this.counters.heldBack++;
      if (this.#held > this.#limits.holdbackEvents) this.#giveUp(st);
      return;
    }
    this.#deliver(item);
    st.next++;
    st.waitingSince = now;
    this.#drain(st);
  }

  /**
   * An event numbered for another life (epoch) of this node: the origin has not yet seen this
   * node restart, or believes a false advertisement of it. Its number means nothing here, so
   * it is delivered as it comes, without order or de-duplication, rather than lost.
   */
  unordered(item: T): void {
    this.counters.unordered++;
    this.#deliverItem(item);
  }

  /** A copy of an event delivered already, found so before it got here (sealed events: event-seal.ts). */
  duplicate(): void {
    this.counters.duplicates++;
  }

  /** Gives up gaps that have held events back for longer than holdbackMs. */
  tick(now: number): void {
    for (const st of this.#origins.values())
      if (st.held.size > 0 && now - st.waitingSince > this.#limits.holdbackMs) {
        this.#giveUp(st);
        st.waitingSince = now;
      }
  }

  get held(): number {
    return this.#held;
  }

  #deliver(item: T | undefined): void {
    if (item === undefined) this.counters.skipped++;
    else this.#deliverItem(item);
  }

  #giveUp(st: OriginState<T | undefined>): void {
    let lowest = Infinity;
    for (const k of st.held.keys()) if (k < lowest) lowest = k;
    this.counters.gaveUp += lowest - st.next;
    st.next = lowest;
    this.#drain(st);
  }

  #drain(st: OriginState<T | undefined>): void {
    while (st.held.has(st.next)) {
      const item = st.held.get(st.next);
      st.held.delete(st.next);
      this.#held--;
      this.#deliver(item);
      st.next++;
    }
  }
}
