// Splits the byte stream of one MQTT connection into packets and decodes them with
// mqtt-packet. The fixed header is read here first, so a packet over the size limit is refused
// from its header alone, before its body is buffered.

import { generate, parser, type Packet } from 'mqtt-packet';
import { Reason } from './reason-codes.ts';

export class PacketError extends Error {
  /** The MQTT 5.0 reason code the connection ends with. */
  readonly reason: number;
  constructor(reason: number, message: string) {
    super(message);
    this.name = 'PacketError';
    this.reason = reason;
  }
}

export class PacketReader {
  readonly #maxPacketBytes: number;
  readonly #parser = parser();
  #chunks: Buffer[] = [];
  #buffered = 0;
  #packets: Packet[] = [];
  #error: Error | undefined;

  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
    this.#parser.on('packet', (p: Packet) => this.#packets.push(p));
    this.#parser.on('error', (e: Error) => { this.#error ??= e; });
  }

  /** The complete packets `chunk` finishes, in order; throws PacketError on bad input. */
  push(chunk: Buffer): Packet[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Packet[] = [];
    for (;;) {
      const size = this.#nextSize();
      if (size === undefined || this.#buffered < size) return out;
      const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      const packet = all.subarray(0, size);
      const rest = all.subarray(size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#parser.parse(packet);
      if (this.#error !== undefined) throw new PacketError(Reason.MALFORMED_PACKET, this.#error.message);
      // One whole packet in, exactly one out: anything else is a packet the parser misread.
      const parsed = this.#packets.splice(0);
      if (parsed.length !== 1) throw new PacketError(Reason.MALFORMED_PACKET, 'malformed packet');
      out.push(parsed[0]!);
    }
  }

  /** Size of the packet at the head of the buffer, once its fixed header is in. */
  #nextSize(): number | undefined {
    if (this.#buffered < 2) return undefined;
    const head = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, Math.min(this.#buffered, 5));
    let remaining = 0;
    for (let i = 1; i <= 4; i++) {
      if (i >= head.length) return undefined;
      const b = head[i]!;
      remaining += (b & 0x7f) * 128 ** (i - 1);
      if ((b & 0x80) === 0) {
        const size = 1 + i + remaining;
        if (size > this.#maxPacketBytes) throw new PacketError(Reason.PACKET_TOO_LARGE, `packet of ${size} bytes is over the limit of ${this.#maxPacketBytes}`);
        return size;
      }
    }
    throw new PacketError(Reason.MALFORMED_PACKET, 'remaining length longer than 4 bytes');
  }
}

export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  return generate(packet, { protocolVersion: protocolVersion as 3 | 4 | 5 });
}
