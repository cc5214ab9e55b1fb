// The frame layout WAMP RawSocket and the mesh links share, sans-IO: a type octet and a 24-bit
// big-endian length, then the payload.
//
//   TYPE (1 octet)  LENGTH (3 octets, big-endian)  PAYLOAD (LENGTH octets)
//
// Which type octets are valid, and how large a payload may be, is each protocol's own: the
// decoder asks the protocol about every header it reads.

export const HEADER_SIZE = 4;
/** The 24-bit length field caps every payload, whatever a limit says. */
export const MAX_PAYLOAD = 0xff_ffff;

/** The 4-octet header of a frame; `what` names the protocol in the error. */
export function encodeHeader(type: number, length: number, what = 'frame'): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_PAYLOAD)
    throw new RangeError(`${what} length out of range: ${length}`);
  const out = new Uint8Array(HEADER_SIZE);
  writeHeader(out, 0, type, length);
  return out;
}

/** Writes a frame's header into `out` at `at` (the length already checked); where it ends. */
export function writeHeader(out: Uint8Array, at: number, type: number, length: number): number {
  out[at] = type;
  out[at + 1] = length >>> 16;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
  return at + HEADER_SIZE;
}

/** Header + payload in one buffer; for tests and small control frames. */
export function encodeFrame(type: number, payload: Uint8Array, what?: string): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(encodeHeader(type, payload.length, what), 0);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** A header that breaks the protocol's rules: the connection cannot go on. */
export interface FramingViolation {
  /** A short code the protocol defines (its error's reason). */
  readonly reason: string;
  readonly message: string;
}

export interface FrameRules {
  /** The largest payload accepted, checked when a header is read; may change between frames. */
  limit: number;
  /** Whether a type octet is valid: undefined if so, otherwise why not. */
  checkType(octet: number): FramingViolation | undefined;
  /** The violation for a payload of `length` octets over `limit`. */
  tooLarge(length: number, limit: number): FramingViolation;
  /**
   * Asked before a frame that did not arrive whole is buffered (e.g. to charge a budget for
   * strangers' unfinished frames); a violation ends the framing instead.
   */
  partial?(length: number): FramingViolation | undefined;
  /** Told when that buffered frame is complete. */
  partialDone?(): void;
}

/**
 * Streaming decoder. Frames go to `onFrame` one at a time as they complete, so a change made
 * by one frame (a new limit, a closed connection) applies to the next one, even in the same
 * chunk. A frame lying wholly inside one chunk is a subarray of that chunk (no copy; it keeps
 * the chunk alive, which Node allocates per read anyway). A frame spanning chunks is assembled
 * into one buffer allocated once its length is known, so a 16 MiB message in 64 KiB reads costs
 * one copy, not a quadratic concat; that length is checked against the limit first, so a
 * stranger cannot make us allocate more than the limit.
 */
export class LengthPrefixedDecoder {
  readonly rules: FrameRules;
  readonly #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  #type = 0;
  #partial: Uint8Array | null = null;
  #partialFill = 0;
  #failed: FramingViolation | undefined;

  constructor(rules: FrameRules) {
    this.rules = rules;
  }

  /**
   * Decodes the chunk. `onFrame` returns false to stop (the connection was closed); the rest of
   * the chunk is dropped then. Returns the violation that ended the framing, after which the
   * decoder is dead and keeps returning it.
   */
  feed(chunk: Uint8Array, onFrame: (type: number, payload: Uint8Array) => boolean): FramingViolation | undefined {
    if (this.#failed !== undefined) return this.#failed;
    let off = 0;
    while (off < chunk.length) {
      if (this.#partial !== null) {
        const n = Math.min(this.#partial.length - this.#partialFill, chunk.length - off);
        this.#partial.set(chunk.subarray(off, off + n), this.#partialFill);
        this.#partialFill += n;
        off += n;
        if (this.#partialFill < this.#partial.length) break;
        const payload = this.#partial;
        this.#partial = null;
        this.rules.partialDone?.();
        if (!onFrame(this.#type, payload)) return undefined;
        continue;
      }
      let length: number;
      if (this.#headerFill === 0 && chunk.length - off >= HEADER_SIZE) {
        length = this.#readHeader(chunk, off);
        off += HEADER_SIZE;
      } else {
        const n = Math.min(HEADER_SIZE - this.#headerFill, chunk.length - off);
        this.#header.set(chunk.subarray(off, off + n), this.#headerFill);
        this.#headerFill += n;
        off += n;
        if (this.#headerFill < HEADER_SIZE) break;
        this.#headerFill = 0;
        length = this.#readHeader(this.#header, 0);
      }
      if (this.#failed !== undefined) return this.#failed;
      if (chunk.length - off >= length) {
        const payload = chunk.subarray(off, off + length);
        off += length;
        if (!onFrame(this.#type, payload)) return undefined;
      } else {
        const refused = this.rules.partial?.(length);
        if (refused !== undefined) {
          this.#failed = refused;
          return refused;
        }
        // Not zero-filled (every octet is written before the frame is handed on): zeroing a
        // 1 MiB frame cost more than copying it into place.
        this.#partial = Buffer.allocUnsafe(length);
        this.#partialFill = 0;
      }
    }
    return undefined;
  }

  /** Parses and checks a header; on a violation sets #failed and returns 0. */
  #readHeader(bytes: Uint8Array, at: number): number {
    const first = bytes[at]!;
    const length = (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const rules = this.rules;
    const bad = rules.checkType(first);
    if (bad !== undefined) this.#failed = bad;
    else if (length > rules.limit) this.#failed = rules.tooLarge(length, rules.limit);
    else {
      this.#type = first;
      return length;
    }
    return 0;
  }
}
