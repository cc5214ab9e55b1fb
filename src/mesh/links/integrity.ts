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
//   tag       TAG frame (type 4), 16 octets; by the batch's size (frames with their headers):
//             under POLY_BYTES (4 KiB):
//               first 16 octets of HMAC-SHA256(K_dir, seq | frame | frame | ...)
//             from POLY_BYTES on:
//               the Poly1305 tag of ChaCha20-Poly1305 (RFC 8439) under K_poly with nonce
//               0x00000000 | seq, the frames its additional data, nothing encrypted, where
//               K_poly = HKDF-SHA256(K_dir, '', 'wampmesh-link/3 poly1305', 32 octets)
//             seq    the batch's number in this direction, u64 big-endian, from 0, never sent
//                    (and so a nonce never used twice under one key)
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
//     BatchMac's HMAC, 200-octet frames, batches of 1 / 2 / 4 / 16 / 64 frames:
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
//
// Why Poly1305 for the large batches (link protocol version 11): on a busy path every octet of
// a call's frames is hashed at both ends of each link, and SHA-256 was 19-21% of a middle
// node's CPU in the 3-hop bench (BENCHMARKS.md, eighteenth session), where batches hold ~100
// frames. A cipher set up through node:crypto (createCipheriv) costs ~2 µs, so HMAC stays for
// small batches; per batch of 150-octet frames, each MAC alone (best of 7), ns:
//     frames      20    26    30    40    60   100   200
//     HMAC      2508  2863  3191  3852  5466  8711 16738
//     Poly1305  2435  2571  2772  2887  3394  4250  7618
// Poly1305 costs less from ~3 KiB; POLY_BYTES leaves a margin above that.
// Poly1305 and ChaCha20 need no AES or SHA instructions: on a Pi 4, which has neither, they
// are the usual choice (as in TLS), where SHA-256 in software costs several times more.

import { createCipheriv, createSecretKey, hash, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { HEADER_SIZE, writeHeader } from './framing.ts';

const BLOCK = 64; // SHA-256's block size: HMAC pads the key to it
const SEQ_SIZE = 8;
/** The octets of a tag kept in a TAG frame. */
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
 * Batches of at least this many octets (headers included) are tagged with Poly1305, smaller
 * ones with HMAC-SHA256: a cipher set up through node:crypto costs about 2 µs, which a small
 * batch's HMAC does not pay; from ~3 KiB Poly1305 (3-8 GB/s here) costs less than SHA-256
 * (2 GB/s with SHA instructions). See the header for the figures.
 */
export const POLY_BYTES = 4 * 1024;
/**
 * A Poly1305 batch is handed to the cipher in chunks of this size, its small frames gathered
 * into one: a busy link's batch holds hundreds of frames, and a native call per frame would
 * cost more than the MAC of it.
 */
const CHUNK_BYTES = 16 * 1024;
/** Payloads of at least this size are handed to the cipher where they are instead of copied into the chunk. */
const IN_PLACE_BYTES = 4 * 1024;
const POLY_INFO = 'wampmesh-link/3 poly1305';
/** Nothing is encrypted: the batch is the cipher's additional data only. */
const AAD_ONLY = { plaintextLength: 0 };

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
  /** ipad | seq | frames: the inner hash's input for a batch under POLY_BYTES. */
  readonly #scratch = Buffer.allocUnsafe(BLOCK + SEQ_SIZE + POLY_BYTES);
  /** opad | inner digest, for the outer hash. */
  readonly #outer = Buffer.alloc(BLOCK + 32, 0x5c);
  readonly #polyKey: KeyObject;
  /** 4 zero octets | seq: a Poly1305 batch's nonce, so that none is used twice under one key. */
  readonly #nonce = Buffer.alloc(12);
  /** Small frames of a Poly1305 batch, gathered; made on its first use. */
  #chunk: Buffer | undefined;
  #seq = 0;

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError('MAC key longer than a SHA-256 block');
    for (let i = 0; i < key.length; i++) {
      this.#ipad[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
    this.#scratch.set(this.#ipad, 0);
    this.#polyKey = createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), POLY_INFO, 32)));
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
    return bytes < POLY_BYTES ? this.#hmac(seq, types, payloads, count) : this.#poly(seq, types, payloads, count);
  }

  #hmac(seq: number, types: readonly number[], payloads: readonly Uint8Array[], count: number): Buffer {
    const buf = this.#scratch;
    buf.writeUInt32BE(Math.floor(seq / 2 ** 32), BLOCK);
    buf.writeUInt32BE(seq >>> 0, BLOCK + 4);
    let at = BLOCK + SEQ_SIZE;
    for (let i = 0; i < count; i++) {
      const payload = payloads[i]!;
      at = writeHeader(buf, at, types[i]!, payload.length);
      buf.set(payload, at);
      at += payload.length;
    }
    // Digests as 'binary' (latin1) strings, not Buffers: a Buffer made in C++ costs twice
    // the hash of a small input; a one-byte string is cheap and converts back losslessly.
    this.#outer.write(hash('sha256', buf.subarray(0, at), 'binary'), BLOCK, 'binary');
    const tag = Buffer.allocUnsafe(TAG_SIZE);
    tag.write(hash('sha256', this.#outer, 'binary'), 0, TAG_SIZE, 'binary');
    return tag;
  }

  #poly(seq: number, types: readonly number[], payloads: readonly Uint8Array[], count: number): Buffer {
    const nonce = this.#nonce;
    nonce.writeUInt32BE(Math.floor(seq / 2 ** 32), 4);
    nonce.writeUInt32BE(seq >>> 0, 8);
    const cipher = createCipheriv('chacha20-poly1305', this.#polyKey, nonce, { authTagLength: TAG_SIZE });
    const chunk = (this.#chunk ??= Buffer.allocUnsafe(CHUNK_BYTES));
    let at = 0;
    for (let i = 0; i < count; i++) {
      const payload = payloads[i]!;
      const n = payload.length;
      const inPlace = n >= IN_PLACE_BYTES;
      if (at + HEADER_SIZE + (inPlace ? 0 : n) > CHUNK_BYTES) {
        cipher.setAAD(chunk.subarray(0, at), AAD_ONLY);
        at = 0;
      }
      at = writeHeader(chunk, at, types[i]!, n);
      if (inPlace) {
        cipher.setAAD(chunk.subarray(0, at), AAD_ONLY);
        cipher.setAAD(payload, AAD_ONLY);
        at = 0;
      } else {
        chunk.set(payload, at);
        at += n;
      }
    }
    if (at > 0) cipher.setAAD(chunk.subarray(0, at), AAD_ONLY);
    cipher.final();
    return cipher.getAuthTag();
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
