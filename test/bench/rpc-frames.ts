// The RPC load's frames, pre-encoded (rpc.ts): a CALL whose request ID is patched in place, the
// callee's answer with the request's ID copied over, and a RESULT's ID read at a fixed offset, so
// that the generator does the same small work per call against every target.

import type { Serializer } from '../../src/serializers/index.ts';
import { FIRST_ID } from './common.ts';

/** RawSocket header (MESSAGE, 24-bit length) and payload in one buffer. */
function rawsocketFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0); // type 0 (MESSAGE) in the first octet
  out.set(payload, 4);
  return out;
}

/** A pre-encoded CALL whose request ID is patched in place (RawSocket: with its frame header). */
export class CallTemplate {
  readonly #bytes: Buffer;
  readonly #text: string | null;
  readonly #at: number;
  readonly #json: boolean;

  constructor(serializer: Serializer, procedure: string, textFrames: boolean, framed: boolean, payload: string) {
    this.#json = serializer.name === 'json';
    const encoded = Buffer.from(serializer.encode([48, FIRST_ID, {}, procedure, [payload]]));
    const bytes = framed ? rawsocketFrame(encoded) : encoded;
    this.#at = this.#json
      ? bytes.indexOf(String(FIRST_ID))
      : bytes.indexOf(Buffer.from([0x1a, 0x10, 0x00, 0x00, 0x00])) + 1;
    if (this.#at <= 0) throw new Error('request ID placeholder not found');
    this.#bytes = bytes;
    this.#text = textFrames ? encoded.toString('utf8') : null;
  }

  /** A new frame each time: a socket may hold on to a written buffer until it is flushed. */
  frame(id: number): Buffer | string {
    if (this.#text !== null) return this.#text.slice(0, this.#at) + id + this.#text.slice(this.#at + 9);
    const out = Buffer.allocUnsafe(this.#bytes.length);
    this.#bytes.copy(out);
    if (this.#json) out.write(String(id), this.#at, 'latin1');
    else out.writeUInt32BE(id, this.#at);
    return out;
  }
}

/**
 * The callee's answer, pre-encoded: YIELD [70, id, {}, [PAYLOAD]] to an INVOCATION [68, id, ...]
 * (or, behind the relay, RESULT [50, id, {}, [PAYLOAD]] to a CALL [48, id, ...]), with the
 * request's ID copied over as it was encoded. undefined when the request is not laid out as
 * expected; the caller then decodes it instead.
 */
export class AnswerTemplate {
  readonly #json: boolean;
  readonly #head: Buffer;
  readonly #tail: Buffer;
  readonly #requestType: number;
  readonly #framed: boolean;

  constructor(serializer: Serializer, requestType: number, answerType: number, framed: boolean, payload: string) {
    this.#json = serializer.name === 'json';
    this.#requestType = requestType;
    this.#framed = framed;
    if (this.#json) {
      this.#head = Buffer.from(`[${answerType},`);
      this.#tail = Buffer.from(`,{},${JSON.stringify([payload])}]`);
    } else {
      // array(4), uint8 type; then the ID; then {} and [PAYLOAD].
      this.#head = Buffer.from([0x84, 0x18, answerType]);
      const whole = Buffer.from(serializer.encode([answerType, 1, {}, [payload]]));
      this.#tail = whole.subarray(4); // after 0x84 0x18 type 0x01
    }
  }

  answer(request: Uint8Array): Buffer | undefined {
    let from: number;
    let to: number;
    if (this.#json) {
      // "[68," then the ID's digits up to the next comma.
      const type = String(this.#requestType);
      if (
        request[0] !== 0x5b ||
        request[1] !== type.charCodeAt(0) ||
        request[2] !== type.charCodeAt(1) ||
        request[3] !== 0x2c
      )
        return undefined;
      from = 4;
      to = request.indexOf(0x2c, from);
      if (to < 0) return undefined;
    } else {
      // array(5 or 6), 0x18 type, then the ID as a CBOR unsigned integer.
      if (request[1] !== 0x18 || request[2] !== this.#requestType) return undefined;
      from = 3;
      const ib = request[3]!;
      to = from + (ib < 0x18 ? 1 : ib === 0x18 ? 2 : ib === 0x19 ? 3 : ib === 0x1a ? 5 : ib === 0x1b ? 9 : -1000);
      if (to < from) return undefined;
    }
    const length = this.#head.length + (to - from) + this.#tail.length;
    const at = this.#framed ? 4 : 0;
    const out = Buffer.allocUnsafe(at + length);
    if (this.#framed) out.writeUInt32BE(length, 0);
    this.#head.copy(out, at);
    out.set(request.subarray(from, to), at + this.#head.length);
    this.#tail.copy(out, at + this.#head.length + (to - from));
    return out;
  }
}

/** The request ID of a RESULT, read at its fixed offset; undefined for anything else. */
export function resultId(payload: Uint8Array | string, serializer: Serializer): number | undefined {
  if (typeof payload === 'string') return payload.startsWith('[50,') ? Number(payload.slice(4, 13)) : undefined;
  if (serializer.name === 'json') {
    // "[50," then 9 digits.
    if (payload[1] !== 0x35 || payload[2] !== 0x30 || payload[3] !== 0x2c) return undefined;
    let id = 0;
    for (let i = 4; i < 13; i++) id = id * 10 + (payload[i]! - 0x30);
    return id;
  }
  // CBOR: array(4|5) 0x84/0x85, 0x18 0x32 (= 50), 0x1a + uint32.
  if (payload[1] !== 0x18 || payload[2] !== 0x32 || payload[3] !== 0x1a) return undefined;
  return ((payload[4]! << 24) >>> 0) + (payload[5]! << 16) + (payload[6]! << 8) + payload[7]!;
}
