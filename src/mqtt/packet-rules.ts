// What mqtt-packet lets through but the specs forbid, checked on each decoded packet (with its
// bytes) before the connection acts on it. Each rule names the spec's statement; a broken one
// is a PacketError with the MQTT 5 reason code the spec gives (a 3.1.1 client is just closed).
// Also the limit on user properties (MQTT 5), checked on a PUBLISH's bytes before it is parsed.

import { isUtf8 } from 'node:buffer';
import type { Packet } from 'mqtt-packet';
import { Reason } from './reason-codes.ts';

/** A spec rule broken: the reason code the connection ends with (see PacketError). */
export interface Violation {
  readonly reason: number;
  readonly message: string;
}

export interface UserPropertyLimits {
  /** User properties one packet may carry (MQTT 5). */
  readonly count: number;
  /** Their names and values together, in bytes. */
  readonly bytes: number;
}

const REPLACEMENT = '\uFFFD';
const NUL = '\u0000';

const malformed = (message: string): Violation => ({ reason: Reason.MALFORMED_PACKET, message });
const protocolError = (message: string): Violation => ({ reason: Reason.PROTOCOL_ERROR, message });

/** The first rule `packet` (decoded from `bytes`, the whole packet) breaks, if any. */
export function violationOf(
  packet: Packet,
  bytes: Buffer,
  v5: boolean,
  limits: UserPropertyLimits,
): Violation | undefined {
  const p = packet as Packet & Record<string, unknown>;
  if (v5) {
    const props = propertiesViolation(p, limits);
    if (props !== undefined) return props;
  }
  switch (packet.cmd) {
    case 'connect': {
      const will = packet.will;
      // MQTT-3.1.2-14 (5.0 3.1.2.6: a Malformed Packet).
      if (will !== undefined && (will.qos ?? 0) > 2) return malformed('will QoS 3');
      const rm = packet.properties?.receiveMaximum;
      // 5.0 3.1.2.11.3 and 3.1.2.11.4: zero is a Protocol Error.
      if (rm === 0) return protocolError('Receive Maximum 0');
      if (packet.properties?.maximumPacketSize === 0) return protocolError('Maximum Packet Size 0');
      const strings = [packet.clientId, will?.topic, packet.username];
      if (strings.some((s) => typeof s === 'string' && hasBadChar(s)) && !connectStringsValid(bytes, v5))
        return malformed('ill-formed UTF-8 or U+0000 in the client identifier, will topic or user name');
      return undefined;
    }
    case 'publish':
      // MQTT-3.3.1-2.
      if (packet.qos === 0 && packet.dup) return malformed('DUP set on a QoS 0 PUBLISH');
      // MQTT-3.3.4-6: the server assigns those, for its subscriptions.
      if (packet.properties?.subscriptionIdentifier !== undefined)
        return protocolError('a Subscription Identifier in a PUBLISH from the client');
      if (packet.qos > 0 && packet.messageId === 0) return protocolError('packet identifier 0'); // MQTT-2.2.1-3
      if (hasBadChar(packet.topic) && !stringValidAt(bytes, headerLength(bytes)))
        return malformed('ill-formed UTF-8 or U+0000 in the topic name');
      return undefined;
    case 'subscribe':
    case 'unsubscribe': {
      if (packet.messageId === 0) return protocolError('packet identifier 0'); // MQTT-2.2.1-3
      const filters = packet.cmd === 'subscribe' ? packet.subscriptions.map((s) => s.topic) : packet.unsubscriptions;
      // MQTT-3.8.3-3 and MQTT-3.10.3-2: at least one topic filter.
      if (filters.length === 0) return protocolError(`${packet.cmd.toUpperCase()} without topic filters`);
      if (filters.some(hasBadChar) && !filtersValid(bytes, packet.cmd === 'subscribe', v5))
        return malformed('ill-formed UTF-8 or U+0000 in a topic filter');
      return undefined;
    }
    case 'pingreq':
      // MQTT 3.12.1: no variable header, no payload.
      return bytes.length > 2 ? malformed('PINGREQ with a body') : undefined;
    default:
      return undefined;
  }
}

// --- MQTT 5 properties ---

/** Properties that may be given more than once (5.0 2.2.2.2): all others are Protocol Errors. */
const REPEATABLE = new Set(['userProperties', 'subscriptionIdentifier']);

/**
 * In one walk over the packet's properties (and its will's): a property given more than once
 * (mqtt-packet turns it into an array; each but the repeatable ones a client must send once at
 * most), then the user properties against the limits, on the decoded packet: what the byte
 * scan below cannot see (packets other than PUBLISH, will properties).
 */
function propertiesViolation(p: Record<string, unknown>, limits: UserPropertyLimits): Violation | undefined {
  let count = 0;
  let size = 0;
  for (const props of propertySets(p)) {
    for (const [name, value] of Object.entries(props)) {
      if (!REPEATABLE.has(name) && Array.isArray(value)) return protocolError(`property ${name} given more than once`);
      if (name !== 'userProperties' || typeof value !== 'object' || value === null) continue;
      for (const [key, v] of Object.entries(value as Record<string, string | string[]>)) {
        const values = Array.isArray(v) ? v : [v];
        count += values.length;
        for (const one of values) size += Buffer.byteLength(key) + Buffer.byteLength(one);
      }
    }
  }
  return overLimits(count, size, limits);
}

function propertySets(p: Record<string, unknown>): Record<string, unknown>[] {
  const sets: Record<string, unknown>[] = [];
  const own = p.properties;
  if (typeof own === 'object' && own !== null) sets.push(own as Record<string, unknown>);
  const will = p.will as { properties?: unknown } | undefined;
  if (typeof will?.properties === 'object' && will.properties !== null)
    sets.push(will.properties as Record<string, unknown>);
  return sets;
}

function overLimits(count: number, size: number, limits: UserPropertyLimits): Violation | undefined {
  // Not a spec limit, and MQTT 5 has no way to announce one: the client is told the packet is
  // too large (0x95, DISCONNECT 3.14.2.1), the reason whose remedy (send less) is the one that
  // applies. Closing rather than answering PUBACK 0x83 stops a flood at its first packet.
  if (count > limits.count)
    return { reason: Reason.PACKET_TOO_LARGE, message: `${count} user properties (at most ${limits.count})` };
  if (size > limits.bytes)
    return { reason: Reason.PACKET_TOO_LARGE, message: `user properties of ${size} bytes (at most ${limits.bytes})` };
  return undefined;
}

// Property identifiers (5.0 2.2.2.2) by the size of their value.
const BYTE = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);
const TWO = new Set([0x13, 0x21, 0x22, 0x23]);
const FOUR = new Set([0x02, 0x11, 0x18, 0x27]);
const VARINT = 0x0b;
const USER_PROPERTY = 0x26;
const PREFIXED = new Set([0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1a, 0x1c, 0x1f]); // strings and binary data

/**
 * A v5 PUBLISH's user properties counted on its bytes, before mqtt-packet decodes them: a 1 MB
 * PUBLISH can hold 84,000 of them, and decoding those alone takes the router 200 ms. Packets this
 * scan cannot follow are left to the parser, which refuses them as malformed.
 */
export function publishUserPropertiesOver(bytes: Buffer, limits: UserPropertyLimits): Violation | undefined {
  let at = headerLength(bytes);
  if (at + 2 > bytes.length) return undefined;
  at += 2 + bytes.readUInt16BE(at); // topic name
  if ((bytes[0]! & 0x06) !== 0) at += 2; // packet identifier
  const length = varint(bytes, at);
  if (length === undefined) return undefined;
  at = length.next;
  const end = Math.min(bytes.length, at + length.value);
  let count = 0;
  let size = 0;
  while (at < end) {
    const id = bytes[at++]!;
    if (BYTE.has(id)) at += 1;
    else if (TWO.has(id)) at += 2;
    else if (FOUR.has(id)) at += 4;
    else if (id === VARINT) {
      const v = varint(bytes, at);
      if (v === undefined) return undefined;
      at = v.next;
    } else if (PREFIXED.has(id)) {
      if (at + 2 > end) return undefined;
      at += 2 + bytes.readUInt16BE(at);
    } else if (id === USER_PROPERTY) {
      if (at + 2 > end) return undefined;
      const name = bytes.readUInt16BE(at);
      at += 2 + name;
      if (at + 2 > end) return undefined;
      const value = bytes.readUInt16BE(at);
      at += 2 + value;
      count++;
      size += name + value;
      if (count > limits.count || size > limits.bytes) return overLimits(count, size, limits);
    } else return undefined;
  }
  return undefined;
}

// --- UTF-8 strings (MQTT-1.5.3-1/-2, 5.0 1.5.4: ill-formed UTF-8 or U+0000 is a Malformed Packet) ---

// mqtt-packet decodes strings leniently: an ill-formed sequence comes out as U+FFFD, which is
// also a legal character. Only a string holding U+FFFD or U+0000 is looked up in the bytes.
function hasBadChar(s: string): boolean {
  return s.includes(REPLACEMENT) || s.includes(NUL);
}

/** Whether the length-prefixed string at `at` is well-formed UTF-8 without U+0000. */
function stringValidAt(bytes: Buffer, at: number): boolean {
  if (at + 2 > bytes.length) return false;
  const end = at + 2 + bytes.readUInt16BE(at);
  if (end > bytes.length) return false;
  const s = bytes.subarray(at + 2, end);
  return isUtf8(s) && !s.includes(0);
}

function nextString(bytes: Buffer, at: number): number {
  return at + 2 + (at + 2 <= bytes.length ? bytes.readUInt16BE(at) : 0);
}

function headerLength(bytes: Buffer): number {
  let i = 1;
  while (i < 5 && i < bytes.length && (bytes[i]! & 0x80) !== 0) i++;
  return i + 1;
}

function varint(bytes: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const b = bytes[at + i];
    if (b === undefined) return undefined;
    value += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return undefined;
}

/** Skips a property section (length, then that many bytes). */
function skipProperties(bytes: Buffer, at: number): number {
  const v = varint(bytes, at);
  return v === undefined ? bytes.length : v.next + v.value;
}

/** CONNECT (3.1): client identifier, will topic and user name, in their order in the payload. */
function connectStringsValid(bytes: Buffer, v5: boolean): boolean {
  let at = headerLength(bytes);
  at = nextString(bytes, at); // protocol name
  const flags = bytes[at + 1] ?? 0;
  at += 4; // level, flags, keep alive
  if (v5) at = skipProperties(bytes, at);
  if (!stringValidAt(bytes, at)) return false;
  at = nextString(bytes, at);
  if ((flags & 0x04) !== 0) {
    if (v5) at = skipProperties(bytes, at);
    if (!stringValidAt(bytes, at)) return false;
    at = nextString(bytes, nextString(bytes, at)); // will topic, will payload
  }
  return (flags & 0x80) === 0 || stringValidAt(bytes, at);
}

/** SUBSCRIBE (each filter followed by an options byte) or UNSUBSCRIBE. */
function filtersValid(bytes: Buffer, subscribe: boolean, v5: boolean): boolean {
  let at = headerLength(bytes) + 2; // packet identifier
  if (v5) at = skipProperties(bytes, at);
  while (at < bytes.length) {
    if (!stringValidAt(bytes, at)) return false;
    at = nextString(bytes, at) + (subscribe ? 1 : 0);
  }
  return true;
}
