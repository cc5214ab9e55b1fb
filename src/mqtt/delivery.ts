// WAMP EVENTs to one MQTT client: which of its filters want an event and at what QoS, one
// PUBLISH per publication however many of its subscriptions match (MQTT 3.3.5), the topic and
// payload mapped back (once for all subscribers: mapped-event.ts), and the client's Maximum
// Packet Size respected.

import type { QoS } from 'mqtt-packet';
import type { Logger } from '../log.ts';
import type { Event } from '../wamp/messages.ts';
import type { OutboundMessage } from './outbound.ts';
import { mappedEvent } from './mapped-event.ts';
import type { Subscriptions } from './subscriptions.ts';
import { sendable } from './undeliverable.ts';

export interface DeliverySink {
  /** Where messages go now: to the connection, into the queue of an absent client, or nowhere. */
  mode(): 'connected' | 'absent' | 'closed';
  send(message: OutboundMessage): void;
  /** A QoS 0 PUBLISH encoded already, shared with the event's other subscribers. */
  sendPacket(packet: Uint8Array): void;
  keep(messages: OutboundMessage[]): void;
}

interface Pending {
  readonly event: Event;
  qos: QoS;
  rap: boolean;
}

export class EventDelivery {
  readonly #subs: Subscriptions;
  readonly #clientMaxPacket: number;
  readonly #v5: boolean;
  readonly #log: Logger;
  readonly #clientId: string;
  readonly #sink: DeliverySink;
  /** EVENTs of this turn, in order; made by the first EVENT. */
  #batch: Pending[] | undefined;
  /**
   * The same by publication, while the client holds more than one WAMP subscription: only then
   * can a publication come twice, and its copies become one message. The Broker delivers one
   * publication to all its subscriptions before the next, so a subscription added during a turn
   * cannot bring a second copy of a publication already in it.
   */
  #byPublication: Map<number, Pending> | undefined;
  /** Events not sent: no MQTT form (topic, payload, sizes), or over the client's maximum packet size. */
  undeliverable = 0;

  constructor(
    subs: Subscriptions,
    client: { maxPacket: number; v5: boolean; clientId: string; log: Logger },
    sink: DeliverySink,
  ) {
    this.#subs = subs;
    this.#clientMaxPacket = client.maxPacket;
    this.#v5 = client.v5;
    this.#log = client.log;
    this.#clientId = client.clientId;
    this.#sink = sink;
  }

  /** `own`: the client's own publication (No Local). */
  event(msg: Event, own: boolean): void {
    const delivery = this.#subs.delivery(msg.subscription, own);
    if (delivery === undefined) return;
    let byPublication = this.#byPublication;
    if (byPublication === undefined && this.#subs.wampSubscriptions > 1)
      byPublication = this.#byPublication = new Map();
    if (byPublication !== undefined) {
      const pending = byPublication.get(msg.publication);
      if (pending !== undefined) {
        if (delivery.qos > pending.qos) pending.qos = delivery.qos;
        pending.rap ||= delivery.rap;
        return;
      }
    }
    const batch = (this.#batch ??= []);
    if (batch.length === 0) queueMicrotask(() => this.flush());
    const pending: Pending = { event: msg, qos: delivery.qos, rap: delivery.rap };
    batch.push(pending);
    byPublication?.set(msg.publication, pending);
  }

  /** Sends (or keeps) this turn's events now; they go in a microtask otherwise. */
  flush(): void {
    const batch = this.#batch;
    if (batch === undefined || batch.length === 0) return;
    this.#batch = undefined;
    // Kept (cleared) only while it may be needed.
    if (this.#subs.wampSubscriptions > 1) this.#byPublication?.clear();
    else this.#byPublication = undefined;
    const absent: OutboundMessage[] = [];
    const now = Date.now();
    for (const { event, qos, rap } of batch) {
      const uri =
        typeof event.details.topic === 'string' ? event.details.topic : this.#subs.topicOf(event.subscription);
      const mapped = mappedEvent(event, uri);
      // Before it takes an in-flight slot or a row: one that can never be sent would hold them
      // for good. MQTT 3.1.2-25: a message over the client's Maximum Packet Size is not sent at all.
      const size = mapped.sizeFor(this.#v5, qos);
      const fits = sendable(size, this.#clientMaxPacket, this.#log, this.#clientId, mapped.topic ?? uri);
      if (!fits || mapped.topic === undefined || mapped.payload === undefined) {
        this.undeliverable++;
        continue;
      }
      const carried = mapped.carried;
      if (carried.expiresAt !== undefined && carried.expiresAt <= now) continue; // expired on the way (MQTT 5 3.3.2.3.3)
      // Retained on subscribe; live, only with Retain As Published and a retained publication.
      const retain = event.details.retained === true || (rap && carried.retained);
      const mode = this.#sink.mode();
      if (mode === 'closed') return;
      if (mode === 'connected' && qos === 0) {
        const packet = mapped.qos0Packet(this.#v5, retain);
        if (packet !== undefined) {
          this.#sink.sendPacket(packet);
          continue;
        }
      }
      const message: OutboundMessage = {
        topic: mapped.topic,
        payload: mapped.payload,
        qos,
        retain,
        properties: carried.properties,
        expiresAt: carried.expiresAt,
        size,
      };
      if (mode === 'connected') this.#sink.send(message);
      else if (qos > 0) absent.push(message); // QoS 0 is not kept for an absent client (MQTT 3.1.2.4)
    }
    if (absent.length > 0) this.#sink.keep(absent);
  }
}
