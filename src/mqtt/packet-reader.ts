// Splits the byte stream of one MQTT connection into packets and decodes them with
// mqtt-packet. The fixed header is read here first, so a packet over the size limit is refused
// from its header alone, before its body is buffered.

import { generate, parser, writeToStream, type Packet } from 'mqtt-packet';
import { publishUserPropertiesOver, violationOf, type UserPropertyLimits } from './packet-rules.ts';
import { Reason } from './reason-codes.ts';

// mqtt-packet's encoder otherwise builds a table of all 65,536 two-byte numbers as Buffers on
// first use (about 7 MB resident for good): each packet identifier is two bytes to write.
writeToStream.cacheNumbers = false;

export class PacketError extends Error {
  /** The MQTT 5.0 reason code the connection ends with. */
  readonly reason: number;
  /** Raised by an MQTT 5 CONNECT: the client reads a CONNACK with the reason (5.0 4.13.1). */
  readonly v5Connect: boolean;
  constructor(reason: number, message: string, v5Connect = false) {
    super(message);
    this.name = 'PacketError';
    this.reason = reason;
    this.v5Connect = v5Connect;
  }
}

/**
 * One mqtt-packet parser for every connection. Each instance carries a stream-based buffer list
 * (kilobytes per idle client); here it only ever gets one whole packet at a time, parsed
 * synchronously, so nothing of one connection is left in it when the next one's comes.
 */
interface SharedParser {
  settings: { protocolVersion?: number };
  error: unknown;
  _pos: number;
  _resetState(): void;
  parse(buf: Buffer): number;
}
const shared = parser() as unknown as SharedParser & ReturnType<typeof parser>;
let parsed: Packet[] = [];
const EMPTY = Buffer.alloc(0);
const PUBLISH = 3; // packet type in the first octet's high nibble
let parseError: Error | undefined;
shared.on('packet', (p: Packet) => parsed.push(p));
shared.on('error', (e: Error) => {
  parseError ??= e;
});

function parseOne(packet: Buffer, protocolVersion: number): Packet {
  parsed = [];
  parseError = undefined;
  shared.settings = { protocolVersion };
  try {
    shared.parse(packet);
  } catch (err) {
    // Some malformed packets make it throw (a read past the end) rather than emit 'error'.
    parseError ??= err instanceof Error ? err : new Error(String(err));
  }
  const error = parseError as Error | undefined; // set by the handler above, during parse()
  const out = parsed;
  parsed = [];
  parseError = undefined;
  // Left mid-packet or in error, it would carry this packet into the next connection's.
  if (error !== undefined || out.length !== 1 || shared.parse(EMPTY) !== 0) {
    shared._resetState();
    // _resetState() leaves the read offset where an error stopped it; the next length would be read there.
    shared._pos = 0;
  }
  if (error !== undefined) throw new PacketError(Reason.MALFORMED_PACKET, error.message);
  // One whole packet in, exactly one out: anything else is a packet the parser misread.
  if (out.length !== 1) throw new PacketError(Reason.MALFORMED_PACKET, 'malformed packet');
  return out[0]!;
}

export interface ReaderLimits {
  /**
   * Largest packet until loggedIn() (limits.preAuthMaxMessageSize): a stranger must not make
   * the router buffer a maximal packet per connection. Default: maxPacketBytes.
   */
  readonly preLoginBytes?: number;
  /** User properties per packet (MQTT 5). Default: none checked. */
  readonly userProperties?: UserPropertyLimits;
}

const UNLIMITED = { count: Infinity, bytes: Infinity };

export class PacketReader {
  readonly #maxPacketBytes: number;
  readonly #userProperties: UserPropertyLimits;
  /** The size limit now: the pre-login one until loggedIn(). */
  #limit: number;
  /** Bytes of a packet not yet complete; none between packets (the usual case for an idle client). */
  #chunks: Buffer[] | undefined;
  #buffered = 0;
  /** From the CONNECT on: what the other packets are parsed as (3.1.1 until then). */
  #protocolVersion = 4;

  constructor(maxPacketBytes: number, limits: ReaderLimits = {}) {
    this.#maxPacketBytes = maxPacketBytes;
    this.#limit = Math.min(maxPacketBytes, limits.preLoginBytes ?? maxPacketBytes);
    this.#userProperties = limits.userProperties ?? UNLIMITED;
  }

  /** The client is logged in (CONNACK sent): packets up to maxPacketBytes from now on. */
  loggedIn(): void {
    this.#limit = this.#maxPacketBytes;
  }

  /** The complete packets `chunk` finishes, in order; throws PacketError on bad input. */
  push(chunk: Buffer): Packet[] {
    (this.#chunks ??= []).push(chunk);
    this.#buffered += chunk.length;
    const out: Packet[] = [];
    for (;;) {
      const size = this.#nextSize();
      if (size === undefined || this.#buffered < size) return out;
      const chunks: Buffer[] = this.#chunks!;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#buffered);
      const bytes = all.subarray(0, size);
      const rest = all.subarray(size);
      this.#chunks = rest.length > 0 ? [rest] : undefined;
      this.#buffered = rest.length;
      const v5 = this.#protocolVersion === 5;
      if (v5 && bytes[0]! >> 4 === PUBLISH) {
        const over = publishUserPropertiesOver(bytes, this.#userProperties);
        if (over !== undefined) throw new PacketError(over.reason, over.message);
      }
      const packet = parseOne(bytes, this.#protocolVersion);
      if (packet.cmd === 'connect') {
        const version = packet.protocolVersion;
        const violation = violationOf(packet, bytes, version === 5, this.#userProperties);
        if (violation !== undefined) throw new PacketError(violation.reason, violation.message, version === 5);
        if (version !== undefined) this.#protocolVersion = version;
      } else {
        const violation = violationOf(packet, bytes, v5, this.#userProperties);
        if (violation !== undefined) throw new PacketError(violation.reason, violation.message);
      }
      out.push(packet);
    }
  }

  /** Size of the packet at the head of the buffer, once its fixed header is in. */
  #nextSize(): number | undefined {
    const chunks = this.#chunks;
    if (chunks === undefined || this.#buffered < 2) return undefined;
    const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, Math.min(this.#buffered, 5));
    let remaining = 0;
    for (let i = 1; i <= 4; i++) {
      if (i >= head.length) return undefined;
      const b = head[i]!;
      remaining += (b & 0x7f) * 128 ** (i - 1);
      if ((b & 0x80) === 0) {
        const size = 1 + i + remaining;
        if (size > this.#limit)
          throw new PacketError(
            Reason.PACKET_TOO_LARGE,
            `packet of ${size} bytes is over the limit of ${this.#limit}`,
            this.#v5ConnectAhead(head, 1 + i),
          );
        return size;
      }
    }
    throw new PacketError(Reason.MALFORMED_PACKET, 'remaining length longer than 4 bytes');
  }

  /**
   * Whether the packet at the head is an MQTT 5 CONNECT, from its protocol level (after the
   * name "MQTT"), where that much has arrived: such a client is told 0x95 in a CONNACK.
   */
  #v5ConnectAhead(head: Buffer, body: number): boolean {
    if (this.#protocolVersion === 5 || head[0] !== 0x10) return false;
    const all = this.#chunks!.length === 1 ? head : Buffer.concat(this.#chunks!, Math.min(this.#buffered, body + 7));
    return all.length > body + 6 && all.readUInt16BE(body) === 4 && all[body + 6] === 5;
  }
}

export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  return generate(packet, { protocolVersion: protocolVersion as 3 | 4 | 5 });
}
