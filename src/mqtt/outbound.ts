// QoS state of the messages the router sends one MQTT client: packet identifiers, the
// in-flight window (at most the client's Receive Maximum and ours), and the queue behind it.
// QoS 1: PUBLISH -> PUBACK. QoS 2: PUBLISH -> PUBREC, PUBREL -> PUBCOMP. QoS 0 bypasses it.
//
// What it holds in memory is bounded in bytes as well as in messages (maxBytes, in flight and
// waiting together): a client that reads but never acknowledges would otherwise pin maxQueued
// messages of up to a megabyte each. Past the bound, a session whose messages are in SQLite
// (persistence.ts) holds no more of them here and reads them back, in order, when the window
// opens; any other session drops the oldest waiting. A message that cannot be sent to this
// client at all gives its slot back at once, so it never blocks those behind it.

import type { IPublishPacket } from 'mqtt-packet';
import type { OutboundMessage } from './outbound-message.ts';
import { messageSize } from './packet-size.ts';
import { withExpiry } from './properties.ts';

export type { OutboundMessage } from './outbound-message.ts';

interface Held {
  readonly message: OutboundMessage;
  /** What it counts against the bound: its PUBLISH's size (properties included). */
  readonly bytes: number;
}

interface Inflight extends Held {
  /** 'publish': waiting for PUBACK/PUBREC; 'released': PUBREL sent, waiting for PUBCOMP. */
  phase: 'publish' | 'released';
}

export interface OutboundSink {
  /** False: it can never go to this client (not encodable, over its Maximum Packet Size); it is dropped. */
  publish(id: number, message: OutboundMessage, dup: boolean): boolean;
  pubrel(id: number): void;
  /** The message is done with: acknowledged, or dropped from a full queue, or expired, or unsendable. */
  settled(message: OutboundMessage): void;
  /** Whether every message pushed is kept elsewhere (SQLite), so that past the bound it may be read back later. */
  spills(): boolean;
  /**
   * The kept messages after those `held`, oldest first, about `maxBytes` of them and at least
   * one; `more`: others remain.
   */
  readBack(held: OutboundMessage[], maxBytes: number): { messages: OutboundMessage[]; more: boolean };
}

export class Outbound {
  readonly #sink: OutboundSink;
  readonly #window: number;
  readonly #maxQueued: number;
  readonly #maxBytes: number;
  readonly #v5: boolean;
  // Made on first use, like the queue: most clients never get a QoS 1/2 message, and ten
  // thousand idle clients should not each hold an empty Map (BENCHMARKS.md, MQTT idle memory).
  #inflight: Map<number, Inflight> | undefined;
  #queue: Held[] | undefined;
  #nextId = 1;
  #inflightBytes = 0;
  #queuedBytes = 0;
  /** Messages past the bound are in SQLite only, to be read back once the queue has room. */
  #spilled = false;
  /** Messages dropped because the queue was full (oldest first). */
  dropped = 0;
  /** Messages that expired while they waited. */
  expired = 0;
  /** Messages that could not be sent to this client at all (see OutboundSink.publish). */
  unsendable = 0;

  /** `v5`: the client speaks MQTT 5, so a message's own size (delivery's) is already the form the bound counts. */
  constructor(sink: OutboundSink, window: number, maxQueued: number, maxBytes: number, v5: boolean) {
    this.#sink = sink;
    this.#window = Math.max(1, window);
    this.#maxQueued = maxQueued;
    this.#maxBytes = maxBytes;
    this.#v5 = v5;
  }

  get inflightCount(): number {
    return this.#inflight?.size ?? 0;
  }
  get queuedCount(): number {
    return this.#queue?.length ?? 0;
  }
  /** Bytes of the messages held in memory, in flight and waiting. */
  get heldBytes(): number {
    return this.#inflightBytes + this.#queuedBytes;
  }

  push(message: OutboundMessage): void {
    if (this.#spilled) return; // in SQLite behind others still there: read back after them
    const held = { message, bytes: this.#bytesOf(message) };
    const queue = (this.#queue ??= []);
    if (queue.length === 0 && this.#mayFly(held.bytes)) return this.#send(held);
    if (this.#sink.spills() && (queue.length >= this.#maxQueued || this.#over(held.bytes))) {
      this.#spilled = true; // kept in SQLite: read back in order when there is room
      return;
    }
    queue.push(held);
    this.#queuedBytes += held.bytes;
    // The newest always stays: one message larger than the bound still gets through.
    while (queue.length > this.#maxQueued || (queue.length > 1 && this.heldBytes > this.#maxBytes)) {
      const oldest = queue.shift()!;
      this.#queuedBytes -= oldest.bytes;
      this.#sink.settled(oldest.message);
      this.dropped++;
    }
  }

  /** PUBACK (QoS 1); false when no QoS 1 message waits under that identifier. */
  puback(id: number): boolean {
    const f = this.#inflight?.get(id);
    if (f === undefined || f.message.qos !== 1) return false;
    this.#release(id);
    return true;
  }

  /** PUBREC (QoS 2): a failure code from the client ends the exchange there (MQTT 5, 4.3.3). */
  pubrec(id: number, failed: boolean): boolean {
    const f = this.#inflight?.get(id);
    if (f === undefined || f.message.qos !== 2) return false;
    if (failed) {
      this.#release(id);
      return true;
    }
    f.phase = 'released';
    this.#sink.pubrel(id);
    return true;
  }

  pubcomp(id: number): boolean {
    const f = this.#inflight?.get(id);
    if (f === undefined || f.phase !== 'released') return false;
    this.#release(id);
    return true;
  }

  /** Forgets everything not yet acknowledged (not settled: it stays in SQLite, if kept): the client went away. */
  drain(): void {
    this.#inflight = undefined;
    this.#queue = undefined;
    this.#inflightBytes = 0;
    this.#queuedBytes = 0;
    this.#spilled = false;
  }

  /** What a message counts against the bound: its MQTT 5 PUBLISH (the larger form), or near it when that cannot be encoded. */
  #bytesOf(m: OutboundMessage): number {
    const size = this.#v5 && m.size !== undefined ? m.size : messageSize(m, true);
    return Number.isFinite(size) ? size : m.payload.byteLength + m.topic.length;
  }

  /** Whether a message of `bytes` may go in flight now: a free slot, and room in the bound (always, with none in flight). */
  #mayFly(bytes: number): boolean {
    const n = this.inflightCount;
    return n < this.#window && (n === 0 || this.#inflightBytes + bytes <= this.#maxBytes);
  }

  #over(bytes: number): boolean {
    return this.heldBytes + bytes > this.#maxBytes;
  }

  #send(held: Held): void {
    const id = this.#allocate();
    const f: Inflight = { message: held.message, bytes: held.bytes, phase: 'publish' };
    (this.#inflight ??= new Map()).set(id, f);
    this.#inflightBytes += held.bytes;
    if (!this.#sink.publish(id, held.message, false)) this.#unsendable(id, f);
  }

  #unsendable(id: number, f: Inflight): void {
    this.#inflight!.delete(id);
    this.#inflightBytes -= f.bytes;
    this.unsendable++;
    this.#sink.settled(f.message); // its row goes: it would fail again after every reconnect
  }

  #release(id: number): void {
    const inflight = this.#inflight!;
    const f = inflight.get(id)!;
    this.#sink.settled(f.message);
    inflight.delete(id);
    this.#inflightBytes -= f.bytes;
    this.#fill();
  }

  /** Sends what waits while the window and the bound allow, reading back what spilled to SQLite. */
  #fill(): void {
    const now = Date.now();
    for (;;) {
      const queue = (this.#queue ??= []);
      if (queue.length === 0) {
        if (!this.#spilled || !this.#mayFly(0)) return;
        const room = Math.max(0, this.#maxBytes - this.#inflightBytes);
        const held = [...(this.#inflight?.values() ?? [])].map((f) => f.message);
        const { messages, more } = this.#sink.readBack(held, room);
        this.#spilled = more;
        if (messages.length === 0) return;
        for (const message of messages) {
          const bytes = this.#bytesOf(message);
          queue.push({ message, bytes });
          this.#queuedBytes += bytes;
        }
      }
      const next = queue[0]!;
      const expired = next.message.expiresAt !== undefined && next.message.expiresAt <= now;
      if (!expired && !this.#mayFly(next.bytes)) return;
      queue.shift();
      this.#queuedBytes -= next.bytes;
      if (!expired) this.#send(next);
      else {
        this.expired++;
        this.#sink.settled(next.message);
      }
    }
  }

  #allocate(): number {
    // The window is far below 65535, so a free identifier is always near.
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id === 0xffff ? 1 : id + 1;
      if (this.#inflight?.has(id) !== true) return id;
    }
  }
}

/** The PUBLISH for `message`; MQTT 5 gets what is left of its expiry. `id`: QoS 1/2 only. */
export function publishPacket(
  m: OutboundMessage,
  id: number | undefined,
  dup: boolean,
  v5: boolean,
  now: number,
): IPublishPacket {
  const properties = v5 ? withExpiry(m.properties, m.expiresAt, now) : undefined;
  return {
    cmd: 'publish',
    qos: m.qos,
    dup,
    retain: m.retain,
    topic: m.topic,
    payload: Buffer.from(m.payload),
    ...(id !== undefined && { messageId: id }),
    ...(properties && { properties }),
  };
}
