// WAMP-over-RawSocket wire format, sans-IO (spec: "RawSocket Transport", Advanced Profile).
// No sockets here: the server feeds bytes in and writes bytes out, which keeps every rule of
// the framing testable on plain buffers.

export const MAGIC = 0x7f;
export const HANDSHAKE_SIZE = 4;
export const HEADER_SIZE = 4;
/** The 24-bit length field caps every transport message, whatever LENGTH says. */
export const MAX_PAYLOAD = 0xff_ffff;

/** Handshake error codes (upper nibble of the reply's second octet). 0 must not be used. */
export const HandshakeErrorCode = {
  SERIALIZER_UNSUPPORTED: 1,
  MAX_LENGTH_UNACCEPTABLE: 2,
  RESERVED_BITS: 3,
  MAX_CONNECTIONS: 4,
} as const;
export type HandshakeErrorCode = (typeof HandshakeErrorCode)[keyof typeof HandshakeErrorCode];

export const FrameType = { MESSAGE: 0, PING: 1, PONG: 2 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

// ---- handshake -------------------------------------------------------------------------

/** LENGTH nibble -> maximum message size in octets: 2^(9+LENGTH), 512 B .. 16 MiB. */
export function maxLengthFromExponent(exponent: number): number {
  return 2 ** (9 + (exponent & 0x0f));
}

/**
 * The LENGTH nibble for a configured maximum: rounded down to a power of two and capped at
 * 16 MiB. Below 512 B cannot be announced, and rounding up would silently accept more than
 * configured, so that is a configuration error.
 */
export function exponentForMaxLength(maxBytes: number): number {
  if (!Number.isInteger(maxBytes) || maxBytes < 512) {
    throw new RangeError(`RawSocket maxMessageSize must be an integer >= 512, got ${maxBytes}`);
  }
  return Math.min(15, Math.floor(Math.log2(maxBytes)) - 9);
}

export type HandshakeRequest =
  | { readonly ok: true; readonly serializerId: number; readonly maxLength: number }
  /** Not a RawSocket client at all: fail the connection without a reply. */
  | { readonly ok: false; readonly badMagic: true }
  | { readonly ok: false; readonly badMagic: false; readonly error: HandshakeErrorCode };

/**
 * Parses the client's 4-octet request. Whether the serializer is one the router speaks is the
 * caller's decision; serializer 0 is reported here because it is illegal for everyone.
 */
export function parseHandshake(bytes: Uint8Array): HandshakeRequest {
  if (bytes.length < HANDSHAKE_SIZE) throw new RangeError('RawSocket handshake needs 4 octets');
  if (bytes[0] !== MAGIC) return { ok: false, badMagic: true };
  // Reserved octets first: a client setting them may mean something we cannot know, so the
  // rest of the request is not trustworthy either.
  if (bytes[2] !== 0 || bytes[3] !== 0) {
    return { ok: false, badMagic: false, error: HandshakeErrorCode.RESERVED_BITS };
  }
  const octet = bytes[1] ?? 0;
  const serializerId = octet & 0x0f;
  if (serializerId === 0) {
    return { ok: false, badMagic: false, error: HandshakeErrorCode.SERIALIZER_UNSUPPORTED };
  }
  return { ok: true, serializerId, maxLength: maxLengthFromExponent(octet >> 4) };
}

export function buildHandshakeRequest(serializerId: number, lengthExponent: number): Uint8Array {
  return Uint8Array.of(MAGIC, ((lengthExponent & 0x0f) << 4) | (serializerId & 0x0f), 0, 0);
}

/** The accepting reply has the same layout as the request: our LENGTH, the echoed serializer. */
export const buildHandshakeReply = buildHandshakeRequest;

export function buildHandshakeError(code: HandshakeErrorCode): Uint8Array {
  return Uint8Array.of(MAGIC, code << 4, 0, 0);
}

// ---- frames ----------------------------------------------------------------------------

export function encodeHeader(type: FrameType, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_PAYLOAD) {
    throw new RangeError(`RawSocket payload length out of range: ${length}`);
  }
  return Uint8Array.of(type, length >>> 16, (length >>> 8) & 0xff, length & 0xff);
}

/** Header + payload in one buffer; convenient for tests and small control frames. */
export function encodeFrame(type: FrameType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(encodeHeader(type, payload.length), 0);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** 'over-budget': the frame was within limits, but the router-wide budget for buffering it was spent. */
export type FramingErrorReason = 'reserved-bits' | 'reserved-type' | 'too-large' | 'over-budget';

/** A peer broke the framing rules; the only remedy is failing the connection. */
export class RawSocketFramingError extends Error {
  readonly reason: FramingErrorReason;
  constructor(reason: FramingErrorReason, message: string) {
    super(message);
    this.name = 'RawSocketFramingError';
    this.reason = reason;
  }
}

export type FrameEvent =
  | { readonly type: 'message' | 'ping' | 'pong'; readonly payload: Uint8Array }
  | { readonly type: 'error'; readonly error: RawSocketFramingError };

const EVENT_TYPE = ['message', 'ping', 'pong'] as const;

/** Asked before an unfinished frame is buffered; a refusal fails the decoder ('over-budget'). */
export interface PartialBudget {
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

export interface FrameDecoderLimits {
  /** A smaller limit in force until lift(), e.g. before the peer has logged in. */
  readonly initialLimit?: number;
  /** Charged for every unfinished frame until lift(). */
  readonly budget?: PartialBudget;
}

/**
 * Streaming decoder. A frame lying wholly inside one chunk is returned as a subarray of that
 * chunk (no copy; it keeps the chunk alive, which Node allocates per read anyway). A frame
 * spanning chunks is assembled into one buffer allocated once its length is known, so a
 * 16 MiB message in 64 KiB reads costs one copy, not a quadratic concat.
 */
export class FrameDecoder {
  readonly #maxPayload: number;
  #limit: number;
  #budget: PartialBudget | null;
  /** What the frame being assembled holds of #budget. */
  #reserved = 0;
  readonly #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  #type: FrameType = FrameType.MESSAGE;
  #partial: Uint8Array | null = null;
  #partialFill = 0;
  #failed: RawSocketFramingError | null = null;

  /** maxPayload: the limit we announced; it bounds PING/PONG too, so nobody makes us buffer more. */
  constructor(maxPayload: number, limits: FrameDecoderLimits = {}) {
    this.#maxPayload = Math.min(maxPayload, MAX_PAYLOAD);
    this.#limit = Math.min(limits.initialLimit ?? this.#maxPayload, this.#maxPayload);
    this.#budget = limits.budget ?? null;
  }

  /** The size limit checked at each header: the initial one until lift(). */
  get limit(): number {
    return this.#limit;
  }

  /** Raises the limit to maxPayload and stops charging the budget (the peer has logged in). */
  lift(): void {
    this.#limit = this.#maxPayload;
    this.dispose();
    this.#budget = null;
  }

  /** Gives back what the unfinished frame holds of the budget; call when the connection ends. */
  dispose(): void {
    this.#budget?.release(this.#reserved);
    this.#reserved = 0;
  }

  /** Decodes what it can. After an 'error' event the decoder is dead and keeps reporting it. */
  feed(chunk: Uint8Array): FrameEvent[] {
    if (this.#failed) return [{ type: 'error', error: this.#failed }];
    const events: FrameEvent[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.#partial) {
        const n = Math.min(this.#partial.length - this.#partialFill, chunk.length - off);
        this.#partial.set(chunk.subarray(off, off + n), this.#partialFill);
        this.#partialFill += n;
        off += n;
        if (this.#partialFill === this.#partial.length) {
          events.push({ type: EVENT_TYPE[this.#type], payload: this.#partial });
          this.#partial = null;
          this.dispose();
        }
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
      if (this.#failed) {
        events.push({ type: 'error', error: this.#failed });
        return events;
      }

      if (chunk.length - off >= length) {
        events.push({ type: EVENT_TYPE[this.#type], payload: chunk.subarray(off, off + length) });
        off += length;
      } else {
        if (this.#budget !== null) {
          if (!this.#budget.reserve(length)) {
            this.#failed = new RawSocketFramingError('over-budget', `no buffer budget left for a partial frame of ${length} octets`);
            events.push({ type: 'error', error: this.#failed });
            return events;
          }
          this.#reserved = length;
        }
        this.#partial = new Uint8Array(length);
        this.#partialFill = 0;
      }
    }
    return events;
  }

  /** Parses and validates a header; on a violation sets #failed and returns 0. */
  #readHeader(bytes: Uint8Array, at: number): number {
    const first = bytes[at] ?? 0;
    const length = ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
    const type = first & 0x07;
    if (first & 0xf8) {
      this.#failed = new RawSocketFramingError('reserved-bits', `reserved header bits set: 0x${first.toString(16)}`);
    } else if (type > FrameType.PONG) {
      this.#failed = new RawSocketFramingError('reserved-type', `reserved frame type ${type}`);
    } else if (length > this.#limit) {
      const which = this.#limit < this.#maxPayload ? 'limit before login' : 'announced maximum';
      this.#failed = new RawSocketFramingError('too-large', `frame of ${length} octets exceeds the ${which} of ${this.#limit}`);
    } else {
      this.#type = type as FrameType;
      return length;
    }
    return 0;
  }
}
