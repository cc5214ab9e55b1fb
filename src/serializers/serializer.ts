// One interface for the three WAMP serializations. Binary values are Uint8Array inside the
// router whatever the wire format (JSON carries them as "\0" + base64, per the spec).

import type { Span } from './payload-span.ts';

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
   * Passthrough: where the elements from `index` to the end of a decoded frame's top-level
   * array lie in its bytes; null when they cannot be found (the caller then re-encodes).
   */
  span?(frame: Uint8Array, index: number): Span | null;
  /**
   * Passthrough: `head` encoded as an array that goes on with `count` elements already encoded
   * in this serialization (`tail`, a span of a frame); null when it cannot be done.
   */
  encodeWithTail?(head: unknown[], tail: Uint8Array, count: number): Uint8Array | null;
}
