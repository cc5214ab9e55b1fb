// Sealed events: every event forwarded across the mesh is bound to its origin node, so no member
// can inject a publication under another node's name or alter one it passes on.
//
// The origin encodes each event once (EventFrame.b); nodes on the way pass those octets on
// unchanged. Per destination node and batch (the publications of one tick, at most MAX_SEALED),
// the origin makes a seal, numbered in that destination's sequence like an event and riding with
// the batch's first event for it (EventFrame.seals: the seal takes the number before that
// event's), carrying for each event numbered after it a digest (4 octets of length, 12 of
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
  const list = Buffer.from(digests.join(''), 'latin1');
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

interface Stream {
  /** Digests of the events sealed and not yet arrived, by number. */
  readonly digests: Map<number, string>;
  /** Numbers whose event (or skip) passed: a copy sent again over another route is a duplicate. */
  readonly done: Set<number>;
}

interface Origin {
  ep: number;
  /** By the life of this node the numbers count in. */
  readonly lives: Map<number, Stream>;
}

/** 'duplicate': that number's event passed already (a copy sent again; not delivered twice). */
export type Verdict = 'ok' | 'wait' | 'stale' | 'duplicate' | string;

export interface SealLimits {
  /** Origins whose seals are remembered; beyond, the least recently sealing is forgotten. */
  readonly maxOrigins: number;
  /** How long an event may wait for its seal. */
  readonly holdbackMs: number;
  /** Events waiting for their seals, all origins together, and their octets. */
  readonly holdbackEvents: number;
  readonly outageHoldBytes: number;
}

/** Digests (and numbers done) kept per stream: those of events lost on the way stay until pushed out. */
const MAX_DIGESTS = 65_536;
/** Lives of this node per origin whose seals are kept. */
const LIVES_KEPT = 4;

/**
 * The destination's side: seals checked once, then each event against its digest. Only a seal
 * whose tag holds makes room here (an origin, its digests): frames anyone can forge (events,
 * skips) only wait, in one bounded pool, for a seal.
 */
export class SealCheck<T> {
  readonly #self: NodeId;
  readonly #keyOf: (node: NodeId) => PairMac | undefined;
  readonly #limits: SealLimits;
  readonly #origins = new Map<NodeId, Origin>();
  /** Events waiting for their seal, by origin, epoch, life and number; oldest first. */
  readonly #waiting = new Map<string, Unsealed<T>[]>();
  #waitingCount = 0;
  #waitingBytes = 0;

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
    const known = this.#origins.get(src);
    if (known !== undefined && ep < known.ep) return 'stale';
    const key = this.#keyOf(src);
    if (key === undefined) return `no key agreed with ${src} (its advertisement has not arrived)`;
    const [tag, list] = seal;
    if (!crypto.timingSafeEqual(key.tagBytes(sealHead(src, ep, this.#self, life, seq), list), tag))
      return `the seal is not ${src}'s (changed on the way, or forged)`;
    const stream = this.#stream(src, ep, life);
    const n = list.length / DIGEST_SIZE;
    const text = Buffer.from(list.buffer, list.byteOffset, list.length).toString('latin1');
    for (let i = 0; i < n; i++)
      if (!stream.done.has(seq + 1 + i))
        stream.digests.set(seq + 1 + i, text.slice(i * DIGEST_SIZE, (i + 1) * DIGEST_SIZE));
    while (stream.digests.size > MAX_DIGESTS) stream.digests.delete(stream.digests.keys().next().value!);
    if (this.#waitingCount > 0)
      for (let i = 0; i < n; i++) {
        const k = waitKey(src, ep, life, seq + 1 + i);
        const waiting = this.#waiting.get(k);
        if (waiting === undefined) continue;
        this.#unwait(k, waiting);
        for (const w of waiting) ready(w, stream.done.has(w.seq) ? 'duplicate' : this.#verdict(stream, w.seq, w.b));
      }
    return undefined;
  }

  /**
   * An event (b) or a skip (b undefined) numbered `seq` for this node: 'ok' (it is the one its
   * origin sealed: deliver it), 'wait' (its seal has not come yet: hold() it), 'stale' (from an
   * origin's earlier life), or why it is refused.
   */
  check(src: NodeId, ep: number, life: number, seq: number, b: Uint8Array | undefined): Verdict {
    const origin = this.#origins.get(src);
    if (origin === undefined || ep > origin.ep) return 'wait';
    if (ep < origin.ep) return 'stale';
    const stream = origin.lives.get(life);
    if (stream === undefined) return 'wait';
    if (stream.digests.has(seq)) return this.#verdict(stream, seq, b);
    return stream.done.has(seq) ? 'duplicate' : 'wait';
  }

  /**
   * Keeps an event check() said must wait, until its seal comes (seal()) or holdbackMs passes
   * (expire()); false when the pool is full (refuse it).
   */
  hold(src: NodeId, ep: number, life: number, waiting: Unsealed<T>): boolean {
    const bytes = waiting.b?.length ?? 0;
    if (this.#waitingCount >= this.#limits.holdbackEvents || this.#waitingBytes + bytes > this.#limits.outageHoldBytes)
      return false;
    const k = waitKey(src, ep, life, waiting.seq);
    let list = this.#waiting.get(k);
    if (list === undefined) this.#waiting.set(k, (list = []));
    list.push(waiting);
    this.#waitingCount++;
    this.#waitingBytes += bytes;
    return true;
  }

  /** Events that waited longer than holdbackMs for a seal, handed to `expired` (refused). */
  expire(now: number, expired: (waiting: Unsealed<T>) => void): void {
    for (const [k, list] of this.#waiting) {
      // Oldest first: the first still young ends the sweep.
      if (now - list[0]!.at <= this.#limits.holdbackMs) break;
      this.#unwait(k, list);
      for (const w of list) expired(w);
    }
  }

  #unwait(k: string, list: readonly Unsealed<T>[]): void {
    this.#waiting.delete(k);
    this.#waitingCount -= list.length;
    for (const w of list) this.#waitingBytes -= w.b?.length ?? 0;
  }

  #verdict(stream: Stream, seq: number, b: Uint8Array | undefined): Verdict {
    const digest = stream.digests.get(seq)!;
    const length =
      ((digest.charCodeAt(0) << 24) |
        (digest.charCodeAt(1) << 16) |
        (digest.charCodeAt(2) << 8) |
        digest.charCodeAt(3)) >>>
      0;
    if (b === undefined) {
      if (length < SKIPPABLE)
        return `a skip of an event of ${length} octets, which fits any link (only one that large is skipped)`;
    } else if (b.length !== length || !hashMatches(crypto.hash('sha256', b, 'binary'), digest))
      return `the event is not the one its origin sealed (changed on the way, or forged)`;
    stream.digests.delete(seq);
    stream.done.add(seq);
    if (stream.done.size > MAX_DIGESTS + 1024) {
      // The oldest 1,024 at once: one walk, not one per event.
      let n = 1024;
      for (const old of stream.done) {
        stream.done.delete(old);
        if (--n === 0) break;
      }
    }
    return 'ok';
  }

  /** The stream a verified seal goes to: a newer epoch of its origin replaces the older. */
  #stream(src: NodeId, ep: number, life: number): Stream {
    let origin = this.#origins.get(src);
    if (origin === undefined || ep > origin.ep) {
      if (origin === undefined && this.#origins.size >= this.#limits.maxOrigins)
        this.#origins.delete(this.#origins.keys().next().value!);
      origin = { ep, lives: new Map() };
      this.#origins.set(src, origin);
    } else if (this.#origins.size > 1) {
      // Most recently sealing last: the map's order is the eviction order.
      this.#origins.delete(src);
      this.#origins.set(src, origin);
    }
    let stream = origin.lives.get(life);
    if (stream === undefined) {
      if (origin.lives.size >= LIVES_KEPT) origin.lives.delete(origin.lives.keys().next().value!);
      origin.lives.set(life, (stream = { digests: new Map(), done: new Set() }));
    }
    return stream;
  }
}

/** Whether a SHA-256 (binary text) begins with the 12 octets a digest lists after its length; compared in place. */
function hashMatches(hash: string, digest: string): boolean {
  for (let i = 4; i < DIGEST_SIZE; i++) if (hash.charCodeAt(i - 4) !== digest.charCodeAt(i)) return false;
  return true;
}

function waitKey(src: NodeId, ep: number, life: number, seq: number): string {
  return `${src}\u0000${ep}\u0000${life}\u0000${seq}`;
}
