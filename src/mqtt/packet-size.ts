// The exact size of a PUBLISH the router would send, counted without encoding it, and whether it
// can be encoded at all. What goes out comes partly from WAMP publishers (topic URIs, the _mqtt
// detail), who are bound by none of MQTT's limits: a string field holds at most 65535 UTF-8
// bytes (MQTT 1.5.4), a packet at most 268435455 bytes after its fixed header (1.5.5), and a
// client may announce a smaller Maximum Packet Size (3.1.2.11.4). Checked before a message takes
// an in-flight slot or a row, so one that can never be sent is not kept waiting for its turn.

import type { IPublishPacket } from 'mqtt-packet';
import type { OutboundMessage } from './outbound-message.ts';

type Properties = NonNullable<IPublishPacket['properties']>;

const MAX_STRING = 65535;
/** MQTT 1.5.5: the largest Variable Byte Integer, so the largest remaining length. */
const MAX_REMAINING = 268_435_455;
/** A string of at most this many UTF-16 units has at most MAX_STRING UTF-8 bytes (3 per unit). */
const SURELY_SHORT = Math.floor(MAX_STRING / 3);

/** UTF-8 bytes of `s`; a lone surrogate counts as the U+FFFD it is encoded as. */
export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Whether `s` fits an MQTT UTF-8 string: at most 65535 bytes and no U+0000 (MQTT-1.5.4-2). */
export function isMqttString(s: string): boolean {
  if (s.includes('\u0000')) return false;
  return s.length <= SURELY_SHORT || utf8Bytes(s) <= MAX_STRING;
}

const varIntSize = (n: number): number => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4);

/** One string property: identifier, length, bytes; undefined when MQTT cannot carry it. */
function textSize(s: unknown): number | undefined {
  return typeof s === 'string' && isMqttString(s) ? 3 + utf8Bytes(s) : undefined;
}

/**
 * Bytes of the PUBLISH properties the router sends (the ones properties.ts carries, and the
 * expiry), without their length prefix; undefined when one of them cannot be encoded.
 */
export function propertiesSize(p: Properties | undefined): number | undefined {
  if (p === undefined) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(p)) {
    if (value === undefined) continue;
    let n: number | undefined;
    switch (name) {
      case 'payloadFormatIndicator':
        n = 2;
        break;
      case 'messageExpiryInterval':
        n = 5;
        break;
      case 'contentType':
      case 'responseTopic':
        n = textSize(value);
        break;
      case 'correlationData':
        n = value instanceof Uint8Array && value.length <= MAX_STRING ? 3 + value.length : undefined;
        break;
      case 'userProperties':
        n = userPropertiesSize(value as Record<string, string | string[]>);
        break;
      default:
        n = undefined; // nothing else is sent: a property not counted here would be a guess
    }
    if (n === undefined) return undefined;
    size += n;
  }
  return size;
}

/** Each pair (each value of a list) is one property: identifier, key, value. */
function userPropertiesSize(up: Record<string, string | string[]>): number | undefined {
  let size = 0;
  for (const [key, value] of Object.entries(up)) {
    const k = textSize(key);
    if (k === undefined) return undefined;
    for (const v of Array.isArray(value) ? value : [value]) {
      const n = textSize(v);
      if (n === undefined) return undefined;
      size += k + n - 1; // one identifier for the pair
    }
  }
  return size;
}

/**
 * The whole PUBLISH in bytes (fixed header included), Infinity when it cannot be encoded.
 * `properties`: undefined for MQTT 3.1.1, else the size from propertiesSize (an MQTT 5 PUBLISH
 * always has the property length, 0 included).
 */
export function publishSize(topicBytes: number, payloadBytes: number, qos: number, properties?: number): number {
  if (topicBytes > MAX_STRING) return Number.POSITIVE_INFINITY;
  let remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + payloadBytes;
  if (properties !== undefined) {
    if (properties > MAX_REMAINING) return Number.POSITIVE_INFINITY;
    remaining += varIntSize(properties) + properties;
  }
  return remaining > MAX_REMAINING ? Number.POSITIVE_INFINITY : 1 + varIntSize(remaining) + remaining;
}

/** The PUBLISH for `m` in bytes as sent to a client of this version (Infinity: not encodable). */
export function messageSize(m: OutboundMessage, v5: boolean): number {
  if (!isMqttString(m.topic)) return Number.POSITIVE_INFINITY;
  let properties: number | undefined;
  if (v5) {
    properties = propertiesSize(m.properties);
    if (properties === undefined) return Number.POSITIVE_INFINITY;
    // The expiry goes out as what is left of it (properties.ts withExpiry): a four-byte integer.
    if (m.expiresAt !== undefined && m.properties?.messageExpiryInterval === undefined) properties += 5;
  }
  return publishSize(utf8Bytes(m.topic), m.payload.byteLength, m.qos, properties);
}
