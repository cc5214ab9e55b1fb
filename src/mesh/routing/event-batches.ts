// A node's own publications leave in batches: those of one tick (up to MAX_SEALED), numbered per
// destination node, each destination's seal first (event-seal.ts), then the events, each encoded
// once whatever the number of its destinations. The seal takes a number of its own but rides
// with the batch's first event for that destination (EventFrame.seals): a lone publication is
// one frame per hop, not two, which each node on the way would decode, route and encode. The
// tick ends with `soon` (EventContext): before the links write, so a batch shares one envelope
// per link.

import type { NodeId, Seal } from './frames.ts';
import { MAX_SEALED } from './frame-values.ts';
import { digestOf, makeSeal } from './event-seal.ts';
import type { EventBody } from './event-outage.ts';
import type { OriginIdentities } from './origin-identity.ts';

/** A copy's destination, its number there and the life of that node it counts in. */
export interface Target {
  readonly dst: NodeId;
  readonly seq: number;
  readonly life: number;
  /** The seal numbered seq - 1 for this destination, riding with this event. */
  readonly seal?: Seal | undefined;
}

/** What custody counts for a copy besides its event's octets. */
export const HEADER_BYTES = 64;

/** Lives (epochs) per destination whose numbering is kept. */
const LIVES_KEPT = 4;

/** A publication made here this tick, encoded, and the nodes it is for. */
interface Pending {
  readonly b: Uint8Array;
  readonly dsts: readonly NodeId[];
}

export interface BatchContext {
  readonly self: NodeId;
  readonly epoch: number;
  readonly identities?: OriginIdentities | undefined;
  epochOf(node: NodeId): number | undefined;
  now(): number;
  soon(fn: () => void): void;
}

export class OriginBatches {
  readonly #ctx: BatchContext;
  readonly #forward: (body: EventBody, targets: Target[], bytes: number, now: number) => void;
  /**
   * Per destination and life (epoch) of it: the number of the last event addressed to it. A few
   * lives each: a false advertisement of a node's epoch, once gone, must not restart the
   * numbering of its real life (the destination would drop the new numbers as duplicates).
   */
  readonly #numbered = new Map<NodeId, Map<number, number>>();
  #pending: Pending[] = [];

  /** `forward`: sends a copy to each target. */
  constructor(ctx: BatchContext, forward: (body: EventBody, targets: Target[], bytes: number, now: number) => void) {
    this.#ctx = ctx;
    this.#forward = forward;
  }

  /** An event published here (`b`: its content, encoded) for these nodes: it leaves as this tick ends. */
  add(b: Uint8Array, dsts: readonly NodeId[]): void {
    this.#pending.push({ b, dsts });
    if (this.#pending.length === 1) this.#ctx.soon(this.#flush);
  }

  readonly #flush = (): void => {
    const pending = this.#pending;
    this.#pending = [];
    for (let from = 0; from < pending.length; from += MAX_SEALED)
      this.#send(pending, from, Math.min(pending.length, from + MAX_SEALED));
  };

  #send(pending: readonly Pending[], from: number, to: number): void {
    const { self, epoch: ep, identities } = this.#ctx;
    const now = this.#ctx.now();
    const perDst = new Map<NodeId, number[]>();
    for (let i = from; i < to; i++)
      for (const dst of pending[i]!.dsts) {
        let list = perDst.get(dst);
        if (list === undefined) perDst.set(dst, (list = []));
        list.push(i);
      }
    // One digest per event, whatever the number of its destinations.
    const digests: (string | undefined)[] = [];
    const targets: Target[][] = [];
    /** Octets of the seals riding with each event. */
    const sealBytes: number[] = [];
    for (let i = from; i < to; i++) {
      targets.push([]);
      sealBytes.push(0);
    }
    for (const [dst, list] of perDst) {
      const life = this.#ctx.epochOf(dst) ?? 0;
      let lives = this.#numbered.get(dst);
      if (lives === undefined) this.#numbered.set(dst, (lives = new Map()));
      let seq = lives.get(life) ?? 0;
      // No key yet (the destination's advertisement, with its DH key, has not arrived): unsealed,
      // and refused there; it cannot be routed to either.
      const key = identities?.keyWith(dst);
      let seal: Seal | undefined;
      if (key !== undefined) {
        const sealed = list.map((i) => (digests[i - from] ??= digestOf(pending[i]!.b)));
        seq++;
        seal = makeSeal(key, { src: self, ep, dst, life, seq }, sealed);
        sealBytes[list[0]! - from]! += seal[0].length + seal[1].length;
      }
      for (const i of list) {
        targets[i - from]!.push(seal === undefined ? { dst, seq: ++seq, life } : { dst, seq: ++seq, life, seal });
        seal = undefined;
      }
      lives.set(life, seq);
      if (lives.size > LIVES_KEPT) lives.delete(lives.keys().next().value!);
    }
    for (let i = from; i < to; i++) {
      const b = pending[i]!.b;
      const bytes = HEADER_BYTES + b.length + sealBytes[i - from]!;
      this.#forward({ t: 'event', src: self, ep, b }, targets[i - from]!, bytes, now);
    }
  }
}
