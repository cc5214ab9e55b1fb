// The integrity-tag batching of one link connection (links/connection.ts), both directions,
// and the joining of a tick's mesh frames into one MESH frame (one envelope: a link frame, a
// MAC input and a decode call per tick rather than per mesh frame).
// Without TLS, each side tags what it sends after its own proof, in batches: the frames of a
// tick, then a TAG frame, sealed by an end-of-tick callback queued ahead of the FrameWriter's
// own flush (or early, before a batch would pass SEAL_BYTES, and then written at once). What it
// receives after the peer's proof is held, unhandled, until the batch's TAG has been checked.
// The MAC is links/integrity.ts.

import type net from 'node:net';
import { FrameWriter } from '../../net/frame-writer.ts';
import { flushAtEndOfTick, type Flushable } from '../../net/end-of-tick.ts';
import { HEADER_SIZE, LinkFrameType, MAX_FRAME } from './framing.ts';
import { joinEnvelope } from './envelope.ts';
import { EnvelopeSlabs } from './envelope-slabs.ts';
import { BATCH_BYTES, BatchMac, SEAL_BYTES, TAG_SIZE } from './integrity.ts';

/** The sending side: frames and raw bytes batched per tick, tagged once tagging has started. */
export class TaggedFrameWriter {
  bytesOut = 0;
  readonly #socket: net.Socket;
  // Frames and raw bytes, batched per tick: a burst (an LSA flood, pipelined calls, an event
  // fan-out) leaves in one write.
  readonly #writer: FrameWriter;
  /** Set once this side has sent its proof: everything written from then on is tagged. */
  #mac: BatchMac | undefined;
  // The open outgoing batch: frames written since the last TAG.
  #types: number[] = [];
  #payloads: Uint8Array[] = [];
  #bytes = 0;
  #sealQueued = false;
  readonly #sealer: Flushable = { flush: () => this.#sealAndFlush() };
  // The open envelope: mesh frames (CBOR items) queued this tick, not yet a MESH frame.
  #items: Uint8Array[] = [];
  #itemBytes = 0;
  #envelopeQueued = false;
  #slabs: EnvelopeSlabs | undefined;
  readonly #closer: Flushable = {
    flush: () => {
      this.#envelopeQueued = false;
      this.#closeEnvelope();
    },
  };

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#writer = new FrameWriter(socket);
  }

  get queuedBytes(): number {
    return this.#writer.queuedBytes + this.#itemBytes;
  }

  /** Called right after this side's proof is queued: what follows it is tagged. */
  startTagging(key: Uint8Array): void {
    this.#mac = new BatchMac(key);
    // Envelopes go into reused buffers from here on: #sealAndFlush, which ends every tagged
    // tick, is where a tick's buffers come back. (A link over TLS, whose octets go through its
    // cipher, never tags, so never reuses them.)
    this.#slabs = new EnvelopeSlabs();
  }

  /**
   * Queues one mesh frame (its CBOR item) in this tick's envelope, which goes out as one MESH
   * frame at the end of the tick, or before any other frame; false if the socket no longer takes
   * writes. An envelope is at most `peerMax` octets, and fills at most a tagged batch (its link
   * header included), so a receiver holds no more than a batch.
   */
  meshFrame(item: Uint8Array, peerMax: number): boolean {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return false;
    const limit = Math.min(peerMax, SEAL_BYTES - HEADER_SIZE);
    if (this.#items.length > 0 && (this.#itemBytes + item.length + 3 > limit || this.#items.length === 0xffff)) {
      // A full envelope fills a batch: the batch ends, written now.
      this.#closeEnvelope();
      this.#sealAndWrite();
    }
    this.#items.push(item);
    this.#itemBytes += item.length;
    if (!this.#envelopeQueued) {
      this.#envelopeQueued = true;
      flushAtEndOfTick(this.#closer);
    }
    return true;
  }

  /** Queues one frame; false if the socket no longer takes writes. */
  frame(type: LinkFrameType, payload: Uint8Array): boolean {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return false;
    if (this.#items.length > 0) this.#closeEnvelope();
    if (payload.length > MAX_FRAME) throw new RangeError(`link frame length out of range: ${payload.length}`);
    const size = HEADER_SIZE + payload.length;
    if (this.#mac !== undefined) {
      // A batch ends before the frame that would take it past SEAL_BYTES (a frame larger than
      // that is a batch alone).
      if (this.#bytes > 0 && this.#bytes + size > SEAL_BYTES) this.#sealAndWrite();
      if (!this.#sealQueued) {
        // Queued before the writer's own flush (which the frame below asks for), so the TAG
        // goes out in the same write as its batch.
        this.#sealQueued = true;
        flushAtEndOfTick(this.#sealer);
      }
    }
    this.#writer.frame(type, payload);
    this.bytesOut += size;
    if (this.#mac !== undefined) {
      this.#types.push(type);
      this.#payloads.push(payload);
      this.#bytes += size;
      if (this.#bytes >= SEAL_BYTES) this.#sealAndWrite();
    } else if (this.#writer.queuedBytes >= SEAL_BYTES) this.#writer.flush();
    return true;
  }

  raw(bytes: Uint8Array): void {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    if (this.#items.length > 0) this.#closeEnvelope();
    this.#writer.raw(bytes);
    this.bytesOut += bytes.length;
  }

  /** Ends the open batch with its TAG frame. */
  seal(): void {
    if (this.#items.length > 0) this.#closeEnvelope();
    const mac = this.#mac;
    if (mac === undefined || this.#types.length === 0) return;
    const tag = mac.next(this.#types, this.#payloads, this.#types.length, this.#bytes);
    this.#types = [];
    this.#payloads = [];
    this.#bytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    this.#writer.frame(LinkFrameType.TAG, tag);
    this.bytesOut += HEADER_SIZE + tag.length;
  }

  /**
   * Ends a batch that is full and writes it at once rather than at the end of the tick: a
   * router handling a large read (the caller's node, a client's burst of calls) would otherwise
   * hand the next router nothing until it had handled all of it, and the routers of a path
   * would take turns rather than work at once (3-hop calls/s +16%, 1.75 vs 1.51 of 2 cores
   * busy; BENCHMARKS.md, fifteenth session). A link over TLS, which tags nothing, is written
   * every SEAL_BYTES the same way.
   */
  #sealAndWrite(): void {
    this.seal();
    this.#writer.flush();
  }

  flush(): void {
    if (this.#items.length > 0) this.#closeEnvelope();
    this.#writer.flush();
  }

  /** Forgets everything queued (the socket is being destroyed). */
  drop(): void {
    this.#slabs?.written(false);
    this.#items = [];
    this.#itemBytes = 0;
    this.#types = [];
    this.#payloads = [];
    this.#bytes = 0;
    this.#writer.drop();
  }

  #closeEnvelope(): void {
    const items = this.#items;
    if (items.length === 0) return;
    this.#items = [];
    const bytes = this.#itemBytes;
    this.#itemBytes = 0;
    this.frame(LinkFrameType.MESH, joinEnvelope(items, bytes, this.#slabs));
  }

  #sealAndFlush(): void {
    this.#sealQueued = false;
    this.seal();
    // Normally this runs ahead of the writer's own end-of-tick flush, which then finds nothing
    // to write; if the writer went first (it had frames queued before the batch opened), the
    // TAG must not wait for another tick.
    this.#writer.flush();
    this.#slabs?.written(this.#socket.writableLength === 0);
  }
}

/** A checked batch's frames, in order. */
export interface TaggedBatch {
  readonly types: readonly number[];
  readonly payloads: readonly Uint8Array[];
}

/** The receiving side: frames received since the last TAG, not handled yet. */
export class TaggedFrameReader {
  readonly #mac: BatchMac;
  #types: number[] = [];
  #payloads: Uint8Array[] = [];
  #bytes = 0;

  constructor(key: Uint8Array) {
    this.#mac = new BatchMac(key);
  }

  /** Holds a frame other than TAG; returns why the batch is refused if it grew too large. */
  hold(type: LinkFrameType, payload: Uint8Array, frameLimit: number): string | undefined {
    this.#types.push(type);
    this.#payloads.push(payload);
    this.#bytes += HEADER_SIZE + payload.length;
    // A sender seals a batch before it would pass SEAL_BYTES (an earlier build once it held
    // BATCH_BYTES), so one never grows past BATCH_BYTES plus a frame.
    const limit = BATCH_BYTES + HEADER_SIZE + frameLimit;
    if (this.#bytes > limit) return `${this.#bytes} octets of frames without a tag (a batch holds at most ${limit})`;
    return undefined;
  }

  /** Checks the held batch against its TAG: its frames, or why none of them may be used. */
  check(tag: Uint8Array): TaggedBatch | string {
    const types = this.#types;
    const payloads = this.#payloads;
    const count = types.length;
    const seq = this.#mac.seq;
    const ok = tag.length === TAG_SIZE && this.#mac.verify(types, payloads, count, this.#bytes, tag);
    this.clear();
    if (!ok) {
      return (
        `batch ${seq} (${count} frame${count === 1 ? '' : 's'}) failed its integrity check: ` +
        `altered, injected, replayed or reordered on the way; none of it was acted on`
      );
    }
    return { types, payloads };
  }

  clear(): void {
    this.#types = [];
    this.#payloads = [];
    this.#bytes = 0;
  }
}
