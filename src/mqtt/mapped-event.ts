// A WAMP EVENT mapped to MQTT once for all its subscribers: the topic, the payload, what its
// "_mqtt" detail carries and, for QoS 0, the encoded PUBLISH. A fan-out to a thousand MQTT
// clients gives each of them the same Event object (wamp-peer.ts decodes a shared frame once),
// so the thousand deliveries map and encode it once and write the same bytes.

import type { Event } from '../wamp/messages.ts';
import { publishPacket } from './outbound.ts';
import { encodePacket } from './packet-reader.ts';
import { propertiesSize, publishSize, utf8Bytes } from './packet-size.ts';
import { wampToMqtt } from './payload.ts';
import { carriedOf, MQTT_DETAIL, type Carried } from './properties.ts';
import { uriToTopic } from './topics.ts';

export class MappedEvent {
  /** Undefined when the topic has no MQTT form. */
  readonly topic: string | undefined;
  /** Undefined when the payload has no MQTT form (see wampToMqtt). */
  readonly payload: Uint8Array | undefined;
  readonly carried: Carried;
  // What the exact PUBLISH size (packet-size.ts) needs, counted once for all subscribers:
  // topic and payload bytes, and the MQTT 5 properties (undefined: not encodable).
  readonly #topicBytes: number;
  readonly #propertiesBytes: number | undefined;
  // QoS 0 PUBLISH packets by [MQTT 3.1.1 / 5] x [retain flag], made on first use; null: not
  // encodable (left to the connection's own encoding, which says why).
  #packets: (Buffer | null | undefined)[] | undefined;

  constructor(event: Event, uri: string | undefined) {
    this.topic = uri === undefined ? undefined : uriToTopic(uri);
    this.payload = wampToMqtt(event.args, event.kwargs);
    this.carried = carriedOf(event.details[MQTT_DETAIL]);
    this.#topicBytes = this.topic === undefined ? 0 : utf8Bytes(this.topic);
    const properties = propertiesSize(this.carried.properties);
    // The expiry goes out as what is left of it: a four-byte integer.
    this.#propertiesBytes =
      properties === undefined || this.carried.expiresAt === undefined ? properties : properties + 5;
  }

  /**
   * The exact size of the PUBLISH for a client of this protocol version at `qos` (MQTT 5 adds
   * the properties, QoS 1/2 the packet identifier); Infinity when it cannot be sent at all: no
   * topic or payload, or a field or size over MQTT's limits.
   */
  sizeFor(v5: boolean, qos: number): number {
    if (this.topic === undefined || this.payload === undefined) return Number.POSITIVE_INFINITY;
    if (!v5) return publishSize(this.#topicBytes, this.payload.length, qos);
    if (this.#propertiesBytes === undefined) return Number.POSITIVE_INFINITY;
    return publishSize(this.#topicBytes, this.payload.length, qos, this.#propertiesBytes);
  }

  /**
   * The QoS 0 PUBLISH for a client of this protocol version; undefined for a message that
   * expires, whose expiry interval goes out as what is left of it, so differs by the moment.
   */
  qos0Packet(v5: boolean, retain: boolean): Buffer | undefined {
    if (this.carried.expiresAt !== undefined || this.topic === undefined || this.payload === undefined)
      return undefined;
    const packets = (this.#packets ??= []);
    const i = (v5 ? 2 : 0) + (retain ? 1 : 0);
    let packet = packets[i];
    if (packet === undefined) {
      const message = {
        topic: this.topic,
        payload: this.payload,
        qos: 0 as const,
        retain,
        properties: this.carried.properties,
      };
      try {
        packet = encodePacket(publishPacket(message, undefined, false, v5, 0), v5 ? 5 : 4);
      } catch {
        packet = null;
      }
      packets[i] = packet;
    }
    return packet ?? undefined;
  }
}

// By Event object: the deliveries of one fan-out share it; it goes with the Event.
const mapped = new WeakMap<Event, MappedEvent>();

/** The MQTT form of `event`; `uri` is its topic (the subscription's, unless the event names it). */
export function mappedEvent(event: Event, uri: string | undefined): MappedEvent {
  let m = mapped.get(event);
  if (m === undefined) mapped.set(event, (m = new MappedEvent(event, uri)));
  return m;
}
