// One interface for the three WAMP serializations. Binary values are Uint8Array inside the
// router whatever the wire format (JSON carries them as "\0" + base64, per the spec).

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
}
