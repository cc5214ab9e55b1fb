// Router-to-router frames. Another router is a peer like any other: every frame is validated
// before use, and a bad one ends the link with a reason, never the process.

import { cbor } from '../../serializers/cbor.ts';
import { embeddedCbor } from '../../serializers/payload-span.ts';
import { FRAME_TYPES, namedFields, wireFields } from './field-numbers.ts';
import type { Dict } from '../../wamp/messages.ts';
import type { CborItems, RawPayload } from '../../wamp/raw-payload.ts';
import { isDict } from '../../wamp/parse.ts';
import type { NodeId } from '../node-id.ts';
import { validateReplicationFrame, type ReplicationFrame } from '../replication/frames.ts';
import { validateStatement, type MemberStatement } from '../trust/statements.ts';
import {
  detailsOk,
  isId,
  isInt,
  isMap,
  isMatch,
  isStr,
  MAX_SELECTIVE,
  optDict,
  optList,
  sealOk,
  whoOk,
} from './frame-values.ts';

export type { NodeId } from '../node-id.ts';

/** One registration as advertised by its node: the callees stay on that node. */
export interface RegistrationAd {
  readonly procedure: string;
  readonly match: 'exact' | 'prefix' | 'wildcard';
  readonly invoke: string;
  /** Callee sessions, with the callee features the origin's dealer must respect. */
  readonly callees: readonly { readonly session: number; readonly features: readonly string[] }[];
}

export interface SubscriptionAd {
  readonly topic: string;
  readonly match: 'exact' | 'prefix' | 'wildcard';
}

export interface RealmAd {
  readonly registrations: readonly RegistrationAd[];
  readonly subscriptions: readonly SubscriptionAd[];
}

/** Link-state advertisement: a node's neighbours and what it serves, flooded to all nodes. */
export interface Lsa {
  readonly t: 'lsa';
  readonly origin: NodeId;
  /** (epoch, seq) orders advertisements; epoch is the node's start time so a restart wins. */
  readonly epoch: number;
  readonly seq: number;
  readonly links: readonly NodeId[];
  readonly realms: Readonly<Record<string, RealmAd>>;
  /** The origin's X25519 public key for this life: binds the identities of its calls (routing/origin-identity.ts). */
  readonly dh?: Uint8Array;
  /** The origin's Ed25519 signature over the rest (trust/lsa-signature.ts). */
  readonly sig?: Uint8Array;
}

export interface CallFrame {
  readonly t: 'call';
  readonly origin: NodeId;
  readonly dst: NodeId;
  readonly id: number;
  readonly realm: string;
  readonly procedure: string;
  readonly match: RegistrationAd['match'];
  readonly session: number;
  readonly details: Dict;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
  /** On a frame made here: args and kwargs as the caller's CBOR octets, written as they are (RawPayload.cborItems). */
  readonly raw?: CborItems;
  /** On a frame read here: args and kwargs checked on their octets and left undecoded (routed-reader.ts). */
  readonly payload?: RawPayload;
  /** The caller as its node knows it, and the tag binding it to that node (routing/origin-identity.ts). */
  readonly who?: readonly [number, string, string, boolean];
  readonly mac?: Uint8Array;
}
/** A further chunk of a progressive call invocation. */
export interface ChunkFrame {
  readonly t: 'chunk';
  readonly origin: NodeId;
  readonly dst: NodeId;
  readonly id: number;
  readonly realm: string;
  readonly progress: boolean;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
}
export interface CancelFrame {
  readonly t: 'cancel';
  readonly origin: NodeId;
  readonly dst: NodeId;
  readonly id: number;
  readonly realm: string;
  readonly mode: string;
}
export interface ResultFrame {
  readonly t: 'result';
  readonly origin: NodeId;
  readonly dst: NodeId;
  readonly id: number;
  readonly realm: string;
  readonly progress: boolean;
  readonly details: Dict;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
  /** On a frame made here: args and kwargs as the callee's CBOR octets (as CallFrame.raw). */
  readonly raw?: CborItems;
  /** On a frame read here: args and kwargs left undecoded (as CallFrame.payload). */
  readonly payload?: RawPayload;
}
export interface ErrorFrame {
  readonly t: 'error';
  readonly origin: NodeId;
  readonly dst: NodeId;
  readonly id: number;
  readonly realm: string;
  readonly error: string;
  readonly details: Dict;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
}
// [event, src, ep, dsts, seqs, lives, ttl, ls, one of: b | skip, seals?]
export interface EventFrame {
  readonly t: 'event';
  readonly src: NodeId;
  /** The origin's epoch (its LSA epoch): a restarted origin numbers its events anew. */
  readonly ep: number;
  /** The nodes this copy is for; each hop splits the list by next hop. */
  readonly dsts: readonly NodeId[];
  /** Per destination (same index as dsts): the origin's number for this event to that node, from 1. */
  readonly seqs: readonly number[];
  /** Per destination: the epoch of the destination's life the number counts in (a restarted node is numbered anew). */
  readonly lives: readonly number[];
  /** Hops this copy may still take: bounds a copy caught in a transient routing loop. */
  readonly ttl: number;
  /** This link's number for the copy, acknowledged by the neighbour (AckFrame). */
  readonly ls: number;
  /**
   * The event (EventContent) as CBOR, as its origin encoded it: nodes on the way pass these
   * octets on unchanged and only the destinations decode them; the origin's seal covers them.
   */
  readonly b?: Uint8Array;
  /** No event, only its numbers: it was too large for a link on the way (the destinations skip them, not wait). */
  readonly skip?: true;
  /**
   * Seals (routing/event-seal.ts) riding with the event: per destination (same index as dsts),
   * null or the seal numbered just before this event (seqs[i] - 1) for it: the digests of the
   * events numbered from this one on, and the origin's tag over them. A batch's seal rides with
   * its first event for that destination, so a lone publication is one frame, not two.
   */
  readonly seals?: readonly (Seal | null)[];
}

/** [tag, digests]: 16 octets of HMAC-SHA256 with the pair key; 16 octets of SHA-256 per event covered. */
export type Seal = readonly [Uint8Array, Uint8Array];

/**
 * Hop-by-hop acknowledgement of event copies on one link, cumulative: r, the highest link number
 * received (the link is alive); c, the highest below which every copy has been delivered or
 * passed on and acknowledged in turn (the sender may forget them).
 */
export interface AckFrame {
  readonly t: 'ack';
  readonly r: number;
  readonly c: number;
  /** Copies above c complete since the last acknowledgement (a copy passed on a way that finished first). */
  readonly x?: readonly number[];
}

export type RoutedFrame = CallFrame | ChunkFrame | CancelFrame | ResultFrame | ErrorFrame;

/** Whether `t` is the type of a call's frame (RoutedFrame). */
export function isRoutedType(t: unknown): t is RoutedFrame['t'] {
  return (FRAME_TYPES as readonly unknown[]).includes(t);
}
export type MeshFrame = Lsa | RoutedFrame | EventFrame | AckFrame | ReplicationFrame | MemberStatement;

/**
 * A call's frame as received (links/envelope.ts reads it so), for a node on its path that only
 * passes it on: the routing header read, the rest (details, args, kwargs) left as the bytes it
 * came in and sent on as they are, not decoded, validated or encoded again. The node the frame
 * is for decodes and validates it whole (decodePassed) before acting on it.
 */
export class PassedFrame {
  readonly t: RoutedFrame['t'];
  readonly origin: NodeId;
  readonly dst: NodeId;
  readonly id: number;
  readonly realm: string;
  /** chunk and result: more follow; false for the others. */
  readonly progress: boolean;
  /** cancel: its mode; '' for the others. */
  readonly mode: string;
  /** error: its URI; '' for the others. */
  readonly error: string;
  /** The frame's CBOR item, as received. */
  readonly encoded: Uint8Array;
  /**
   * On the node the frame is for: the frame read whole and validated when it arrived (or what is
   * wrong with it), as decodePassed() would answer; undefined: not read yet.
   */
  whole: RoutedFrame | string | undefined = undefined;

  constructor(
    header: Pick<PassedFrame, 't' | 'origin' | 'dst' | 'id' | 'realm' | 'progress' | 'mode' | 'error'>,
    encoded: Uint8Array,
  ) {
    this.t = header.t;
    this.origin = header.origin;
    this.dst = header.dst;
    this.id = header.id;
    this.realm = header.realm;
    this.progress = header.progress;
    this.mode = header.mode;
    this.error = header.error;
    this.encoded = encoded;
  }
}

/** A frame to send: one made here, or one passed on as it came. */
export type OutgoingFrame = MeshFrame | PassedFrame;

/** The whole frame of a passed one, validated; or a sentence naming what is wrong with it. */
export function decodePassed(frame: PassedFrame): RoutedFrame | string {
  let value: unknown;
  const embedded = embeddedCbor(frame.encoded, 0);
  try {
    value = cbor.decode(embedded ?? frame.encoded);
  } catch (error) {
    return `undecodable ${frame.t} frame: ${(error as Error).message}`;
  }
  if (embedded !== undefined) {
    value = namedFields(value);
    if (typeof value === 'string') return `${frame.t} frame: ${value}`;
  }
  const full = validateFrame(value);
  if (typeof full === 'string') return full;
  if (full.t !== frame.t) return `${frame.t} frame read as ${full.t}`;
  // The nodes on its way routed it by the header read from its octets (the first value of each
  // key): decoded otherwise (a repeated key's last value), it is refused, not taken as another call's.
  const f = full as RoutedFrame;
  const same =
    f.origin === frame.origin &&
    f.dst === frame.dst &&
    f.id === frame.id &&
    f.realm === frame.realm &&
    ('progress' in f ? f.progress : false) === frame.progress &&
    ('mode' in f ? f.mode : '') === frame.mode &&
    ('error' in f ? f.error : '') === frame.error;
  return same ? f : `${frame.t} frame: its routing header reads two ways`;
}

/** Returns the frame, or a sentence naming what is wrong with it. */
export function validateFrame(v: unknown): MeshFrame | string {
  if (!isMap(v) || !isStr(v.t)) return 'a frame must be a dict with a string "t"';
  switch (v.t) {
    case 'lsa':
      if (
        !isStr(v.origin) ||
        !isInt(v.epoch) ||
        !isInt(v.seq) ||
        !Array.isArray(v.links) ||
        !v.links.every(isStr) ||
        !isMap(v.realms) ||
        !(v.sig === undefined || (v.sig instanceof Uint8Array && v.sig.length === 64)) ||
        !(v.dh === undefined || (v.dh instanceof Uint8Array && v.dh.length === 32))
      )
        return 'lsa: bad header';
      for (const [realm, ad] of Object.entries(v.realms)) {
        if (!isMap(ad) || !Array.isArray(ad.registrations) || !Array.isArray(ad.subscriptions))
          return `lsa: realm ${realm}: bad ad`;
        for (const r of ad.registrations) {
          if (!isMap(r) || !isStr(r.procedure) || !isMatch(r.match) || !isStr(r.invoke) || !Array.isArray(r.callees))
            return `lsa: realm ${realm}: bad registration`;
          if (
            !r.callees.every(
              (c) => isMap(c) && isInt(c.session) && Array.isArray(c.features) && c.features.every(isStr),
            )
          )
            return `lsa: realm ${realm}: bad callee`;
        }
        for (const s of ad.subscriptions)
          if (!isMap(s) || !isStr(s.topic) || !isMatch(s.match)) return `lsa: realm ${realm}: bad subscription`;
      }
      return v as unknown as Lsa;
    case 'call':
    case 'chunk':
    case 'cancel':
    case 'result':
    case 'error':
      return validateRoutedFrame(wireFields(v as Dict & { t: RoutedFrame['t'] }));
    case 'event': {
      if (
        !isStr(v.src) ||
        !isInt(v.ep) ||
        !Array.isArray(v.dsts) ||
        !v.dsts.every(isStr) ||
        !Array.isArray(v.seqs) ||
        v.seqs.length !== v.dsts.length ||
        !v.seqs.every(isId) ||
        !Array.isArray(v.lives) ||
        v.lives.length !== v.dsts.length ||
        !v.lives.every(isInt) ||
        !isInt(v.ttl) ||
        !isInt(v.ls) ||
        v.ls < 1
      )
        return 'event: bad header';
      if ((v.b === undefined) === (v.skip === undefined)) return 'event: not exactly one of b, skip';
      if (v.b !== undefined && !(v.b instanceof Uint8Array)) return 'event: bad b';
      if (v.skip !== undefined && v.skip !== true) return 'event: bad skip';
      if (
        v.seals !== undefined &&
        !(
          Array.isArray(v.seals) &&
          v.seals.length === v.dsts.length &&
          // A seal's own number is the one before its event's: an event numbered 1 carries none.
          v.seals.every((x, i) => x === null || (sealOk(x) && (v.seqs as number[])[i]! > 1))
        )
      )
        return 'event: bad seals';
      return v as unknown as EventFrame;
    }
    case 'ack':
      return isInt(v.r) &&
        v.r >= 0 &&
        isInt(v.c) &&
        v.c >= 0 &&
        (v.x === undefined || (Array.isArray(v.x) && v.x.length <= MAX_SELECTIVE && v.x.every(isInt)))
        ? (v as unknown as AckFrame)
        : 'ack: bad fields';
    case 'member':
      return validateStatement(v);
    default:
      if (v.t.startsWith('repl-')) return validateReplicationFrame(v) as MeshFrame | string;
      return `unknown frame type ${JSON.stringify(v.t).slice(0, 40)}`;
  }
}

/**
 * A call's frame (validateFrame's cases for them): also what routed-reader.ts checks the frames
 * it reads with, so that these checks see few shapes of object (V8 then keeps them fast; behind
 * validateFrame's switch over every kind of frame, its property reads were a twentieth of a
 * caller's node's CPU in the 3-hop bench).
 */
export function validateRoutedFrame(v: Dict & { t: RoutedFrame['t'] }): RoutedFrame | string {
  switch (v.t) {
    case 'call':
      return routed(v) &&
        isStr(v.procedure) &&
        isMatch(v.match) &&
        isInt(v.session) &&
        isMap(v.details) &&
        detailsOk(v.details) &&
        optList(v.args) &&
        optDict(v.kwargs) &&
        whoOk(v.who) &&
        (v.mac === undefined || v.mac instanceof Uint8Array)
        ? (v as unknown as CallFrame)
        : 'call: bad fields';
    case 'chunk':
      return routed(v) && typeof v.progress === 'boolean' && optList(v.args) && optDict(v.kwargs)
        ? (v as unknown as ChunkFrame)
        : 'chunk: bad fields';
    case 'cancel':
      return routed(v) && isStr(v.mode) ? (v as unknown as CancelFrame) : 'cancel: bad fields';
    case 'result':
      return routed(v) &&
        typeof v.progress === 'boolean' &&
        isMap(v.details) &&
        detailsOk(v.details) &&
        optList(v.args) &&
        optDict(v.kwargs)
        ? (v as unknown as ResultFrame)
        : 'result: bad fields';
    case 'error':
      return routed(v) && isStr(v.error) && isDict(v.details) && optList(v.args) && optDict(v.kwargs)
        ? (v as unknown as ErrorFrame)
        : 'error: bad fields';
  }
}

function routed(v: Dict): boolean {
  return isStr(v.origin) && isStr(v.dst) && isInt(v.id) && isStr(v.realm);
}
