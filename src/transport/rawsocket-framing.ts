// WAMP-over-RawSocket wire format, sans-IO (spec: "RawSocket Transport", Advanced Profile).
// No sockets here: the server feeds bytes in and writes bytes out, which keeps every rule of
// the framing testable on plain buffers. Frames are length-prefixed as src/net/length-prefixed.ts
// reads and writes them; this file adds RawSocket's handshake and its frame types.

import * as framing from '../net/length-prefixed.ts';

export const MAGIC = 0x7f;
export const HANDSHAKE_SIZE = 4;
export const HEADER_SIZE = framing.HEADER_SIZE;
/** The 24-bit length field caps every transport message, whatever LENGTH says. */
export const MAX_PAYLOAD = framing.MAX_PAYLOAD;

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
  return framing.encodeHeader(type, length, 'RawSocket payload');
}

/** Header + payload in one buffer; convenient for tests and small control frames. */
export function encodeFrame(type: FrameType, payload: Uint8Array): Uint8Array {
  return framing.encodeFrame(type, payload, 'RawSocket payload');
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

/** RawSocket's header rules: the upper five bits are reserved, and so are types above PONG. */
function checkType(first: number): framing.FramingViolation | undefined {
  if (first & 0xf8) return { reason: 'reserved-bits', message: `reserved header bits set: 0x${first.toString(16)}` };
  if (first > FrameType.PONG) return { reason: 'reserved-type', message: `reserved frame type ${first}` };
  return undefined;
}

/** Streaming decoder (see LengthPrefixedDecoder) that returns a chunk's frames as events. */
export class FrameDecoder {
  readonly #decoder: framing.LengthPrefixedDecoder;
  readonly #maxPayload: number;
  #budget: PartialBudget | null;
  /** What the frame being assembled holds of #budget. */
  #reserved = 0;
  #failed: RawSocketFramingError | null = null;

  /** maxPayload: the limit we announced; it bounds PING/PONG too, so nobody makes us buffer more. */
  constructor(maxPayload: number, limits: FrameDecoderLimits = {}) {
    const max = Math.min(maxPayload, MAX_PAYLOAD);
    this.#maxPayload = max;
    this.#budget = limits.budget ?? null;
    this.#decoder = new framing.LengthPrefixedDecoder({
      limit: Math.min(limits.initialLimit ?? max, max),
      checkType,
      tooLarge: (length, limit) => {
        const which = limit < max ? 'limit before login' : 'announced maximum';
        return { reason: 'too-large', message: `frame of ${length} octets exceeds the ${which} of ${limit}` };
      },
      partial: (length) => this.#reserve(length),
      partialDone: () => this.dispose(),
    });
  }

  /** The size limit checked at each header: the initial one until lift(). */
  get limit(): number {
    return this.#decoder.rules.limit;
  }

  /** Raises the limit to maxPayload and stops charging the budget (the peer has logged in). */
  lift(): void {
    this.#decoder.rules.limit = this.#maxPayload;
    this.dispose();
    this.#budget = null;
  }

  /** Gives back what the unfinished frame holds of the budget; call when the connection ends. */
  dispose(): void {
    this.#budget?.release(this.#reserved);
    this.#reserved = 0;
  }

  #reserve(length: number): framing.FramingViolation | undefined {
    if (this.#budget === null) return undefined;
    if (!this.#budget.reserve(length)) {
      return { reason: 'over-budget', message: `no buffer budget left for a partial frame of ${length} octets` };
    }
    this.#reserved = length;
    return undefined;
  }

  /** Decodes what it can. After an 'error' event the decoder is dead and keeps reporting it. */
  feed(chunk: Uint8Array): FrameEvent[] {
    if (this.#failed) return [{ type: 'error', error: this.#failed }];
    const events: FrameEvent[] = [];
    const violation = this.#decoder.feed(chunk, (type, payload) => {
      events.push({ type: EVENT_TYPE[type as FrameType], payload });
      return true;
    });
    if (violation !== undefined) {
      this.#failed = new RawSocketFramingError(violation.reason as FramingErrorReason, violation.message);
      events.push({ type: 'error', error: this.#failed });
    }
    return events;
  }
}
