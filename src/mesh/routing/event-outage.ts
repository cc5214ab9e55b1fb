// Events for a destination no route reaches (a cut with no way round, a neighbour rebooting):
// kept in memory per destination, bounded by count, octets and age, and sent on in order when
// a route returns. Beyond a bound the oldest are dropped and counted: a destination that stays
// away must not hold this node's memory.

import { compact } from './event-custody.ts';
import type { EventFrame, NodeId, Seal } from './frames.ts';

/** An event (or skip) as carried, less what is per copy. */
export type EventBody = Omit<EventFrame, 'dsts' | 'seqs' | 'lives' | 'ls' | 'ttl' | 'seals'>;

export interface Held {
  readonly body: EventBody;
  readonly seq: number;
  readonly life: number;
  /** The seal riding with it, for this destination. */
  readonly seal: Seal | undefined;
  readonly ttl: number;
  readonly bytes: number;
  readonly at: number;
}

export interface OutageLimits {
  readonly outageHoldEvents: number;
  readonly outageHoldBytes: number;
  readonly outageHoldMs: number;
}

interface Queue {
  readonly queue: Held[];
  head: number;
  bytes: number;
}

export class OutageStore {
  readonly #limits: OutageLimits;
  readonly #dropped: (count: number, reason: string) => void;
  readonly #queues = new Map<NodeId, Queue>();

  constructor(limits: OutageLimits, dropped: (count: number, reason: string) => void) {
    this.#limits = limits;
    this.#dropped = dropped;
  }

  hold(dst: NodeId, item: Held): void {
    let q = this.#queues.get(dst);
    if (q === undefined) this.#queues.set(dst, (q = { queue: [], head: 0, bytes: 0 }));
    q.queue.push(item);
    q.bytes += item.bytes;
    let dropped = 0;
    while (q.queue.length - q.head > this.#limits.outageHoldEvents || q.bytes > this.#limits.outageHoldBytes) {
      q.bytes -= q.queue[q.head++]!.bytes;
      dropped++;
    }
    if (dropped > 0) {
      this.#dropped(dropped, 'outageHold');
      compact(q);
    }
  }

  destinations(): IterableIterator<NodeId> {
    return this.#queues.keys();
  }

  /** Everything held for dst, oldest first; dst is forgotten here. */
  take(dst: NodeId): Held[] {
    const q = this.#queues.get(dst);
    if (q === undefined) return [];
    this.#queues.delete(dst);
    return q.queue.slice(q.head);
  }

  expire(now: number): void {
    let dropped = 0;
    for (const [dst, q] of this.#queues) {
      while (q.head < q.queue.length && now - q.queue[q.head]!.at > this.#limits.outageHoldMs) {
        q.bytes -= q.queue[q.head++]!.bytes;
        dropped++;
      }
      if (q.head === q.queue.length) this.#queues.delete(dst);
      else compact(q);
    }
    if (dropped > 0) this.#dropped(dropped, 'outageHoldMs');
  }

  status(): { held: number; heldBytes: number } {
    let held = 0;
    let heldBytes = 0;
    for (const q of this.#queues.values()) {
      held += q.queue.length - q.head;
      heldBytes += q.bytes;
    }
    return { held, heldBytes };
  }
}
