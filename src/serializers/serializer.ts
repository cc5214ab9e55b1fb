// One interface for the three WAMP serializations. Binary values are Uint8Array inside the
// router whatever the wire format (JSON carries them as "\0" + base64, per the spec).

import type { ArgsIndex, PayloadSplit } from './frame-head.ts';

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export interface Serializer {
  readonly name: SerializerName;
  /** RawSocket serializer id: 1 JSON, 2 MsgPack, 3 CBOR. */
  readonly rawsocketId: 1 | 2 | 3;
  /** WebSocket subprotocol, e.g. "wamp.2.json". */
  readonly subprotocol: string;
  /** WebSocket frames are binary for MsgPack and CBOR, text for JSON. */
  readonly binary: boolean;
  /** Encodes one message array. Throws on values it cannot represent. */
  encode(message: unknown[]): Uint8Array;
  /** Decodes one frame. Throws (any error) on malformed input; the caller turns that into ABORT. */
  decode(frame: Uint8Array): unknown;
  /**
   * Passthrough: a frame of a message with a payload (`argsIndex`: where Arguments start, by
   * type code) split into the elements before the payload, framed on their own, and the
   * payload, checked on its bytes to hold only plain values; null when it cannot be (the caller
   * decodes the whole frame). Throws when a string in the payload is not valid UTF-8.
   */
  splitPayload?(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null;
  /**
   * splitPayload() for frames under MIN_FRAME (src/wamp/raw-payload.ts), of CALL and YIELD: a
   * split that reads the elements before the payload in the same pass, cheap enough to pay for
   * itself on small frames; null: decode the frame whole. Where undefined, small frames are not split.
   */
  splitSmall?(frame: Uint8Array, argsIndex: ArgsIndex): PayloadSplit | null;
  /**
   * Passthrough: `head` encoded as the start of a list that goes on with `count` elements already
   * encoded in this serialization (a payload passed through), which follow it, then
   * `payloadEnd`; null when it cannot be done.
   */
  encodeHead?(head: unknown[], count: number): Uint8Array | null;
  /**
   * Passthrough of a small payload: encodeHead() and the payload, `frame`'s octets [start, end),
   * copied after it into one frame; null when it cannot be done. Where undefined, the payload
   * always travels as a part of its own.
   */
  encodeSpliced?(head: unknown[], count: number, frame: Uint8Array, start: number, end: number): Uint8Array | null;
  /** What follows a payload passed through (JSON: the closing "]"); nothing when undefined. */
  readonly payloadEnd?: Uint8Array;
}
