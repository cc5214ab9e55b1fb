// Mesh link wire format, sans-IO: the preamble that opens a connection and the frames after it.
// Framed like WAMP RawSocket (a type octet and a 24-bit big-endian length before each payload),
// but opened with its own magic so neither protocol can be mistaken for the other:
//
//   preamble (8 octets, dialer first; the acceptor answers with its own once it has checked
//   the dialer's):  0x57 0x4D 0x53 0x48 ("WMSH")  VERSION (0x01)  0x00 0x00 0x00 (reserved)
//
//   frame:  TYPE (1 octet, upper 5 bits zero)  LENGTH (3 octets, big-endian)  PAYLOAD
//     0 MESH     CBOR array of one or more mesh frames (routing/frames.ts); only once the link is up
//     1 PING     opaque payload (<= 64 octets) the peer echoes in a PONG
//     2 PONG     the echoed PING payload
//     3 CONTROL  CBOR map: the handshake (hello, auth, use) and a close notice with a reason
//     4 TAG      16 octets: the MAC of the frames since the previous TAG (links/integrity.ts);
//                on links without TLS, every frame a side sends after its proof is followed,
//                in its batch, by one (link protocol version 2, see links/auth.ts)
//
// A WAMP RawSocket client opens with 0x7F, so the link port recognises one on its first octet
// and answers with a RawSocket handshake error; a RawSocket router closes on our "W" at once.

import * as framing from '../../net/length-prefixed.ts';

export const MAGIC = Uint8Array.of(0x57, 0x4d, 0x53, 0x48);
export const LINK_VERSION = 1;
export const PREAMBLE_SIZE = 8;
export const PREAMBLE = Uint8Array.of(...MAGIC, LINK_VERSION, 0, 0, 0);
export const HEADER_SIZE = framing.HEADER_SIZE;
/** The 24-bit length field caps every payload. */
export const MAX_FRAME = framing.MAX_PAYLOAD;
/** Until a peer has authenticated, nothing bigger than this is buffered for it. */
export const HANDSHAKE_FRAME_LIMIT = 4096;
export const MAX_PING_PAYLOAD = 64;

export const LinkFrameType = { MESH: 0, PING: 1, PONG: 2, CONTROL: 3, TAG: 4 } as const;
export type LinkFrameType = (typeof LinkFrameType)[keyof typeof LinkFrameType];

/** A link frame's header written into `out` at `at` (the length already checked); where it ends. */
export const writeHeader = framing.writeHeader;

export function frameHeader(type: LinkFrameType, length: number): Uint8Array {
  return framing.encodeHeader(type, length, 'link frame');
}

export function encodeLinkFrame(type: LinkFrameType, payload: Uint8Array): Uint8Array {
  return framing.encodeFrame(type, payload, 'link frame');
}

// ---- preamble ------------------------------------------------------------------------------

/** What the first octets of a connection say about the other side. */
export type PreambleCheck =
  | { readonly kind: 'more' }
  | { readonly kind: 'ok' }
  /** A mesh link peer speaking another version of this protocol. */
  | { readonly kind: 'version'; readonly version: number }
  /** Not a mesh link peer: a WAMP RawSocket client or router, TLS, HTTP, or anything else. */
  | { readonly kind: 'foreign'; readonly what: 'rawsocket' | 'tls' | 'http' | 'other'; readonly detail: string };

/**
 * Classifies the octets received so far (up to PREAMBLE_SIZE). Answers as early as it can: a
 * RawSocket client sends only 4 octets and waits, so it must be recognised by the first.
 */
export function checkPreamble(bytes: Uint8Array): PreambleCheck {
  if (bytes.length === 0) return { kind: 'more' };
  const first = bytes[0]!;
  if (first === 0x7f) return { kind: 'foreign', what: 'rawsocket', detail: 'a WAMP RawSocket handshake (0x7F)' };
  if (first === 0x16 || first === 0x15) return { kind: 'foreign', what: 'tls', detail: 'a TLS record' };
  const known = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < known; i++) {
    if (bytes[i] !== MAGIC[i]) {
      const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 8)));
      const http = /^(HTTP\/|GET |POST|PUT |HEAD|OPTI|DELE|PATC|CONN)/.test(text.toString('latin1'));
      return {
        kind: 'foreign',
        what: http ? 'http' : 'other',
        detail: http ? `HTTP (${JSON.stringify(text.toString('latin1'))})` : `octets ${text.toString('hex')}`,
      };
    }
  }
  if (bytes.length <= MAGIC.length) return { kind: 'more' };
  const version = bytes[4]!;
  if (version !== LINK_VERSION) return { kind: 'version', version };
  if (bytes.length < PREAMBLE_SIZE) return { kind: 'more' };
  if (bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0)
    return { kind: 'foreign', what: 'other', detail: 'reserved preamble octets set' };
  return { kind: 'ok' };
}

/**
 * Why a connection whose first octets are no mesh link preamble is refused, as this side (the
 * acceptor: 'in', the dialer of `address`: 'out') sees it.
 */
export function foreignPeerReason(
  direction: 'in' | 'out',
  address: string,
  check: PreambleCheck & { kind: 'foreign' },
): string {
  if (direction === 'in') {
    if (check.what === 'rawsocket')
      return "a WAMP RawSocket client connected to the mesh link port (clients belong on the router's RawSocket/WebSocket ports); refused";
    if (check.what === 'tls')
      return "the peer started TLS, but this node's link port is plain TCP (enable tls on every node, or on none)";
    return `not a mesh link peer: received ${check.detail}`;
  }
  if (check.what === 'rawsocket') return `${address} is a WAMP RawSocket port, not a mesh link port`;
  if (check.what === 'tls') return `${address} speaks TLS: enable tls on this node too`;
  if (check.what === 'http') return `${address} is an HTTP/WebSocket port, not a mesh link port`;
  return `${address} is not a mesh link port: received ${check.detail}`;
}

// ---- heartbeats ----------------------------------------------------------------------------

/** A PING's payload: the time it was sent (performance.now()), which the PONG echoes. */
export function pingPayload(now: number): Uint8Array {
  const payload = Buffer.alloc(8);
  payload.writeDoubleBE(now);
  return payload;
}

/** The round trip a PONG shows, if its payload is one of our PINGs' (and plausible). */
export function roundTripOf(pong: Uint8Array, now: number): number | undefined {
  if (pong.length !== 8) return undefined;
  const rtt = now - Buffer.from(pong.buffer, pong.byteOffset, 8).readDoubleBE(0);
  return rtt >= 0 && rtt < 600_000 ? rtt : undefined;
}

// ---- frames --------------------------------------------------------------------------------

/**
 * Streaming frame decoder (see LengthPrefixedDecoder) whose size limit can be raised once the
 * peer has authenticated: before that, a stranger cannot make us allocate more than
 * HANDSHAKE_FRAME_LIMIT. Frames are handed to `onFrame` one at a time, so a state change made
 * by one frame (a new limit, a closed link) applies to the next.
 */
export class LinkFrameDecoder {
  readonly #decoder: framing.LengthPrefixedDecoder;

  constructor(limit: number) {
    this.#decoder = new framing.LengthPrefixedDecoder({
      limit,
      checkType: (first) =>
        first > LinkFrameType.TAG
          ? { reason: 'type', message: `bad frame type octet 0x${first.toString(16).padStart(2, '0')}` }
          : undefined,
      tooLarge: (length, max) => ({
        reason: 'too-large',
        message: `frame of ${length} octets exceeds the limit of ${max}`,
      }),
    });
  }

  /** The largest payload accepted; checked when a header is read. */
  get limit(): number {
    return this.#decoder.rules.limit;
  }
  set limit(value: number) {
    this.#decoder.rules.limit = value;
  }

  /**
   * Decodes the chunk. `onFrame` returns false to stop (the connection was closed). Returns a
   * description of a framing violation, after which the decoder is dead.
   */
  feed(chunk: Uint8Array, onFrame: (type: LinkFrameType, payload: Uint8Array) => boolean): string | undefined {
    return this.#decoder.feed(chunk, onFrame as (type: number, payload: Uint8Array) => boolean)?.message;
  }
}
