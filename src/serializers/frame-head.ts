// A frame of a message with a payload, split on its bytes into the elements before Arguments
// (re-framed as a short list of their own, for the decoder) and the payload, which is checked
// but not decoded (payload-check.ts). Only the common layout is split: a top-level list of at
// most 23 (CBOR) or 15 (MsgPack) elements with a one-octet head and the message type as a small
// integer, or a JSON text that starts with "[" and a type code. Anything else gives null and is
// decoded whole, as before.

import { checkJsonPayload } from './json-payload-check.ts';
import { checkCborPayload, checkMsgpackPayload } from './payload-check.ts';
import { cborSpan, jsonSpan, msgpackSpan } from './payload-span.ts';

/** Where Arguments start in a message of each type code that may carry a payload to split. */
export type ArgsIndex = Readonly<Partial<Record<number, number>>>;

export interface PayloadSplit {
  readonly type: number;
  /** Index of Arguments in the message. */
  readonly index: number;
  /** The `index` elements before Arguments, framed as a list of their own (unless `decoded`). */
  readonly head: Uint8Array;
  /**
   * The `index` elements before Arguments, already decoded by the split (cbor-read.ts,
   * json-head.ts). Always present, if undefined: splits of one shape keep RawPayload's code
   * monomorphic (two shapes made 4 KB calls 20-30% slower once small ones had run).
   */
  readonly decoded: unknown[] | undefined;
  /** [start, end) of the payload in the frame: `count` elements, Arguments and maybe ArgumentsKw. */
  readonly start: number;
  readonly end: number;
  readonly count: number;
}

/** What differs between CBOR and MsgPack for the split. */
interface BinaryFormat {
  /** The first octet of a list of 0 elements in one octet (CBOR 0x80, MsgPack 0x90), and the most it holds. */
  readonly shortList: number;
  readonly maxShort: number;
  /** The message type from the octets after the list's head; -1 if it is not a small integer. */
  typeAt(frame: Uint8Array): number;
  span(frame: Uint8Array, index: number): { start: number; end: number } | null;
  check(frame: Uint8Array, start: number, end: number, count: number): boolean;
}

const CBOR: BinaryFormat = {
  shortList: 0x80,
  maxShort: 23,
  typeAt: (f) => (f[1]! < 24 ? f[1]! : f[1] === 0x18 ? f[2]! : -1),
  span: cborSpan,
  check: checkCborPayload,
};

const MSGPACK: BinaryFormat = {
  shortList: 0x90,
  maxShort: 15,
  typeAt: (f) => (f[1]! <= 0x7f ? f[1]! : f[1] === 0xcc ? f[2]! : -1),
  span: msgpackSpan,
  check: checkMsgpackPayload,
};

function splitBinary(frame: Uint8Array, argsIndex: ArgsIndex, format: BinaryFormat): PayloadSplit | null {
  const length = frame[0]! - format.shortList;
  if (!(length >= 0 && length <= format.maxShort)) return null;
  const type = format.typeAt(frame);
  const index = argsIndex[type];
  if (index === undefined || length <= index) return null;
  const span = format.span(frame, index);
  const count = length - index;
  if (span === null || !format.check(frame, span.start, span.end, count)) return null;
  // The elements before the payload, after the head of a list of `index` of them.
  const head = new Uint8Array(span.start);
  head[0] = format.shortList | index;
  head.set(frame.subarray(1, span.start), 1);
  return { type, index, head, decoded: undefined, start: span.start, end: span.end, count };
}

/** Throws InvalidPayload on a payload of invalid UTF-8. */
export function splitCbor(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null {
  return splitBinary(frame, argsIndex, CBOR);
}

/** Throws InvalidPayload on a payload of invalid UTF-8. */
export function splitMsgpack(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null {
  return splitBinary(frame, argsIndex, MSGPACK);
}

/** Throws InvalidPayload on a payload of invalid UTF-8. */
export function splitJson(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null {
  if (frame[0] !== 0x5b) return null;
  let i = 1;
  while (frame[i] === 0x20) i++;
  let type = 0;
  const from = i;
  for (let c = frame[i]!; c >= 0x30 && c <= 0x39 && i - from < 3; c = frame[++i]!) type = type * 10 + c - 0x30;
  const index = i > from ? argsIndex[type] : undefined;
  if (index === undefined) return null;
  const span = jsonSpan(frame, index);
  if (span === null) return null;
  const count = checkJsonPayload(frame, span.start, span.end);
  if (count === 0) return null;
  // "[h1,h2, <payload>]" -> "[h1,h2]": the comma before the payload becomes the closing bracket.
  let comma = span.start - 1;
  while (frame[comma] !== 0x2c) comma--;
  const head = new Uint8Array(comma + 1);
  head.set(frame.subarray(0, comma), 0);
  head[comma] = 0x5d;
  return { type, index, head, decoded: undefined, start: span.start, end: span.end, count };
}
