// QoS state of the messages the router sends one MQTT client: packet identifiers, the
// in-flight window (at most the client's Receive Maximum and ours), and the queue behind it.
// QoS 1: PUBLISH -> PUBACK. QoS 2: PUBLISH -> PUBREC, PUBREL -> PUBCOMP. QoS 0 bypasses it.

import type { IPublishPacket, QoS } from 'mqtt-packet';
import { withExpiry } from './properties.ts';

export interface OutboundMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: IPublishPacket['properties'];
  /** MQTT 5 message expiry (ms since the epoch): not sent after it. */
  expiresAt?: number;
}

interface Inflight {
  readonly message: OutboundMessage;
  /** 'publish': waiting for PUBACK/PUBREC; 'released': PUBREL sent, waiting for PUBCOMP. */
  phase: 'publish' | 'released';
}

export interface OutboundSink {
  publish(id: number, message: OutboundMessage, dup: boolean): void;
  pubrel(id: number): void;
  /** The message is done with: acknowledged, or dropped from a full queue, or expired. */
  settled(message: OutboundMessage): void;
}

export class Outbound {
  readonly #sink: OutboundSink;
  readonly #window: number;
  readonly #maxQueued: number;
  // Made on first use, like the queue: most clients never get a QoS 1/2 message, and ten
  // thousand idle clients should not each hold an empty Map (BENCHMARKS.md, MQTT idle memory).
  #inflight: Map<number, Inflight> | undefined;
  #queue: OutboundMessage[] | undefined;
  #nextId = 1;
  /** Messages dropped because the queue was full (oldest first). */
  dropped = 0;
  /** Messages that expired while they waited. */
  expired = 0;

  constructor(sink: OutboundSink, window: number, maxQueued: number) {
    this.#sink = sink;
    this.#window = Math.max(1, window);
    this.#maxQueued = maxQueued;
  }

  get inflightCount(): number {
    return this.#inflight?.size ?? 0;
  }
  get queuedCount(): number {
    return this.#queue?.length ?? 0;
  }

  push(message: OutboundMessage): void {
    if (this.inflightCount < this.#window) return this.#send(message);
    const queue = (this.#queue ??= []);
    queue.push(message);
    if (queue.length > this.#maxQueued) {
      this.#sink.settled(queue.shift()!);
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

  /** Everything not yet acknowledged, in order (in flight first), and forgets it (not settled): the client went away. */
  drain(): OutboundMessage[] {
    const out = [...(this.#inflight?.values() ?? [])].map((f) => f.message);
    out.push(...(this.#queue ?? []));
    this.#inflight = undefined;
    this.#queue = undefined;
    return out;
  }

  /** After a reconnect: everything unacknowledged again, in order, PUBLISH with DUP set (MQTT 4.4). */
  resend(): void {
    for (const [id, f] of this.#inflight ?? []) {
      if (f.phase === 'released') this.#sink.pubrel(id);
      else this.#sink.publish(id, f.message, true);
    }
  }

  #send(message: OutboundMessage): void {
    const id = this.#allocate();
    (this.#inflight ??= new Map()).set(id, { message, phase: 'publish' });
    this.#sink.publish(id, message, false);
  }

  #release(id: number): void {
    const inflight = this.#inflight!;
    this.#sink.settled(inflight.get(id)!.message);
    inflight.delete(id);
    const queue = this.#queue ?? [];
    const now = Date.now();
    while (inflight.size < this.#window && queue.length > 0) {
      const next = queue.shift()!;
      if (next.expiresAt !== undefined && next.expiresAt <= now) {
        this.expired++;
        this.#sink.settled(next);
      } else this.#send(next);
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
