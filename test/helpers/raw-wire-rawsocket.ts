// The raw client's RawSocket transport (4-octet handshake, 4-octet frame headers), written apart
// from src/transport so that a framing bug there is not mirrored here.

import type net from 'node:net';
import type { Serializer } from '../../src/serializers/index.ts';
import { withDeadline } from './deadline.ts';
import { socketControls, tcpConnect, type Wire, type WireEvents, writeCorked } from './raw-wire.ts';

/** The RawSocket server refused our handshake; code is the upper nibble of its reply. */
export class HandshakeRefused extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`RawSocket handshake refused with error code ${code}`);
    this.name = 'HandshakeRefused';
    this.code = code;
  }
}

export async function openRawSocket(
  host: string,
  port: number,
  serializer: Serializer,
  lengthExponent: number,
  timeoutMs: number,
  events: WireEvents,
): Promise<Wire> {
  const socket = await withDeadline(tcpConnect(host, port), timeoutMs, 'rawsocket connect', () => undefined);
  socket.write(Uint8Array.of(0x7f, ((lengthExponent & 0x0f) << 4) | serializer.rawsocketId, 0, 0));
  const reply = await withDeadline(readExactly(socket, 4), timeoutMs, 'rawsocket handshake', () => socket.destroy());
  if (reply.bytes[0] !== 0x7f || reply.bytes[2] !== 0 || reply.bytes[3] !== 0) {
    socket.destroy();
    throw new Error(`bad RawSocket handshake reply ${Buffer.from(reply.bytes).toString('hex')}`);
  }
  const octet = reply.bytes[1] ?? 0;
  if ((octet & 0x0f) === 0) {
    socket.destroy();
    throw new HandshakeRefused(octet >> 4);
  }
  if ((octet & 0x0f) !== serializer.rawsocketId) {
    socket.destroy();
    throw new Error(`router echoed serializer ${octet & 0x0f}, we asked for ${serializer.rawsocketId}`);
  }
  const routerMax = 2 ** (9 + (octet >> 4));
  const decoder = new RawSocketDecoder();
  const onData = (chunk: Buffer): void => {
    const frames = decoder.feed(chunk);
    for (const frame of frames) {
      if (frame.type === 0) events.message(frame.payload);
      else if (frame.type === 1) writeFrame(socket, 2, frame.payload); // PING -> PONG
    }
    if (decoder.error) {
      socket.destroy();
      events.closed({ error: `client framing error: ${decoder.error}` });
    }
  };
  socket.on('data', onData);
  socket.on('error', () => undefined); // 'close' follows and reports
  let socketError: string | undefined;
  socket.once('error', (e: NodeJS.ErrnoException) => {
    socketError = e.code ?? e.message;
  });
  socket.once('close', () => events.closed(socketError === undefined ? {} : { error: socketError }));
  if (reply.rest.length > 0) onData(Buffer.from(reply.rest));

  return {
    sendMessage(payload) {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
      if (bytes.length > routerMax)
        throw new Error(`message of ${bytes.length} octets exceeds the router's announced ${routerMax}`);
      writeFrame(socket, 0, bytes);
    },
    sendRaw(bytes) {
      socket.write(bytes);
    },
    sendFramed(frame) {
      writeCorked(socket, frame);
    },
    close() {
      socket.end();
    },
    ...socketControls(socket),
  };
}

/**
 * Header and payload, corked until the end of the tick: a burst of frames (pipelined calls)
 * leaves in one writev rather than two syscalls per frame, which keeps the load generator cheap.
 */
function writeFrame(socket: net.Socket, type: number, payload: Uint8Array): void {
  const n = payload.length;
  writeCorked(socket, Uint8Array.of(type, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  if (n > 0) socket.write(payload);
}

/** Reads exactly n bytes, and hands back whatever came with them. */
function readExactly(socket: net.Socket, n: number): Promise<{ bytes: Uint8Array; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < n) return;
      cleanup();
      resolve({ bytes: buf.subarray(0, n), rest: buf.subarray(n) });
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`connection closed after ${buf.length} of ${n} handshake octets`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Client-side RawSocket frame splitter; one allocation per frame that spans reads. */
class RawSocketDecoder {
  error: string | undefined;
  readonly #header = Buffer.alloc(4);
  #headerFill = 0;
  #type = 0;
  #body: Buffer | null = null;
  #bodyFill = 0;

  feed(chunk: Buffer): { type: number; payload: Uint8Array }[] {
    const out: { type: number; payload: Uint8Array }[] = [];
    let off = 0;
    while (off < chunk.length && this.error === undefined) {
      if (this.#body !== null) {
        const n = Math.min(this.#body.length - this.#bodyFill, chunk.length - off);
        chunk.copy(this.#body, this.#bodyFill, off, off + n);
        this.#bodyFill += n;
        off += n;
        if (this.#bodyFill === this.#body.length) {
          out.push({ type: this.#type, payload: this.#body });
          this.#body = null;
        }
        continue;
      }
      const n = Math.min(4 - this.#headerFill, chunk.length - off);
      chunk.copy(this.#header, this.#headerFill, off, off + n);
      this.#headerFill += n;
      off += n;
      if (this.#headerFill < 4) break;
      this.#headerFill = 0;
      const first = this.#header[0]!;
      if (first > 2) {
        this.error = `bad frame header octet 0x${first.toString(16)}`;
        break;
      }
      this.#type = first;
      const length = this.#header.readUIntBE(1, 3);
      if (chunk.length - off >= length) {
        out.push({ type: first, payload: chunk.subarray(off, off + length) });
        off += length;
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#bodyFill = 0;
      }
    }
    return out;
  }
}
