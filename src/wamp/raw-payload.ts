// Payload passthrough: the Arguments and ArgumentsKw of a message the router received, kept as
// the bytes they arrived in. A message forwarded to a peer of the same serialization (CALL ->
// INVOCATION, YIELD -> RESULT, ERROR -> ERROR, PUBLISH -> EVENT) carries those bytes instead of
// re-encoding the values; a peer of another serialization, an in-process peer or the mesh gets
// the values, as before.
//
// The payload is checked on its bytes (src/serializers/payload-check.ts: structure, string
// UTF-8) and only passed through when it holds plain values. For CALL and YIELD it is not even
// decoded: the router decodes only the elements before it, and the values are decoded from the
// frame when something first reads them (a callee or caller of another serialization, a local
// procedure). ERROR and PUBLISH are still decoded whole, since the Broker and the Dealer's
// error path read their payloads anyway.
//
// A RawPayload holds its frame, so it lives only as long as the message being routed.

import type { ArgsIndex, PayloadSplit } from '../serializers/frame-head.ts';
import { cborItemEnd } from '../serializers/payload-span.ts';
import type { Serializer } from '../serializers/serializer.ts';
import {
  MessageType as T,
  type Args,
  type Call,
  type Dict,
  type Invocation,
  type Kwargs,
  type Message,
  type Result,
  type Yield,
} from './messages.ts';

// Below this size re-encoding the values costs no more than finding and copying their bytes
// (an INVOCATION, in JSON and MsgPack, measured on the project's 2-core machine: the two break
// even at 60-70 octets of CALL; at 400 octets splicing takes a fifth of the time). A serializer
// with a split that reads the elements before the payload in the same pass (`splitSmall`: CBOR,
// compact JSON) splits a smaller CALL or YIELD with it: there the split costs less than
// decoding the payload and writing it again, even for 32 octets (BENCHMARKS.md, issue 23).
export const MIN_FRAME = 96;

// Payloads up to this size are copied after the head rather than sent as a part of their own.
const SPLICE_BELOW = 256;

// Where Arguments sit in the messages a router receives and forwards: ERROR, PUBLISH, CALL, YIELD.
const ARGS_INDEX: ArgsIndex = { 8: 5, 16: 4, 48: 4, 70: 3 };
// Of small frames only CALL and YIELD, whose payloads are then never decoded; ERROR and PUBLISH
// are decoded whole anyway (see above), so splitting them would only add the check.
const SMALL_ARGS_INDEX: ArgsIndex = { 48: 4, 70: 3 };

/** A payload's Arguments (a CBOR list) and ArgumentsKw (a CBOR map, or none) as CBOR octets. */
export type CborItems = readonly [args: Uint8Array, kwargs: Uint8Array | undefined];

export class RawPayload {
  readonly serializer: Serializer;
  /** Whether the payload is decoded only when read (CALL, YIELD). */
  readonly deferred: boolean;
  readonly #frame: Uint8Array;
  readonly #split: PayloadSplit;
  #values: unknown[] | undefined;

  constructor(serializer: Serializer, frame: Uint8Array, split: PayloadSplit) {
    this.serializer = serializer;
    this.#frame = frame;
    this.#split = split;
    this.deferred = split.type === T.CALL || split.type === T.YIELD;
  }

  /**
   * The elements before Arguments, decoded (by the split itself, or from their own frame): what
   * the router reads of a CALL or YIELD. Throws, like a decoder, on what it refuses.
   */
  decodeHead(): unknown {
    return this.#split.decoded ?? this.serializer.decode(this.#split.head);
  }

  /** Arguments as decode() gives them (decoded from the frame on first use). */
  get args(): Args | undefined {
    return this.#decoded()[this.#split.index] as Args;
  }

  /** ArgumentsKw, or undefined when the message has none. */
  get kwargs(): Kwargs | undefined {
    return this.#split.count === 2 ? (this.#decoded()[this.#split.index + 1] as Kwargs) : undefined;
  }

  #decoded(): unknown[] {
    // The payload was checked to be plain values, which the decoder accepts.
    this.#values ??= this.serializer.decode(this.#frame) as unknown[];
    return this.#values;
  }

  /**
   * The message parsed from the frame's head (deferred) or from the whole frame (`value`):
   * CALL and YIELD become messages that read their payload from here.
   */
  attach(msg: Message, value: unknown): Message {
    if (!this.deferred) {
      this.#values = value as unknown[];
      return msg;
    }
    if (msg.type === T.CALL) return new CallWithRaw(msg.request, msg.options, msg.procedure, this);
    if (msg.type === T.YIELD) return new YieldWithRaw(msg.request, msg.options, this);
    return msg;
  }

  /**
   * Arguments and ArgumentsKw as the CBOR items they arrived as (views of the frame), for the
   * mesh's frames, which are CBOR: undefined for another serialization, or anything but a list
   * and a dict (payload-check.ts lets only those through; a mesh frame holding anything else
   * would be refused by the next router).
   */
  cborItems(): CborItems | undefined {
    if (this.serializer.name !== 'cbor') return undefined;
    const f = this.#frame;
    const { start, end, count } = this.#split;
    if (start >= end || f[start]! >> 5 !== 4) return undefined;
    if (count === 1) return [f.subarray(start, end), undefined];
    const mid = cborItemEnd(f, start);
    if (mid <= start || mid >= end || f[mid]! >> 5 !== 5) return undefined;
    return [f.subarray(start, mid), f.subarray(mid, end)];
  }

  /** `head` (the message's elements before Arguments) with this payload; null: encode the values instead. */
  encode(head: unknown[]): Uint8Array | null {
    const parts = this.parts(head);
    return parts === null ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * encode() as the parts of the frame, in order: the head, the payload (a view of the frame it
   * arrived in, not copied) and, in JSON, the closing bracket; a small payload is copied after
   * the head where the serializer can (one part costs less than parts to join).
   */
  parts(head: unknown[]): Uint8Array[] | null {
    const s = this.serializer;
    const { start, end, count } = this.#split;
    if (end - start <= SPLICE_BELOW && s.encodeSpliced !== undefined) {
      const whole = s.encodeSpliced(head, count, this.#frame, start, end);
      // Still a list: one return type keeps the callers' code monomorphic (a frame or a list
      // made 4 KB calls 20% slower once small ones had run).
      if (whole !== null) return [whole];
    }
    const prefix = s.encodeHead?.(head, count);
    if (prefix == null) return null;
    const payload = this.#frame.subarray(start, end);
    return s.payloadEnd === undefined ? [prefix, payload] : [prefix, payload, s.payloadEnd];
  }
}

/**
 * The payload of a frame, when it has one to pass through; undefined: decode the frame whole.
 * Throws (like a decoder) when a string in it is not UTF-8.
 */
export function rawPayloadOf(serializer: Serializer, frame: Uint8Array): RawPayload | undefined {
  return split(serializer, frame, ARGS_INDEX);
}

/**
 * rawPayloadOf() for the frames a session receives: of `MIN_FRAME` octets or more, or a smaller
 * CALL or YIELD that the serializer's `splitSmall` splits.
 */
export function receivedPayloadOf(serializer: Serializer, frame: Uint8Array): RawPayload | undefined {
  if (frame.length >= MIN_FRAME) return split(serializer, frame, ARGS_INDEX);
  const small = serializer.splitSmall?.(frame, SMALL_ARGS_INDEX);
  return small == null ? undefined : new RawPayload(serializer, frame, small);
}

function split(serializer: Serializer, frame: Uint8Array, argsIndex: ArgsIndex): RawPayload | undefined {
  const split = serializer.splitPayload?.(frame, argsIndex);
  return split == null ? undefined : new RawPayload(serializer, frame, split);
}

// Messages whose payload stays in a RawPayload: Arguments and ArgumentsKw are read from it,
// so a router forwarding them to a peer of the same serialization never decodes them. Spreading
// such a message would lose them (they are accessors), so nothing does.

class WithRaw {
  readonly raw: RawPayload;
  constructor(raw: RawPayload) {
    this.raw = raw;
  }
  get args(): Args | undefined {
    return this.raw.args;
  }
  get kwargs(): Kwargs | undefined {
    return this.raw.kwargs;
  }
}

class CallWithRaw extends WithRaw implements Call {
  readonly type = T.CALL;
  readonly request: number;
  readonly options: Dict;
  readonly procedure: string;
  constructor(request: number, options: Dict, procedure: string, raw: RawPayload) {
    super(raw);
    this.request = request;
    this.options = options;
    this.procedure = procedure;
  }
}

class YieldWithRaw extends WithRaw implements Yield {
  readonly type = T.YIELD;
  readonly request: number;
  readonly options: Dict;
  constructor(request: number, options: Dict, raw: RawPayload) {
    super(raw);
    this.request = request;
    this.options = options;
  }
}

class InvocationWithRaw extends WithRaw implements Invocation {
  readonly type = T.INVOCATION;
  readonly request: number;
  readonly registration: number;
  readonly details: Dict;
  constructor(request: number, registration: number, details: Dict, raw: RawPayload) {
    super(raw);
    this.request = request;
    this.registration = registration;
    this.details = details;
  }
}

class ResultWithRaw extends WithRaw implements Result {
  readonly type = T.RESULT;
  readonly request: number;
  readonly details: Dict;
  constructor(request: number, details: Dict, raw: RawPayload) {
    super(raw);
    this.request = request;
    this.details = details;
  }
}

/** Arguments and ArgumentsKw, read only when there is no RawPayload beside them. */
export interface Payload {
  readonly args?: Args | undefined;
  readonly kwargs?: Kwargs | undefined;
}

/** INVOCATION with `payload`'s values, or with `raw` (not read from `payload` then). */
export function invocationOf(
  request: number,
  registration: number,
  details: Dict,
  payload: Payload,
  raw: RawPayload | undefined,
): Invocation {
  if (raw !== undefined) return new InvocationWithRaw(request, registration, details, raw);
  return { type: T.INVOCATION, request, registration, details, args: payload.args, kwargs: payload.kwargs };
}

/** RESULT with `payload`'s values, or with `raw` (not read from `payload` then). */
export function resultOf(request: number, details: Dict, payload: Payload, raw: RawPayload | undefined): Result {
  if (raw !== undefined) return new ResultWithRaw(request, details, raw);
  return { type: T.RESULT, request, details, args: payload.args, kwargs: payload.kwargs };
}
