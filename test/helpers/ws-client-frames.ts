// RFC 6455 frames as a client writes (masked) and reads (unmasked, reassembled) them, for the raw
// client's node:net WebSocket and for tests that send hand-made frames.

import { randomBytes } from 'node:crypto';

/** A client frame: FIN set, masked (RFC 6455 5.3 requires clients to mask). */
export function maskedFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + lenBytes + 4 + n);
  out[0] = 0x80 | opcode;
  if (lenBytes === 0) out[1] = 0x80 | n;
  else if (lenBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  const maskAt = 2 + lenBytes;
  nextMaskKey(out, maskAt);
  for (let i = 0; i < n; i++) out[maskAt + 4 + i] = payload[i]! ^ out[maskAt + (i & 3)]!;
  return out;
}

// Masking keys are random, as RFC 6455 wants, but drawn 4 at a time from a pooled block: a
// crypto call per frame would cost the benchmark's load generator more than the frame itself.
let maskPool = randomBytes(4096);
let maskAt = 0;
function nextMaskKey(out: Buffer, at: number): void {
  if (maskAt === maskPool.length) {
    maskPool = randomBytes(4096);
    maskAt = 0;
  }
  maskPool.copy(out, at, maskAt, maskAt + 4);
  maskAt += 4;
}

/** Server-to-client frames (unmasked), with continuation frames reassembled. */
export class WsFrameDecoder {
  error: string | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;

  feed(chunk: Buffer): { opcode: number; payload: Uint8Array }[] {
    const out: { opcode: number; payload: Uint8Array }[] = [];
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      if (b[1]! & 0x80) {
        this.error = 'server frame is masked';
        break;
      }
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) break;
      const payload = b.subarray(at, at + len);
      this.#buf = b.subarray(at + len);
      if (opcode >= 0x8) {
        out.push({ opcode, payload });
        continue;
      }
      if (opcode !== 0) this.#fragmentOpcode = opcode;
      if (fin && this.#fragments.length === 0) {
        out.push({ opcode, payload });
        continue;
      }
      this.#fragments.push(Buffer.from(payload));
      if (fin) {
        out.push({ opcode: this.#fragmentOpcode, payload: Buffer.concat(this.#fragments) });
        this.#fragments = [];
      }
    }
    // Keep the unconsumed tail in its own buffer so a big chunk is not pinned by a small tail.
    if (this.#buf.length > 0 && this.#buf.length < 65536) this.#buf = Buffer.from(this.#buf);
    return out;
  }
}
