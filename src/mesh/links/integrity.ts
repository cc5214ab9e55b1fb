// Integrity of a mesh link after its handshake, for links without TLS (TLS authenticates every
// record itself, so a link over TLS carries no tags). Sans-IO: LinkConnection feeds it frames.
//
// Without this, the handshake proves the cluster secret but the frames after it are
// unprotected: anyone who can rewrite or inject into the TCP stream (ARP spoofing on a home or
// factory LAN) could forge calls, events and security replication records. Now every frame
// after a side's own proof belongs to a batch that ends in a TAG frame:
//
//   keys      K = the handshake's link key, HKDF-SHA256(secret, '', 'wampmesh-link'), so only
//             members have it; per connection and direction:
//             K_dir = HKDF-SHA256(K, salt = dialer nonce | acceptor nonce,
//                                 info = 'wampmesh-link/2 mac dialer->acceptor' (or
//                                        'wampmesh-link/2 mac acceptor->dialer'), 32 octets)
//             Both nonces are fresh per connection, so keys never repeat across connections
//             (a recorded connection cannot be replayed into another), and the direction in
//             the info keeps one side's frames from being reflected back to it.
//   batch     the frames a side writes between two TAG frames (all the frames of one tick:
//             the link writes them in one buffer anyway, see FrameWriter); a sender closes a
//             batch early, before it would pass SEAL_BYTES, and a receiver refuses one larger
//             than BATCH_BYTES, so it buffers a bounded amount.
//   tag       TAG frame (type 4), 16 octets:
//             first 16 octets of HMAC-SHA256(K_dir, seq | frame | frame | ...)
//             seq    the batch's number in this direction, u64 big-endian, from 0, never sent
//             frame  each frame of the batch as on the wire: type, 24-bit length, payload
//   receiver  holds a batch's frames, acting on none of them, until its TAG arrives; then
//             checks it (crypto.timingSafeEqual) and only then handles the frames in order.
//             A wrong tag, a TAG of the wrong size or more untagged octets than a batch can
//             hold closes the link at once (code 'integrity'): a flipped bit, an injected
//             frame, a replayed, re-sent, reordered or dropped batch (the implicit sequence
//             number no longer matches) are all caught before anything of them is used. (A
//             batch dropped just before the connection ends is lost with it, as any frame of
//             a failing link is.)
//   boundary  each side tags everything it writes after its own 'auth' frame (close notices
//             included); its peer expects tags from the moment it has verified that proof.
//
// Per batch rather than per frame, on these figures (AMD EPYC server core, Node 24.21; not
// measured on a Pi, where every line should be several times slower, a Pi 4's cores having no
// SHA instructions; the ratios are what the choice rests on):
//   micro (best of 7 x 50,000 calls; one end unless said):
//     createHmac() per frame, 200-octet frames (a MAC object set up each time)   9.5-10.3 µs
//     BatchMac (below), 200-octet frames, batches of 1 / 2 / 4 / 16 / 64 frames:
//       0.87 / 0.50 / 0.32 / 0.17 / 0.13 µs per frame
//     the same, 1000-octet frames, batches of 1 / 4 / 16: 1.25 / 0.75 / 0.59 µs per frame
//     tag and check (both ends), one 200-octet frame per batch                   1.8 µs
//   end to end:
//     two nodes in one process bouncing one event frame (one frame per batch):
//       24-26 µs per round trip untagged, 28-36 tagged: 2-3 µs per frame for both ends
//     `npm run bench`, mesh A->D (calls across 3 links each way, 1000 in flight; CPU of all
//     four routers per call): untagged 26.8-29.0 µs, tagged per batch 29.6-31.0 µs; in one
//     run against a per-frame variant (a TAG after every frame): per batch 36.3 µs and 39,600
//     calls/s, per frame 51.1 µs and 30,300 calls/s.
// So: createHmac's set-up dominates, and the key's pads are hashed by hand instead (RFC 2104,
// the same HMAC-SHA256; the tests check it against createHmac), with crypto.hash() one-shot
// over ipad | seq | frames and digests taken as strings (a Buffer made in C++ costs more than
// the hash of a small input). A lightly loaded link (one frame per tick) then pays per frame
// what a per-frame scheme would; a busy one (pipelined calls, an event fan-out, a flood: many
// frames per tick) a fraction of it, which is when the CPU matters. On the wire: 20 octets per
// batch instead of 16 per frame. Sound because no frame of a batch is acted on before the
// batch's tag has been checked. Holding them adds next to no latency: a batch is what the
// sender wrote in one tick, and its TAG leaves in the same write.

import { createHash, hash, hkdfSync, timingSafeEqual, type Hash } from 'node:crypto';
import { HEADER_SIZE, writeHeader } from './framing.ts';

const BLOCK = 64; // SHA-256's block size: HMAC pads the key to it
const SEQ_SIZE = 8;
/** The octets of HMAC-SHA256 kept in a TAG frame. */
export const TAG_SIZE = 16;
/**
 * A sender ends a batch before it would pass this many octets (headers included). The receiver
 * acts on none of a batch before its tag, so a node in the middle of a busy path starts on what
 * it was sent only once a batch is whole: sealed once past 64 KiB (so up to ~128 KiB, two full
 * envelopes), a burst of pipelined calls crossed the chain in large steps (1.39 of 2 cores
 * busy); at 32 KiB the next router starts sooner (1.57 cores, 3-hop calls/s +9%, the same CPU
 * per call; 8-64 KiB swept, BENCHMARKS.md, fifteenth session).
 */
export const SEAL_BYTES = 32 * 1024;
/**
 * The most a receiver takes without a tag, plus the frame that took the batch past it: what
 * nodes built before SEAL_BYTES sent (sealed once a batch held 64 KiB), kept as the bound.
 */
export const BATCH_BYTES = 64 * 1024;
/**
 * Batches up to this size are copied and hashed in one call (cheaper than a native call per
 * frame); bigger ones incrementally: a batch sealed for its size (SEAL_BYTES, or an earlier
 * build's BATCH_BYTES, and the frame that took it past) or one holding a large frame.
 */
const ONE_SHOT_BYTES = 64 * 1024;
/**
 * A batch hashed in one call is assembled in a buffer kept from one batch to the next, whatever
 * its size. A buffer made per batch is external memory to V8, which a node in the middle of a
 * busy path (one that allocates little else, so runs few minor collections) pays for with full
 * collections, several a second under load (BENCHMARKS.md, fourteenth session). Up to 64 KiB
 * kept per direction of a link.
 */
const SCRATCH_BYTES = BLOCK + SEQ_SIZE + ONE_SHOT_BYTES;
/**
 * Hashed incrementally, frames are gathered into a chunk of this size and the chunk hashed when
 * full: a busy link's size-sealed batch holds hundreds of small frames, and a native call per
 * frame cost more than hashing it (5% of a middle node's busy time in the 3-hop bench).
 */
const CHUNK_BYTES = 16 * 1024;
/** Payloads of at least this size are hashed where they are instead of copied into the chunk. */
const IN_PLACE_BYTES = 4 * 1024;

export type MacDirection = 'dialer->acceptor' | 'acceptor->dialer';

/** The MAC key for one direction of one connection (see the header). */
export function macKey(
  linkKey: Uint8Array,
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
  direction: MacDirection,
): Buffer {
  const salt = Buffer.concat([dialerNonce, acceptorNonce]);
  return Buffer.from(hkdfSync('sha256', linkKey, salt, `wampmesh-link/2 mac ${direction}`, 32));
}

/**
 * Tags the batches of one direction in order. Each call to next() is the next sequence number,
 * so sender and receiver stay in step as long as every batch is tagged and checked once.
 */
export class BatchMac {
  readonly #ipad = Buffer.alloc(BLOCK, 0x36);
  /** ipad | seq | frames: the inner hash's input, reused while batches are small. */
  #scratch: Buffer;
  /** opad | inner digest, for the outer hash. */
  readonly #outer = Buffer.alloc(BLOCK + 32, 0x5c);
  readonly #innerStart: Hash;
  readonly #outerStart: Hash;
  /** seq | frames for the incremental path, made on its first use. */
  #chunk: Buffer | undefined;
  #seq = 0;

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError('MAC key longer than a SHA-256 block');
    for (let i = 0; i < key.length; i++) {
      this.#ipad[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
    this.#scratch = Buffer.allocUnsafe(BLOCK + SEQ_SIZE + 1024);
    this.#scratch.set(this.#ipad, 0);
    this.#innerStart = createHash('sha256').update(this.#ipad);
    this.#outerStart = createHash('sha256').update(this.#outer.subarray(0, BLOCK));
  }

  /** Batches tagged (or checked) so far. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * The tag of the next batch: frames [0, count) of types/payloads, `bytes` octets with their
   * headers.
   */
  next(types: readonly number[], payloads: readonly Uint8Array[], count: number, bytes: number): Buffer {
    const seq = this.#seq++;
    if (bytes <= ONE_SHOT_BYTES) {
      const size = BLOCK + SEQ_SIZE + bytes;
      let buf = this.#scratch;
      if (size > buf.length) {
        buf = Buffer.allocUnsafe(size);
        buf.set(this.#ipad, 0);
        if (size <= SCRATCH_BYTES) this.#scratch = buf;
      }
      buf.writeUInt32BE(Math.floor(seq / 2 ** 32), BLOCK);
      buf.writeUInt32BE(seq >>> 0, BLOCK + 4);
      let at = BLOCK + SEQ_SIZE;
      for (let i = 0; i < count; i++) {
        const payload = payloads[i]!;
        const n = payload.length;
        at = writeHeader(buf, at, types[i]!, n);
        buf.set(payload, at);
        at += n;
      }
      // Digests as 'binary' (latin1) strings, not Buffers: a Buffer made in C++ costs twice
      // the hash of a small input; a one-byte string is cheap and converts back losslessly.
      this.#outer.write(hash('sha256', buf.subarray(0, size), 'binary'), BLOCK, 'binary');
      const tag = Buffer.allocUnsafe(TAG_SIZE);
      tag.write(hash('sha256', this.#outer, 'binary'), 0, TAG_SIZE, 'binary');
      return tag;
    }
    const inner = this.#innerStart.copy();
    const chunk = (this.#chunk ??= Buffer.allocUnsafe(CHUNK_BYTES));
    chunk.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
    chunk.writeUInt32BE(seq >>> 0, 4);
    let at = SEQ_SIZE;
    for (let i = 0; i < count; i++) {
      const payload = payloads[i]!;
      const n = payload.length;
      const inPlace = n >= IN_PLACE_BYTES;
      if (at + HEADER_SIZE + (inPlace ? 0 : n) > CHUNK_BYTES) {
        inner.update(chunk.subarray(0, at));
        at = 0;
      }
      at = writeHeader(chunk, at, types[i]!, n);
      if (inPlace) {
        inner.update(chunk.subarray(0, at));
        inner.update(payload);
        at = 0;
      } else {
        chunk.set(payload, at);
        at += n;
      }
    }
    if (at > 0) inner.update(chunk.subarray(0, at));
    const tag = Buffer.allocUnsafe(TAG_SIZE);
    tag.write(this.#outerStart.copy().update(inner.digest('binary'), 'binary').digest('binary'), 0, TAG_SIZE, 'binary');
    return tag;
  }

  /** Checks a received tag against the next batch (and moves on to the one after, either way). */
  verify(
    types: readonly number[],
    payloads: readonly Uint8Array[],
    count: number,
    bytes: number,
    tag: Uint8Array,
  ): boolean {
    const expected = this.next(types, payloads, count, bytes);
    return tag.length === TAG_SIZE && timingSafeEqual(expected, tag);
  }
}
