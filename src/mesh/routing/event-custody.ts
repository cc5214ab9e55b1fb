// Hop-by-hop custody of event copies. Every copy sent to a neighbour carries a link number
// (ls) and is kept until the neighbour acknowledges it. The neighbour acknowledges in one small
// frame per link at most every ackDelayMs:
//   r: the highest number received: the link carries data (EventSpreader declares a link dead
//      when copies stay unreceived for unackedDeadMs, long before the idle deadAfterMs);
//   c: the highest number below which every copy is complete: delivered there, or passed on
//      and acknowledged in turn by the next hop, or kept for a destination beyond an outage;
//   x: the copies above c complete since the last acknowledgement. Without them, a copy in a
//      transient routing loop (X to Y and back to X) would wait for its own return trip behind
//      c on both links: a deadlock broken only by expiry, and the copies lost.
// So a copy is forgotten only once the nodes after it have it safely: when a link or a transit
// node dies (even by kill -9, with copies in its own queues), the node before it still holds
// every copy not yet through and spreads them again over the new routes.

import type { Scheduler } from '../../router/scheduler.ts';
import type { EventFrame, NodeId } from './frames.ts';
import type { FrameSendResult, LinkDriver } from './link-driver.ts';

/** A copy received from a neighbour, complete once `pending` (onward copies, +1 while handled) is 0. */
export interface Received {
  readonly ls: number;
  pending: number;
  readonly link: Inbound;
}

/** A copy sent to a neighbour and not yet acknowledged. */
export interface Outstanding {
  readonly frame: EventFrame;
  readonly bytes: number;
  readonly at: number;
  readonly parent: Received | undefined;
  /** Acknowledged out of order (x): released, still in the queue until the head passes it. */
  acked: boolean;
}

interface Inbound {
  readonly peer: NodeId;
  readonly queue: Received[];
  head: number;
  received: number;
  complete: number;
  /** Complete above `complete`, not yet reported (x). */
  selective: number[];
  ackDue: boolean;
  open: boolean;
}

interface Outbound {
  readonly queue: Outstanding[];
  head: number;
  bytes: number;
  /** Highest link number the neighbour has received (r). */
  received: number;
}

export interface CustodyLimits {
  /** Acknowledgements are batched: at most one frame per link per this many ms. */
  readonly ackDelayMs: number;
  /** Octets of unacknowledged copies kept per link; beyond, the oldest are forgotten (counted). */
  readonly linkUnackedBytes: number;
  /** Unacknowledged copies older than this are forgotten (counted). */
  readonly linkUnackedMaxAgeMs: number;
}

export class EventCustody {
  readonly #driver: LinkDriver;
  readonly #scheduler: Scheduler;
  readonly #limits: CustodyLimits;
  readonly #forgotten: (count: number, reason: string) => void;
  readonly #in = new Map<NodeId, Inbound>();
  readonly #out = new Map<NodeId, Outbound>();
  /**
   * Per peer, the last link number used on the current link: 1, 2, 3, ... from linkUp, so the
   * receiver sees a lost copy as a gap, from the first one on.
   */
  readonly #lastLs = new Map<NodeId, number>();

  constructor(options: {
    driver: LinkDriver;
    scheduler: Scheduler;
    limits: CustodyLimits;
    forgotten: (count: number, reason: string) => void;
  }) {
    this.#driver = options.driver;
    this.#scheduler = options.scheduler;
    this.#limits = options.limits;
    this.#forgotten = options.forgotten;
  }

  /** Sends a copy (its ls is set here) and keeps it until acknowledged. */
  send(
    peer: NodeId,
    frame: Omit<EventFrame, 'ls'>,
    bytes: number,
    now: number,
    parent: Received | undefined,
  ): FrameSendResult {
    const ls = (this.#lastLs.get(peer) ?? 0) + 1;
    this.#lastLs.set(peer, ls);
    const sent: EventFrame = { ...frame, ls };
    const result = this.#driver.send(peer, sent);
    if (result === 'too-large') {
      // Not sent: the number is used again, or the neighbour would see a gap.
      this.#lastLs.set(peer, ls - 1);
      return result;
    }
    // 'failed': the link just failed and linkDown follows, which spreads the copy again.
    let out = this.#out.get(peer);
    if (out === undefined) this.#out.set(peer, (out = { queue: [], head: 0, bytes: 0, received: 0 }));
    out.queue.push({ frame: sent, bytes, at: now, parent, acked: false });
    out.bytes += bytes;
    if (parent !== undefined) parent.pending++;
    let evicted = 0;
    while (out.bytes > this.#limits.linkUnackedBytes && out.queue.length - out.head > 1) {
      const e = this.#shift(out);
      if (e === undefined) continue;
      this.done(e.parent);
      evicted++;
    }
    if (evicted > 0) this.#forgotten(evicted, 'linkUnackedBytes');
    return result;
  }

  /**
   * A copy from a neighbour: held open until done() for it and for every onward copy. A string
   * when its number does not follow the last one on this link (the first is 1): copies were
   * lost on it (a cumulative acknowledgement would cover them), so the link must be closed and
   * the neighbour sends them again over the next one.
   */
  received(peer: NodeId, ls: number): Received | string {
    let link = this.#in.get(peer);
    if (link === undefined) this.#in.set(peer, (link = inbound(peer)));
    if (ls !== link.received + 1) return `event: link number ${ls} after ${link.received}`;
    const entry: Received = { ls, pending: 1, link };
    link.queue.push(entry);
    if (ls > link.received) link.received = ls;
    this.#scheduleAck(link);
    return entry;
  }

  done(entry: Received | undefined): void {
    if (entry === undefined || --entry.pending > 0) return;
    const link = entry.link;
    if (!link.open) return;
    if (link.queue[link.head] !== entry) link.selective.push(entry.ls);
    while (link.head < link.queue.length && link.queue[link.head]!.pending <= 0)
      link.complete = link.queue[link.head++]!.ls;
    compact(link);
    this.#scheduleAck(link);
  }

  ack(peer: NodeId, r: number, c: number, x: readonly number[] = []): void {
    const out = this.#out.get(peer);
    if (out === undefined) return;
    if (r > out.received) out.received = r;
    for (const ls of x) {
      const e = out.queue[indexAfter(out, ls - 1)];
      if (e !== undefined && e.frame.ls === ls && !e.acked) {
        e.acked = true;
        out.bytes -= e.bytes;
        this.done(e.parent);
      }
    }
    while (out.head < out.queue.length && out.queue[out.head]!.frame.ls <= c) {
      const e = this.#shift(out);
      if (e !== undefined) this.done(e.parent);
    }
    this.#skipAcked(out);
  }

  /** A new link: numbering on it starts afresh (from 1) on both sides. */
  linkUp(peer: NodeId): void {
    this.#closeInbound(peer);
    this.#lastLs.delete(peer);
  }

  /** The link is gone: returns its unacknowledged copies, oldest first, to be spread again. */
  linkDown(peer: NodeId): Outstanding[] {
    this.#closeInbound(peer);
    this.#lastLs.delete(peer);
    const out = this.#out.get(peer);
    if (out === undefined) return [];
    this.#out.delete(peer);
    return out.queue.slice(out.head).filter((e) => !e.acked);
  }

  /** Links whose oldest copy not yet received is older than deadMs: data flows, nothing arrives. */
  overdue(now: number, deadMs: number): NodeId[] {
    const dead: NodeId[] = [];
    for (const [peer, out] of this.#out) {
      const oldest = out.queue[indexAfter(out, out.received)];
      if (oldest !== undefined && now - oldest.at > deadMs) dead.push(peer);
    }
    return dead;
  }

  /** Forgets copies kept longer than linkUnackedMaxAgeMs. */
  expire(now: number): void {
    let evicted = 0;
    for (const out of this.#out.values()) {
      while (out.head < out.queue.length && now - out.queue[out.head]!.at > this.#limits.linkUnackedMaxAgeMs) {
        const e = this.#shift(out);
        if (e === undefined) continue;
        this.done(e.parent);
        evicted++;
      }
    }
    if (evicted > 0) this.#forgotten(evicted, 'linkUnackedMaxAgeMs');
  }

  status(): { unacked: number; unackedBytes: number } {
    let unacked = 0;
    let unackedBytes = 0;
    for (const out of this.#out.values()) {
      for (let i = out.head; i < out.queue.length; i++) if (!out.queue[i]!.acked) unacked++;
      unackedBytes += out.bytes;
    }
    return { unacked, unackedBytes };
  }

  /** Takes the head off; undefined when it was acknowledged out of order already (released then). */
  #shift(out: Outbound): Outstanding | undefined {
    const e = out.queue[out.head++]!;
    compact(out);
    if (e.acked) return undefined;
    out.bytes -= e.bytes;
    return e;
  }

  #skipAcked(out: Outbound): void {
    while (out.head < out.queue.length && out.queue[out.head]!.acked) out.head++;
    compact(out);
  }

  #closeInbound(peer: NodeId): void {
    const link = this.#in.get(peer);
    if (link === undefined) return;
    link.open = false;
    this.#in.delete(peer);
  }

  #scheduleAck(link: Inbound): void {
    if (link.ackDue) return;
    link.ackDue = true;
    this.#scheduler.setTimeout(() => {
      link.ackDue = false;
      if (!link.open) return;
      const x = link.selective.filter((ls) => ls > link.complete);
      link.selective = [];
      this.#driver.send(link.peer, { t: 'ack', r: link.received, c: link.complete, ...(x.length > 0 && { x }) });
    }, this.#limits.ackDelayMs);
  }
}

function inbound(peer: NodeId): Inbound {
  return { peer, queue: [], head: 0, received: 0, complete: 0, selective: [], ackDue: false, open: true };
}

/** Index of the first entry with a link number above ls (entries are in ls order). */
function indexAfter(out: Outbound, ls: number): number {
  let lo = out.head;
  let hi = out.queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (out.queue[mid]!.frame.ls <= ls) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Queues are arrays read from `head`; the consumed front is cut off once it is most of the array. */
export function compact(q: { queue: unknown[]; head: number }): void {
  if (q.head > 1024 && q.head * 2 > q.queue.length) {
    q.queue.splice(0, q.head);
    q.head = 0;
  }
}
