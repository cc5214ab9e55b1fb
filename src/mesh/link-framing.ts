// Mesh link wire format, sans-IO: the preamble that opens a connection and the frames after it.
// Framed like WAMP RawSocket (a type octet and a 24-bit big-endian length before each payload),
// but opened with its own magic so neither protocol can be mistaken for the other:
//
//   preamble (8 octets, dialer first; the acceptor answers with its own once it has checked
//   the dialer's):  0x57 0x4D 0x53 0x48 ("WMSH")  VERSION (0x01)  0x00 0x00 0x00 (reserved)
//
//   frame:  TYPE (1 octet, upper 5 bits zero)  LENGTH (3 octets, big-endian)  PAYLOAD
//     0 MESH     CBOR array of one or more mesh frames (frames.ts); only once the link is up
//     1 PING     opaque payload (<= 64 octets) the peer echoes in a PONG
//     2 PONG     the echoed PING payload
//     3 CONTROL  CBOR map: the handshake (hello, auth, use) and a close notice with a reason
//     4 TAG      16 octets: the MAC of the frames since the previous TAG (link-integrity.ts);
//                on links without TLS, every frame a side sends after its proof is followed,
//                in its batch, by one (link protocol version 2, see link-auth.ts)
//
// A WAMP RawSocket client opens with 0x7F, so the link port recognises one on its first octet
// and answers with a RawSocket handshake error; a RawSocket router closes on our "W" at once.

export const MAGIC = Uint8Array.of(0x57, 0x4d, 0x53, 0x48);
export const LINK_VERSION = 1;
export const PREAMBLE_SIZE = 8;
export const PREAMBLE = Uint8Array.of(...MAGIC, LINK_VERSION, 0, 0, 0);
export const HEADER_SIZE = 4;
/** The 24-bit length field caps every payload. */
export const MAX_FRAME = 0xff_ffff;
/** Until a peer has authenticated, nothing bigger than this is buffered for it. */
export const HANDSHAKE_FRAME_LIMIT = 4096;
export const MAX_PING_PAYLOAD = 64;

export const LinkFrameType = { MESH: 0, PING: 1, PONG: 2, CONTROL: 3, TAG: 4 } as const;
export type LinkFrameType = (typeof LinkFrameType)[keyof typeof LinkFrameType];

export function frameHeader(type: LinkFrameType, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAME) throw new RangeError(`link frame length out of range: ${length}`);
  return Uint8Array.of(type, length >>> 16, (length >>> 8) & 0xff, length & 0xff);
}

export function encodeLinkFrame(type: LinkFrameType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(frameHeader(type, payload.length), 0);
  out.set(payload, HEADER_SIZE);
  return out;
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
      return { kind: 'foreign', what: http ? 'http' : 'other', detail: http ? `HTTP (${JSON.stringify(text.toString('latin1'))})` : `octets ${text.toString('hex')}` };
    }
  }
  if (bytes.length <= MAGIC.length) return { kind: 'more' };
  const version = bytes[4]!;
  if (version !== LINK_VERSION) return { kind: 'version', version };
  if (bytes.length < PREAMBLE_SIZE) return { kind: 'more' };
  if (bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) return { kind: 'foreign', what: 'other', detail: 'reserved preamble octets set' };
  return { kind: 'ok' };
}

// ---- frames --------------------------------------------------------------------------------

/**
 * Streaming frame decoder whose size limit can be raised once the peer has authenticated:
 * before that, a stranger cannot make us allocate more than HANDSHAKE_FRAME_LIMIT. Frames are
 * handed to `onFrame` one at a time, so a state change made by one frame (a new limit, a
 * closed link) applies to the next.
 *
 * Its header loop mirrors FrameDecoder's (src/transport/rawsocket-framing.ts) but cannot reuse
 * it: FrameDecoder rejects types 3 and 4 (CONTROL, TAG) as reserved, fixes its limit at
 * construction, and decodes a whole chunk into an array before anyone sees a frame, so a limit
 * raised or a link closed by one frame would not apply to the frames behind it in the same
 * chunk; and it keeps its header parsing private. Sharing the loop would mean reshaping the
 * RawSocket decoder (a hot path, and outside the mesh) for the mesh's sake, which costs more
 * than these few lines.
 */
export class LinkFrameDecoder {
  /** The largest payload accepted; checked when a header is read. */
  limit: number;
  readonly #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  #type: LinkFrameType = LinkFrameType.MESH;
  #partial: Uint8Array | null = null;
  #partialFill = 0;
  #failed: string | undefined;

  constructor(limit: number) {
    this.limit = limit;
  }

  /**
   * Decodes the chunk. `onFrame` returns false to stop (the connection was closed). Returns a
   * description of a framing violation, after which the decoder is dead.
   */
  feed(chunk: Uint8Array, onFrame: (type: LinkFrameType, payload: Uint8Array) => boolean): string | undefined {
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
        this.#partial = new Uint8Array(length);
        this.#partialFill = 0;
      }
    }
    return undefined;
  }

  #readHeader(bytes: Uint8Array, at: number): number {
    const first = bytes[at]!;
    const length = (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (first > LinkFrameType.TAG) this.#failed = `bad frame type octet 0x${first.toString(16).padStart(2, '0')}`;
    else if (length > this.limit) this.#failed = `frame of ${length} octets exceeds the limit of ${this.limit}`;
    else {
      this.#type = first as LinkFrameType;
      return length;
    }
    return 0;
  }
}
