// Origin-bound identities: the caller of a call forwarded across the mesh is the session as its
// own node authenticated it, and no node on the way can change it.
//
// The caller's node puts the identity in the call frame (`who`: session, authid, authrole, and
// whether the caller disclosed it) and a tag over it (`mac`) that only it and the callee's node
// can make: HMAC-SHA256 (16 octets) with a key both derive by X25519 from their per-life DH keys,
// which each node publishes in its signed advertisement (Lsa.dh; trust/lsa-signature.ts). The
// callee's node checks the tag, applies the realm's grants to that identity (Federation.call), and
// hands its callee caller/caller_authid/caller_authrole from `who` only, and only if disclosed:
// whatever a frame's details say about the caller is dropped.
//
// Events are bound otherwise, per batch and destination (event-seal.ts), with the same pair keys.
//
// Why a tag per call and not a signature: an Ed25519 signature costs 50-120 us to make and check
// (trust/lsa-signature.ts); the tag 1.5 us to make and 1.5 us to check (test/bench/trust-crypto.ts,
// busy box), and the X25519 agreement behind it is made once per pair of nodes (per life) and
// cached. No identity is bound once per link instead: links are hop by hop, and the node that
// must know who called is at the far end. The tag covers the call's routing and identity
// (origin, destination, realm, procedure, callee), not its payload: the payload is protected hop
// by hop (link integrity tags or TLS); a member on the path can drop or delay a call, not make it
// another caller's.
//
// Nor does it cover the call ID, so that both ends keep the tags of the last few hundred
// (caller, procedure, callee) of each pair of nodes and a call among them costs no hash at all
// (it was 14-16% of the busy time of a call's origin and of its destination node, BENCHMARKS.md,
// issue 20).
// What a member on the path could do with a tag under another ID, call that procedure as that
// caller again with a payload of its own, it can already do with a tag that covers the ID: the
// destination forgets a call's ID once it is answered, so the same frame passed on again is
// taken as a new call. Link protocol version 8 (links/auth.ts) marks the change.

import crypto, { type KeyObject } from 'node:crypto';
import { UNDISCLOSED_CALLER } from '../../router/call-options.ts';
import type { Dict } from '../../wamp/messages.ts';
import type { CallFrame, NodeId } from './frames.ts';

/** [session, authid, authrole, disclosed]: the caller as its node knows it. */
export type CallerIdentity = readonly [number, string, string, boolean];

const IDENTITY_KEYS = ['caller', 'caller_authid', 'caller_authrole', UNDISCLOSED_CALLER] as const;
const TAG_SIZE = 16;
const MAX_SESSIONS = 10_000;

/**
 * The caller's identity in the details the Dealer invokes a callee with, if they hold it (the
 * Dealer puts it there for every callee on another router): a call's frame carries it in `who`
 * (remote-targets.ts), its details without it (withoutIdentity).
 */
export function callerIdentity(d: Dict): CallerIdentity | undefined {
  if (typeof d.caller_authid !== 'string' || typeof d.caller_authrole !== 'string' || typeof d.caller !== 'number')
    return undefined;
  return [d.caller, d.caller_authid, d.caller_authrole, d[UNDISCLOSED_CALLER] !== true];
}

/** The details without the caller's identity (callerIdentity's keys). */
export function withoutIdentity(d: Dict): Dict {
  // Most calls' details hold nothing else: no copy key by key then.
  for (const k in d) if (!(IDENTITY_KEYS as readonly string[]).includes(k)) return without(d, IDENTITY_KEYS);
  return {};
}

/** The details the callee's node invokes with: the caller's identity from `who`, if disclosed. */
export function detailsFor(frame: CallFrame): Dict {
  const details = withoutIdentity(frame.details);
  const who = frame.who;
  if (who?.[3] === true) Object.assign(details, { caller: who[0], caller_authid: who[1], caller_authrole: who[2] });
  return details;
}

// Copied without the keys rather than with `delete` (which leaves V8 a slow dictionary object
// that every encoder on the way then pays for). Most calls' details hold nothing else.
function without(d: Dict, keys: readonly string[]): Dict {
  const out: Dict = {};
  for (const k of Object.keys(d)) {
    if (keys.includes(k)) continue;
    // A peer's "__proto__" key stays a plain key, as with a spread.
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: d[k], enumerable: true, writable: true, configurable: true });
    else out[k] = d[k];
  }
  return out;
}

function rawX25519(key: KeyObject): Uint8Array {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
}

/** This node's half: its DH key for this life, and the pair keys it agreed with other nodes. */
export class OriginIdentities {
  readonly self: NodeId;
  /** Published in this node's advertisements (Lsa.dh). */
  readonly publicKey: Uint8Array;
  readonly #private: KeyObject;
  readonly #dhOf: (node: NodeId) => Uint8Array | undefined;
  /** Per node: the key agreed, its DH key (a copy) and the advertisement's array it was last checked against. */
  readonly #pairs = new Map<NodeId, { dh: Uint8Array; from: Uint8Array; key: PairMac }>();
  /** A number per remote caller identity (sessionOf). */
  readonly #sessions = new Map<string, number>();
  #sessionGen = 0;
  #lastSession = { origin: '', authid: '', authrole: '', id: 0, gen: -1 };
  readonly #sealed = new LastTag();
  readonly #checked = new LastTag();

  /** `dhOf`: the DH key a node's (signature-checked) advertisement publishes. */
  constructor(self: NodeId, dhOf: (node: NodeId) => Uint8Array | undefined) {
    this.self = self;
    this.#dhOf = dhOf;
    const pair = crypto.generateKeyPairSync('x25519');
    this.#private = pair.privateKey;
    this.publicKey = rawX25519(pair.publicKey);
  }

  /**
   * A number standing for a caller identity of another node here: the authorizer caches its
   * decisions per session number, and one proxy (RemoteCaller) carries every caller of a node.
   * Below any session or proxy ID; bounded (past it the numbers start over: only caching suffers).
   */
  sessionOf(origin: NodeId, who: CallerIdentity): number {
    // Calls come in runs from one caller: the last one's number is kept at hand.
    const last = this.#lastSession;
    if (last.origin === origin && last.authid === who[1] && last.authrole === who[2] && last.gen === this.#sessionGen)
      return last.id;
    const k = `${origin}\u0000${who[1]}\u0000${who[2]}`;
    let id = this.#sessions.get(k);
    if (id === undefined) {
      if (this.#sessions.size >= MAX_SESSIONS) {
        this.#sessions.clear();
        this.#sessionGen++;
      }
      this.#sessions.set(k, (id = -(2 ** 40) - this.#sessions.size));
    }
    this.#lastSession = { origin, authid: who[1], authrole: who[2], id, gen: this.#sessionGen };
    return id;
  }

  /**
   * The frame of a call made here, its caller's identity in `who` (callerIdentity), tagged for
   * its destination (untagged if it cannot be: no DH key known yet).
   */
  seal(frame: CallFrame): CallFrame {
    const key = frame.who === undefined ? undefined : this.#pairKey(frame.dst);
    // The proxy made the frame for this one send (remote-targets.ts): its tag goes in place.
    if (key !== undefined) (frame as { mac?: Uint8Array }).mac = this.#sealed.tag(key, frame);
    return frame;
  }

  /** Why a call that reached its destination here is not its origin's, if it is not. */
  problem(frame: CallFrame): string | undefined {
    if (frame.who === undefined || frame.mac === undefined) return 'the call carries no origin-bound identity';
    const key = this.#pairKey(frame.origin);
    if (key === undefined) return `no key agreed with ${frame.origin} (its advertisement has not arrived)`;
    const expected = this.#checked.tag(key, frame);
    if (frame.mac.length !== TAG_SIZE || !crypto.timingSafeEqual(expected, frame.mac))
      return `the caller's identity is not the one ${frame.origin} bound (changed on the way, or forged)`;
    return undefined;
  }

  /** The key this node shares with `peer` (undefined while its advertisement, with its DH key, has not arrived). */
  keyWith(peer: NodeId): PairMac | undefined {
    return this.#pairKey(peer);
  }

  #pairKey(peer: NodeId): PairMac | undefined {
    const dh = this.#dhOf(peer);
    if (dh === undefined) return undefined;
    const known = this.#pairs.get(peer);
    // The advertisement's own key (the same object until the next one arrives), or one equal to it.
    if (known !== undefined && (known.from === dh || Buffer.compare(known.dh, dh) === 0)) {
      known.from = dh;
      return known.key;
    }
    let shared: Buffer;
    try {
      const publicKey = crypto.createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(dh).toString('base64url') },
        format: 'jwk',
      });
      shared = crypto.diffieHellman({ privateKey: this.#private, publicKey });
    } catch {
      return undefined;
    }
    // Both ends name the pair in the same order (the smaller node id first), so both derive one key.
    const [x, y] = this.self < peer ? [this.self, peer] : [peer, this.self];
    const key = new PairMac(
      Buffer.from(crypto.hkdfSync('sha256', shared, Buffer.alloc(0), `wampmesh-origin/1\u0000${x}\u0000${y}`, 32)),
    );
    this.#pairs.set(peer, { dh: Uint8Array.from(dh), from: dh, key });
    return key;
  }
}

/**
 * The tag of the last call tagged or checked, kept with what it covers: calls come in runs of
 * one caller's to one procedure, and comparing the fields costs less than writing their text.
 */
class LastTag {
  // The fields, not the frame: a frame would keep its payload alive until the next call.
  #key: PairMac | undefined;
  #fields: unknown[] = [];
  #tag: Buffer | undefined;

  tag(key: PairMac, f: CallFrame): Buffer {
    const l = this.#fields;
    const who = f.who!;
    // Equal fields (===) write the same text: the tag of the last one holds.
    if (
      key === this.#key &&
      f.origin === l[0] &&
      f.dst === l[1] &&
      f.realm === l[2] &&
      f.procedure === l[3] &&
      f.match === l[4] &&
      f.session === l[5] &&
      who[0] === l[6] &&
      who[1] === l[7] &&
      who[2] === l[8] &&
      who[3] === l[9]
    )
      return this.#tag!;
    const out = key.cachedTag(JSON.stringify([f.origin, f.dst, f.realm, f.procedure, f.match, f.session, who]));
    this.#key = key;
    this.#fields = [f.origin, f.dst, f.realm, f.procedure, f.match, f.session, who[0], who[1], who[2], who[3]];
    this.#tag = out;
    return out;
  }
}

// Tags kept per pair key: callers times procedures in use between two nodes. Past it the cache
// starts over, and longer texts are not kept (a member's frames can fill it: that costs hashes,
// at most CACHED_TAGS x CACHED_TEXT of memory, about 1 MB).
const CACHED_TAGS = 512;
const CACHED_TEXT = 1024;

const BLOCK = 64; // SHA-256's block size: HMAC pads the key to it

/**
 * HMAC-SHA256 with one pair key, truncated to TAG_SIZE, computed as links/integrity.ts does:
 * the key's pads hashed by hand with one-shot crypto.hash() over a buffer kept from one tag to
 * the next, digests as binary (latin1) strings. About 1.2 us a tag instead of 2.7 with createHmac (whose
 * set-up dominates for such small inputs); the same HMAC (the tests check it against createHmac).
 */
export class PairMac {
  #scratch: Buffer;
  readonly #outer = Buffer.alloc(BLOCK + 32, 0x5c);
  readonly #tags = new Map<string, Buffer>();

  constructor(key: Uint8Array) {
    const ipad = Buffer.alloc(BLOCK, 0x36);
    for (let i = 0; i < key.length; i++) {
      ipad[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
    this.#scratch = Buffer.allocUnsafe(BLOCK + 1024);
    this.#scratch.set(ipad, 0);
  }

  /** tag(), remembered for the next call with the same text (the returned Buffer is shared: not to be changed). */
  cachedTag(text: string): Buffer {
    if (text.length > CACHED_TEXT) return this.tag(text);
    let out = this.#tags.get(text);
    if (out === undefined) {
      if (this.#tags.size >= CACHED_TAGS) this.#tags.clear();
      this.#tags.set(text, (out = this.tag(text)));
    }
    return out;
  }

  tag(text: string): Buffer {
    // At most 3 octets a UTF-16 unit: with room for that, the text is written without measuring it first.
    this.#room(BLOCK + 3 * text.length);
    return this.#finish(BLOCK + this.#scratch.write(text, BLOCK, 'utf8'));
  }

  /** The tag of `text` (UTF-8) followed by `bytes`. */
  tagBytes(text: string, bytes: Uint8Array): Buffer {
    const head = Buffer.byteLength(text);
    const size = BLOCK + head + bytes.length;
    this.#room(size);
    this.#scratch.write(text, BLOCK, 'utf8');
    this.#scratch.set(bytes, BLOCK + head);
    return this.#finish(size);
  }

  #room(size: number): void {
    if (size <= this.#scratch.length) return;
    const bigger = Buffer.allocUnsafe(size);
    bigger.set(this.#scratch.subarray(0, BLOCK), 0);
    this.#scratch = bigger;
  }

  #finish(size: number): Buffer {
    this.#outer.write(crypto.hash('sha256', this.#scratch.subarray(0, size), 'binary'), BLOCK, 'binary');
    const out = Buffer.allocUnsafe(TAG_SIZE);
    out.write(crypto.hash('sha256', this.#outer, 'binary'), 0, TAG_SIZE, 'binary');
    return out;
  }
}
