// Hop-by-hop custody of event copies. Every copy sent to a neighbour carries a link number
// (ls) and is kept until the neighbour acknowledges it. The neighbour acknowledges twice over,
// cumulatively, in one small frame per link at most every ackDelayMs:
//   r: the highest number received: the link carries data (EventSpreader declares a link dead
//      when copies stay unreceived for unackedDeadMs, long before the idle deadAfterMs);
//   c: the highest number below which every copy has been delivered there, or passed on and
//      acknowledged (c) by the next hop in turn, or kept for a destination beyond an outage.
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

/** A copy sent to a neighbour and not yet acknowledged (c). */
export interface Outstanding {
  readonly frame: EventFrame;
  readonly bytes: number;
  readonly at: number;
  readonly parent: Received | undefined;
}

interface Inbound {
  readonly peer: NodeId;
  readonly queue: Received[];
  head: number;
  received: number;
  complete: number;
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
   * Per peer, the last link number used: consecutive on a link, so the receiver sees a lost
   * copy as a gap; never reset, so an acknowledgement from an earlier link to the same peer
   * acknowledges nothing new.
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
    if (result === 'too-large') return result;
    // 'failed': the link just failed and linkDown follows, which spreads the copy again.
    let out = this.#out.get(peer);
    if (out === undefined) this.#out.set(peer, (out = { queue: [], head: 0, bytes: 0, received: 0 }));
    out.queue.push({ frame: sent, bytes, at: now, parent });
    out.bytes += bytes;
    if (parent !== undefined) parent.pending++;
    let evicted = 0;
    while (out.bytes > this.#limits.linkUnackedBytes && out.queue.length - out.head > 1) {
      this.done(this.#shift(out)!.parent);
      evicted++;
    }
    if (evicted > 0) this.#forgotten(evicted, 'linkUnackedBytes');
    return result;
  }

  /**
   * A copy from a neighbour: held open until done() for it and for every onward copy. A string
   * when its number does not follow the last one on this link: copies were lost or reordered
   * on it (a cumulative acknowledgement would cover them), so the link must be closed and
   * the neighbour sends them again over the next one.
   */
  received(peer: NodeId, ls: number): Received | string {
    let link = this.#in.get(peer);
    if (link === undefined) {
      link = { peer, queue: [], head: 0, received: 0, complete: 0, ackDue: false, open: true };
      this.#in.set(peer, link);
    } else if (ls !== link.received + 1) return `event: link number ${ls} after ${link.received}`;
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
    let advanced = false;
    while (link.head < link.queue.length && link.queue[link.head]!.pending <= 0) {
      link.complete = link.queue[link.head++]!.ls;
      advanced = true;
    }
    compact(link);
    if (advanced) this.#scheduleAck(link);
  }

  ack(peer: NodeId, r: number, c: number): void {
    const out = this.#out.get(peer);
    if (out === undefined) return;
    if (r > out.received) out.received = r;
    while (out.head < out.queue.length && out.queue[out.head]!.frame.ls <= c) this.done(this.#shift(out)!.parent);
  }

  /** A new link: numbering on it starts afresh on both sides. */
  linkUp(peer: NodeId): void {
    this.#closeInbound(peer);
  }

  /** The link is gone: returns its unacknowledged copies, oldest first, to be spread again. */
  linkDown(peer: NodeId): Outstanding[] {
    this.#closeInbound(peer);
    const out = this.#out.get(peer);
    if (out === undefined) return [];
    this.#out.delete(peer);
    return out.queue.slice(out.head);
  }

  /** Links whose oldest copy not yet received is older than deadMs: data flows, nothing arrives. */
  overdue(now: number, deadMs: number): NodeId[] {
    const dead: NodeId[] = [];
    for (const [peer, out] of this.#out) {
      const oldest = firstAfter(out, out.received);
      if (oldest !== undefined && now - oldest.at > deadMs) dead.push(peer);
    }
    return dead;
  }

  /** Forgets copies kept longer than linkUnackedMaxAgeMs. */
  expire(now: number): void {
    let evicted = 0;
    for (const out of this.#out.values()) {
      while (out.head < out.queue.length && now - out.queue[out.head]!.at > this.#limits.linkUnackedMaxAgeMs) {
        this.done(this.#shift(out)!.parent);
        evicted++;
      }
    }
    if (evicted > 0) this.#forgotten(evicted, 'linkUnackedMaxAgeMs');
  }

  status(): { unacked: number; unackedBytes: number } {
    let unacked = 0;
    let unackedBytes = 0;
    for (const out of this.#out.values()) {
      unacked += out.queue.length - out.head;
      unackedBytes += out.bytes;
    }
    return { unacked, unackedBytes };
  }

  #shift(out: Outbound): Outstanding | undefined {
    const e = out.queue[out.head];
    if (e === undefined) return undefined;
    out.head++;
    out.bytes -= e.bytes;
    compact(out);
    return e;
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
      if (link.open) this.#driver.send(link.peer, { t: 'ack', r: link.received, c: link.complete });
    }, this.#limits.ackDelayMs);
  }
}

/** The first entry with a link number above ls (entries are in ls order). */
function firstAfter(out: Outbound, ls: number): Outstanding | undefined {
  let lo = out.head;
  let hi = out.queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (out.queue[mid]!.frame.ls <= ls) lo = mid + 1;
    else hi = mid;
  }
  return out.queue[lo];
}

/** Queues are arrays read from `head`; the consumed front is cut off once it is most of the array. */
export function compact(q: { queue: unknown[]; head: number }): void {
  if (q.head > 1024 && q.head * 2 > q.queue.length) {
    q.queue.splice(0, q.head);
    q.head = 0;
  }
}
