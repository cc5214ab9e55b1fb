// Payload passthrough: the Arguments and ArgumentsKw of a message the router received, as the
// bytes they arrived in. A message forwarded to a peer of the same serialization (CALL ->
// INVOCATION, YIELD -> RESULT, ERROR -> ERROR, PUBLISH -> EVENT) then carries those bytes
// instead of re-encoding the decoded values; a peer of another serialization gets the values
// transcoded as before. The frame has been decoded and validated in full either way: only the
// encoding is saved, and the callee or subscriber gets the caller's or publisher's exact bytes.
//
// Lazy: the span is looked up on the first same-serialization encoding. A RawPayload holds its
// frame, so it lives only as long as the message being routed (never in retained events).

import { hasKeys } from './has-keys.ts';
import type { Serializer } from '../serializers/serializer.ts';

export class RawPayload {
  readonly serializer: Serializer;
  readonly #frame: Uint8Array;
  /** Index of Arguments in the message array. */
  readonly #index: number;
  /** How many elements follow from there: 1 (Arguments) or 2 (and ArgumentsKw). */
  readonly #count: number;
  #tail: Uint8Array | null | undefined;

  constructor(serializer: Serializer, frame: Uint8Array, index: number, count: number) {
    this.serializer = serializer;
    this.#frame = frame;
    this.#index = index;
    this.#count = count;
  }

  /** `head` (the message's elements before Arguments) with this payload; null: encode the values instead. */
  encode(head: unknown[]): Uint8Array | null {
    const s = this.serializer;
    if (s.span === undefined || s.encodeWithTail === undefined) return null;
    if (this.#tail === undefined) {
      const span = s.span(this.#frame, this.#index);
      this.#tail = span === null ? null : this.#frame.subarray(span.start, span.end);
    }
    return this.#tail === null ? null : s.encodeWithTail(head, this.#tail, this.#count);
  }
}

// Below this size re-encoding the values costs no more than finding and copying their bytes
// (an INVOCATION, in all three serializations, measured on the project's 2-core machine: the
// two break even at 60-70 octets of CALL; at 400 octets splicing takes a fifth of the time).
const MIN_FRAME = 96;

// Where Arguments sit in the messages a router receives and forwards.
const ARGS_INDEX: Partial<Record<number, number>> = { 8: 5, 16: 4, 48: 4, 70: 3 };

/** The payload of a frame (`array`: its decoded value, valid per parseMessage), or undefined when it has none to pass through. */
export function rawPayloadOf(serializer: Serializer, frame: Uint8Array, array: unknown[]): RawPayload | undefined {
  const index = ARGS_INDEX[array[0] as number];
  if (frame.length < MIN_FRAME || index === undefined || array.length <= index || serializer.span === undefined)
    return undefined;
  // Only a payload that toArray() would write as it is: empty Arguments and ArgumentsKw are
  // left out of forwarded messages, and that stays so whatever the serialization.
  const count = array.length - index;
  const args = array[index] as unknown[];
  if (count === 1 ? args.length === 0 : !hasKeys(array[index + 1] as Record<string, unknown>)) return undefined;
  return new RawPayload(serializer, frame, index, count);
}
