// Writes length-prefixed frames (a type octet and a 24-bit big-endian length, then the
// payload: WAMP RawSocket and the mesh links share this layout) to a socket, batched per tick.
// Frames queued during a tick go out at its end (end-of-tick.ts), small ones copied into one
// buffer: one socket write, one syscall, however many frames the tick produced (an EVENT
// fan-out, a batch of pipelined results). Cheaper than corking the socket, where every frame
// costs two Writable.write() calls and the writev assembles them again.

import type { Socket } from 'node:net';
import { flushAfterCallbacks, flushAtEndOfTick, type Flushable } from './end-of-tick.ts';
import { HEADER_SIZE, MAX_PAYLOAD, writeHeader } from './length-prefixed.ts';
/** Queued as is, without a header (a preamble, a handshake). */
const RAW = -1;
// Frames queued in one tick are copied into one buffer up to this size; beyond it they go out in
// buffers of up to this size, each written with the others in one writev(2).
const COALESCE_BYTES = 64 * 1024;
// Within such a batch, and for frames given in parts (frameParts), a payload or part this big or
// bigger goes out as it is: one more entry in the writev costs less than copying it.
const UNCOPIED_BYTES = 8 * 1024;
// Batches up to this size are assembled in one buffer shared by all writers (see Scratch).
const SCRATCH_BYTES = 16 * 1024;
// A writer flushing after the round's callbacks holds back at most this many frames (and at most
// COALESCE_BYTES): what a pipelining peer's one read causes (a 64 KiB read is a thousand small
// calls, their INVOCATIONs to one callee) goes out in parts while the rest is still being made,
// so the receiver works on the first part meanwhile instead of waiting for the whole, and the
// router for its answers. Counted in frames: in octets, a run of large frames would go out in a
// write each.
const DEFERRED_FRAMES = 256;

export interface FrameWriterOptions {
  /**
   * When the frames queued go out: at the end of the tick that queued them (the default), or
   * once the event loop ran this round's I/O callbacks, so that frames caused by many other
   * connections' input (HTTP requests, WebSocket messages, other clients' calls, all read in
   * one round) leave in one write instead of one per connection that caused them. At most
   * DEFERRED_FRAMES frames or 64 KiB are ever held back this way.
   */
  readonly flush?: 'endOfTick' | 'afterCallbacks';
}

export class FrameWriter implements Flushable {
  readonly #socket: Socket;
  readonly #schedule: (peer: Flushable) => void;
  readonly #deferred: boolean;
  /** Each queued frame's payload, or its parts (frameParts). */
  #payloads: (Uint8Array | readonly Uint8Array[])[] = [];
  #types: number[] = [];
  #queued = 0;
  #hasParts = false;
  // For octetsWritten: what earlier flushes wrote, and the RAW octets (no header) among it all.
  // Summed per flush and per raw(), not per frame: the frames' sizes are in #queued already.
  #flushedBytes = 0;
  #flushedFrames = 0;
  #rawBytes = 0;
  #rawEntries = 0;

  constructor(socket: Socket, options: FrameWriterOptions = {}) {
    this.#socket = socket;
    this.#deferred = options.flush === 'afterCallbacks';
    this.#schedule = this.#deferred ? flushAfterCallbacks : flushAtEndOfTick;
  }

  /** Octets queued and not yet handed to the socket. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Payload octets of the frames queued since the start (flushed or waiting), without their
   * headers and without raw() bytes; what a frame dropped by drop() held is not counted.
   */
  get payloadOctets(): number {
    const frames = this.#flushedFrames + this.#payloads.length - this.#rawEntries;
    return this.#flushedBytes + this.#queued - this.#rawBytes - HEADER_SIZE * frames;
  }

  /** Queues one frame. The payload must not change until the end of the tick. */
  frame(type: number, payload: Uint8Array): void {
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload length out of range: ${payload.length}`);
    this.#push(type, payload, HEADER_SIZE + payload.length);
  }

  /**
   * Queues one frame whose payload is `parts` (`length` octets in all), written in order without
   * joining the large ones. They must not change until the end of the tick.
   */
  frameParts(type: number, parts: readonly Uint8Array[], length: number): void {
    if (length > MAX_PAYLOAD) throw new RangeError(`frame payload length out of range: ${length}`);
    this.#hasParts = true;
    this.#push(type, parts, HEADER_SIZE + length);
  }

  /** Queues bytes to be written as they are, in order with the frames. */
  raw(bytes: Uint8Array): void {
    this.#rawBytes += bytes.length;
    this.#rawEntries++;
    this.#push(RAW, bytes, bytes.length);
  }

  /** Writes what is queued now (before end(), say). A destroyed or ended socket drops it. */
  flush(): void {
    const payloads = this.#payloads;
    const types = this.#types;
    const total = this.#queued;
    if (payloads.length === 0) return;
    this.#flushedBytes += total;
    this.#flushedFrames += payloads.length;
    const hasParts = this.#hasParts;
    this.#reset();
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    // A batch beyond the scratch's size gets a new buffer, external memory to V8, made per flush
    // (and a copy of every payload). Holding a large payload (a mesh link's envelope, a 10 KB
    // argument), it goes out gathered instead, that payload uncopied.
    if (total <= COALESCE_BYTES && !hasParts && (total <= SCRATCH_BYTES || !holdsLarge(payloads))) {
      // With nothing waiting in the stream, the socket most likely takes the batch at once (see
      // Scratch). A TLS socket's octets go through its cipher first: never the scratch, to be safe.
      const reused = total <= SCRATCH_BYTES && socket.writableLength === 0 && !('encrypted' in socket);
      const out = reused ? scratch.take(total) : Buffer.allocUnsafe(total);
      socket.write(assemble(out, payloads as Uint8Array[], types));
      if (reused) scratch.written(socket.writableLength === 0);
      return;
    }
    socket.cork();
    const out = new Gather(socket);
    for (let i = 0; i < payloads.length; i++) {
      const entry = payloads[i]!;
      const type = types[i]!;
      if (isParts(entry)) {
        let length = 0;
        for (const part of entry) length += part.length;
        out.header(type, length);
        for (const part of entry) out.piece(part);
      } else {
        if (type !== RAW) out.header(type, entry.length);
        out.piece(entry);
      }
    }
    out.end();
    socket.uncork();
  }

  /** Forgets what is queued (the connection is failing). */
  drop(): void {
    for (let i = 0; i < this.#types.length; i++) {
      if (this.#types[i] !== RAW) continue;
      this.#rawBytes -= (this.#payloads[i] as Uint8Array).length;
      this.#rawEntries--;
    }
    this.#reset();
  }

  #reset(): void {
    this.#payloads = [];
    this.#types = [];
    this.#queued = 0;
    this.#hasParts = false;
  }

  #push(type: number, payload: Uint8Array | readonly Uint8Array[], size: number): void {
    if (this.#payloads.length === 0) this.#schedule(this);
    this.#payloads.push(payload);
    this.#types.push(type);
    this.#queued += size;
    // Waiting for the round's end only pays for small frames, and what waits is never a write's
    // worth: the queue goes out as soon as it reaches COALESCE_BYTES or DEFERRED_FRAMES. So the
    // bytes held back between two sends (counted in queuedBytes, so in the Peer's
    // bufferedAmount) stay under it: a reader that keeps up is not taken for a slow consumer
    // because this writer held a few ticks' frames for one write, and a burst (one client's
    // flood of calls read in one round, each refused) leaves as it is made rather than the
    // whole round's at once.
    if (this.#deferred && (this.#queued >= COALESCE_BYTES || this.#payloads.length >= DEFERRED_FRAMES)) this.flush();
  }
}

/** Whether a whole payload of the batch is large enough to be written uncopied (see Gather). */
function holdsLarge(payloads: readonly (Uint8Array | readonly Uint8Array[])[]): boolean {
  for (const entry of payloads) if (!isParts(entry) && entry.length >= UNCOPIED_BYTES) return true;
  return false;
}

function isParts(entry: Uint8Array | readonly Uint8Array[]): entry is readonly Uint8Array[] {
  return Array.isArray(entry);
}

/**
 * Where flushes assemble their batches to sockets with nothing waiting. A buffer per flush made
 * garbage of every batch, and external memory that V8 counts towards its next full collection:
 * a fan-out to 10,000 subscribers allocated 10,000 buffers a round. The batch is assembled in
 * one buffer kept for it instead; written at once (the socket took it all, nothing refers to it
 * any more), the next batch reuses it. One the stream has to keep (its socket's kernel buffer
 * is full) keeps it until written, and the next batch gets a new one: at most one (16 KiB) is
 * kept per socket that fell behind (later batches to it find octets waiting and get buffers of
 * their own).
 */
class Scratch {
  #buffer: Buffer | undefined;

  /** `bytes` octets (at most SCRATCH_BYTES) nobody else uses; written() says what became of them. */
  take(bytes: number): Buffer {
    this.#buffer ??= Buffer.allocUnsafe(SCRATCH_BYTES);
    return this.#buffer.subarray(0, bytes);
  }

  /** The last take() was written: `done` when the socket took it all, else the stream keeps it. */
  written(done: boolean): void {
    if (!done) this.#buffer = undefined;
  }
}

const scratch = new Scratch();

/** A queue of whole frames (no parts) assembled in `out`: each frame's header, then its payload. */
function assemble(out: Buffer, payloads: readonly Uint8Array[], types: readonly number[]): Buffer {
  let at = 0;
  for (let i = 0; i < payloads.length; i++) {
    const payload = payloads[i]!;
    const type = types[i]!;
    if (type !== RAW) at = writeHeader(out, at, type, payload.length);
    out.set(payload, at);
    at += payload.length;
  }
  return out;
}

/**
 * Writes a batch to a corked socket: headers and small pieces copied together into buffers of up
 * to COALESCE_BYTES, pieces of UNCOPIED_BYTES or more as they are, all in their order.
 */
class Gather {
  readonly #socket: Socket;
  /** Pieces to copy into the next buffer; a number is a header: type * 2^24 + length. */
  #pending: (Uint8Array | number)[] = [];
  #bytes = 0;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  header(type: number, length: number): void {
    this.#add(type * 0x1000000 + length, HEADER_SIZE);
  }

  piece(bytes: Uint8Array): void {
    if (bytes.length >= UNCOPIED_BYTES) {
      this.end();
      this.#socket.write(bytes);
    } else if (bytes.length > 0) this.#add(bytes, bytes.length);
  }

  /** Writes what is pending. */
  end(): void {
    if (this.#pending.length === 0) return;
    const out = Buffer.allocUnsafe(this.#bytes);
    let at = 0;
    for (const p of this.#pending) {
      if (typeof p === 'number') at = writeHeader(out, at, Math.floor(p / 0x1000000), p % 0x1000000);
      else {
        out.set(p, at);
        at += p.length;
      }
    }
    this.#pending = [];
    this.#bytes = 0;
    this.#socket.write(out);
  }

  #add(piece: Uint8Array | number, size: number): void {
    if (this.#bytes + size > COALESCE_BYTES) this.end();
    this.#pending.push(piece);
    this.#bytes += size;
  }
}
