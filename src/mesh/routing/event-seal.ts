// Sealed events: every event forwarded across the mesh is bound to its origin node, so no member
// can inject a publication under another node's name or alter one it passes on.
//
// The origin encodes each event once (EventFrame.b); nodes on the way pass those octets on
// unchanged. Per destination node and batch (the publications of one tick, at most MAX_SEALED),
// the origin sends a seal first: an event frame numbered in that destination's sequence like any
// other, carrying for each event numbered right after it a digest (4 octets of length, 12 of
// SHA-256 of `b`) and one tag over them all: HMAC-SHA256 with the X25519 pair key of the origin
// and the destination (origin-identity.ts), over the origin, its epoch, the destination, its life
// and the seal's number. The destination checks the tag once per batch, then each event's
// digest as it arrives, before the event takes its number: a forged or altered copy is refused
// and logged and cannot take the place of the real one, which is delivered when it comes.
//
// Why this shape: one tag per destination and event cost as much again as the rest of an event's
// trip (~1.4 us per router, a full HMAC each); here an event costs one SHA-256 at its origin
// (whatever the number of destinations) and one at each destination, and a tag is made and
// checked once per batch. Digests per event, rather than one MAC over the batch's octets, keep
// honest events deliverable one by one: a forged copy that arrives first, an event given up on
// the way or sent again over another route leave the rest of the batch checkable.
//
// A skip (an event too large for a link on the way: only its number travels on) is believed only
// for an event its seal says is larger than the smallest frame a link must carry (SKIPPABLE):
// nobody can make a destination skip a small event it was sent.

import crypto from 'node:crypto';
import type { NodeId, Seal } from './frames.ts';
import type { PairMac } from './origin-identity.ts';

/** Octets per event in a seal: length (4), SHA-256 truncated (12). */
export const DIGEST_SIZE = 16;
/** Events smaller than this fit any link (whose frames may be no smaller than 64 KiB), with room for a large header. */
const SKIPPABLE = 60 * 1024;

/** The digest of an event's octets, as a seal lists it (latin1 text of DIGEST_SIZE characters). */
export function digestOf(b: Uint8Array): string {
  const n = b.length;
  return (
    String.fromCharCode(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff) +
    crypto.hash('sha256', b, 'binary').slice(0, DIGEST_SIZE - 4)
  );
}

function sealHead(src: NodeId, ep: number, dst: NodeId, life: number, seq: number): string {
  return JSON.stringify(['event-seal/1', src, ep, dst, life, seq]);
}

/** The seal, numbered `seq` for `dst` (in its life `life`), of the events with these digests. */
export function makeSeal(
  key: PairMac,
  at: { src: NodeId; ep: number; dst: NodeId; life: number; seq: number },
  digests: readonly string[],
): Seal {
  const list = Buffer.allocUnsafe(digests.length * DIGEST_SIZE);
  for (let i = 0; i < digests.length; i++) list.write(digests[i]!, i * DIGEST_SIZE, DIGEST_SIZE, 'latin1');
  return [key.tagBytes(sealHead(at.src, at.ep, at.dst, at.life, at.seq), list), list];
}

/** An event (or skip) for this node waiting for the seal that covers it. */
export interface Unsealed<T> {
  readonly seq: number;
  /** undefined: a skip. */
  readonly b: Uint8Array | undefined;
  readonly item: T;
  readonly at: number;
}

interface Stream<T> {
  /** Digests of the events sealed and not yet arrived, by number. */
  readonly digests: Map<number, string>;
  readonly waiting: Map<number, Unsealed<T>[]>;
  waitingCount: number;
}

interface Origin<T> {
  ep: number;
  /** By the life of this node the numbers count in. */
  readonly lives: Map<number, Stream<T>>;
}

export type Verdict = 'ok' | 'wait' | 'stale' | string;

export interface SealLimits {
  /** Origins whose seals are remembered; beyond, the least recently heard is forgotten. */
  readonly maxOrigins: number;
  /** How long an event may wait for its seal. */
  readonly holdbackMs: number;
}

/** Digests kept per stream: more than an outage can hold back (outageHoldEvents). */
const MAX_DIGESTS = 131_072;
/** Events waiting for their seal per stream; beyond, the oldest are refused. */
const MAX_WAITING = 4_096;
/** Lives of this node per origin whose seals are kept. */
const LIVES_KEPT = 4;

/** The destination's side: seals checked once, then each event against its digest. */
export class SealCheck<T> {
  readonly #self: NodeId;
  readonly #keyOf: (node: NodeId) => PairMac | undefined;
  readonly #limits: SealLimits;
  readonly #origins = new Map<NodeId, Origin<T>>();

  constructor(self: NodeId, keyOf: (node: NodeId) => PairMac | undefined, limits: SealLimits) {
    this.#self = self;
    this.#keyOf = keyOf;
    this.#limits = limits;
  }

  /**
   * A seal for this node: undefined when its tag holds (the events waiting for it are handed to
   * `ready` with their verdicts), or why it does not ('stale': from an origin's earlier life).
   */
  seal(
    src: NodeId,
    ep: number,
    life: number,
    seq: number,
    seal: Seal,
    ready: (waiting: Unsealed<T>, verdict: Verdict) => void,
  ): string | undefined {
    const stream = this.#stream(src, ep, life);
    if (stream === undefined) return 'stale';
    const key = this.#keyOf(src);
    if (key === undefined) return `no key agreed with ${src} (its advertisement has not arrived)`;
    const [tag, list] = seal;
    if (!crypto.timingSafeEqual(key.tagBytes(sealHead(src, ep, this.#self, life, seq), list), tag))
      return `the seal is not ${src}'s (changed on the way, or forged)`;
    const n = list.length / DIGEST_SIZE;
    const text = Buffer.from(list.buffer, list.byteOffset, list.length).toString('latin1');
    for (let i = 0; i < n; i++) stream.digests.set(seq + 1 + i, text.slice(i * DIGEST_SIZE, (i + 1) * DIGEST_SIZE));
    while (stream.digests.size > MAX_DIGESTS) stream.digests.delete(stream.digests.keys().next().value!);
    if (stream.waitingCount > 0)
      for (let i = 0; i < n; i++) {
        const waiting = stream.waiting.get(seq + 1 + i);
        if (waiting === undefined) continue;
        stream.waiting.delete(seq + 1 + i);
        stream.waitingCount -= waiting.length;
        for (const w of waiting) ready(w, this.#verdict(stream, w.seq, w.b));
      }
    return undefined;
  }

  /**
   * An event (b) or a skip (b undefined) numbered `seq` for this node: 'ok' (it is the one its
   * origin sealed: deliver it), 'wait' (its seal has not come yet: hold() it), 'stale' (from an
   * origin's earlier life), or why it is refused.
   */
  check(src: NodeId, ep: number, life: number, seq: number, b: Uint8Array | undefined): Verdict {
    const stream = this.#stream(src, ep, life);
    if (stream === undefined) return 'stale';
    return stream.digests.has(seq) ? this.#verdict(stream, seq, b) : 'wait';
  }

  /** Keeps an event check() said must wait, until its seal comes (seal()) or holdbackMs passes (expire()). */
  hold(src: NodeId, ep: number, life: number, waiting: Unsealed<T>): void {
    const stream = this.#stream(src, ep, life);
    if (stream === undefined) return;
    let list = stream.waiting.get(waiting.seq);
    if (list === undefined) stream.waiting.set(waiting.seq, (list = []));
    list.push(waiting);
    stream.waitingCount++;
  }

  /** Events that waited longer than holdbackMs for a seal, handed to `expired` (refused). */
  expire(now: number, expired: (waiting: Unsealed<T>) => void): void {
    for (const origin of this.#origins.values())
      for (const stream of origin.lives.values()) {
        if (stream.waitingCount === 0) continue;
        for (const [seq, list] of stream.waiting) {
          const keep = list.filter((w) => now - w.at <= this.#limits.holdbackMs);
          for (const w of list) if (now - w.at > this.#limits.holdbackMs) expired(w);
          stream.waitingCount -= list.length - keep.length;
          if (keep.length === 0) stream.waiting.delete(seq);
          else stream.waiting.set(seq, keep);
        }
        while (stream.waitingCount > MAX_WAITING) {
          const [seq, list] = stream.waiting.entries().next().value!;
          stream.waiting.delete(seq);
          stream.waitingCount -= list.length;
          for (const w of list) expired(w);
        }
      }
  }

  #verdict(stream: Stream<T>, seq: number, b: Uint8Array | undefined): Verdict {
    const digest = stream.digests.get(seq)!;
    if (b === undefined) {
      const length =
        ((digest.charCodeAt(0) << 24) |
          (digest.charCodeAt(1) << 16) |
          (digest.charCodeAt(2) << 8) |
          digest.charCodeAt(3)) >>>
        0;
      if (length < SKIPPABLE)
        return `a skip of an event of ${length} octets, which fits any link (only one that large is skipped)`;
    } else if (digestOf(b) !== digest)
      return `the event is not the one its origin sealed (changed on the way, or forged)`;
    stream.digests.delete(seq);
    return 'ok';
  }

  #stream(src: NodeId, ep: number, life: number): Stream<T> | undefined {
    let origin = this.#origins.get(src);
    if (origin !== undefined && ep < origin.ep) return undefined;
    if (origin === undefined || ep > origin.ep) {
      if (origin === undefined && this.#origins.size >= this.#limits.maxOrigins)
        this.#origins.delete(this.#origins.keys().next().value!);
      origin = { ep, lives: new Map() };
      this.#origins.set(src, origin);
    } else if (this.#origins.size > 1) {
      // Most recently heard last: the map's order is the eviction order.
      this.#origins.delete(src);
      this.#origins.set(src, origin);
    }
    let stream = origin.lives.get(life);
    if (stream === undefined) {
      if (origin.lives.size >= LIVES_KEPT) origin.lives.delete(origin.lives.keys().next().value!);
      origin.lives.set(life, (stream = { digests: new Map(), waiting: new Map(), waitingCount: 0 }));
    }
    return stream;
  }
}
