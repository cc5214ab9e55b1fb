// Settings of one MQTT listener, each default with its reason (as src/router/limits.ts does
// for WAMP sessions). The config file's listeners.mqtt[] entries fill these.

import type { Logger } from '../log.ts';
import { clientDefaults } from '../net/client-limits.ts';
import type { MqttSessionStore } from './persistence.ts';
import type { ResumeTokens } from './resume.ts';

export interface MqttOptions {
  /** The realm MQTT clients of this listener join. */
  realm: string;
  /** Largest packet accepted, and announced to MQTT 5 clients (Maximum Packet Size). */
  maxPacketBytes: number;
  /** Time from TCP accept to CONNECT. */
  connectTimeoutMs: number;
  /**
   * Longest keep-alive granted. MQTT 5 clients asking for more (or for none) are told this
   * value (Server Keep Alive); MQTT 3.1.1 has no way to say it, so their own value holds.
   */
  maxKeepAliveSec: number;
  /**
   * QoS 1/2 messages in flight per client in each direction: announced as Receive Maximum,
   * and the most unacknowledged PUBLISHes sent to a client (with the client's own maximum).
   */
  maxInflight: number;
  /** QoS 1/2 messages waiting for a free in-flight slot per client; over it the oldest is dropped (counted). */
  maxQueued: number;
  /**
   * Bytes of QoS 1/2 messages one connected client's session holds in memory, in flight and
   * waiting together (each counted as its PUBLISH). Over it a persistent session leaves the
   * newest in SQLite only, read back in order as the client acknowledges; any other drops the
   * oldest waiting (counted). One message larger than the bound still goes, alone.
   */
  maxOutboundBytes: number;
  /** Topic aliases a client may define (MQTT 5). */
  topicAliasMaximum: number;
  /** Topic filters one client may hold. */
  maxSubscriptions: number;
  /** Packets a client may send before its CONNACK (they wait for the handshake). */
  maxEarlyPackets: number;
  /**
   * Longest a persistent session is kept while its client is away (MQTT 3.1.1 clean session
   * false has no expiry of its own; MQTT 5 clients asking for more are told this value).
   */
  maxSessionExpirySec: number;
  /** Bytes of payload queued for one absent client; over it the oldest are dropped (counted). */
  maxQueuedBytes: number;
  /**
   * Largest packet before CONNACK (limits.preAuthMaxMessageSize, README "Limits before login"):
   * a CONNECT is small, and a stranger must not make the router buffer a maximal packet.
   */
  preAuthMaxPacketBytes: number;
  /** User properties one MQTT 5 packet may carry; over it the client is disconnected (0x95). */
  maxUserProperties: number;
  /** Bytes of their names and values together in one packet. */
  maxUserPropertyBytes: number;
  /** Connections a TCP listener holds at most. */
  maxConnections: number;
  /** Persistent sessions kept at most (all listeners): each may hold maxQueuedBytes on disk. */
  maxPersistentSessions: number;
  /** Where persistent sessions are kept; without it every session ends with its connection. */
  sessions?: MqttSessionStore;
  /** With `sessions`: kept sessions come back at start, before their clients (resume.ts). */
  resume?: ResumeTokens;
  logger?: Logger;
}

export const mqttDefaults: Omit<MqttOptions, 'realm' | 'logger' | 'sessions' | 'resume'> = {
  // 1 MiB: far above sensor telemetry, small enough that a board holds many clients' worth.
  maxPacketBytes: 1 << 20,
  // As WAMP's handshake timeout: half-open connections must not pile up.
  connectTimeoutMs: 10_000,
  // An hour: battery devices sleep long, yet a dead client's slot comes back the same day.
  maxKeepAliveSec: 3600,
  // Enough to keep a link with latency busy; their bytes towards a client: maxOutboundBytes.
  maxInflight: 32,
  maxQueued: 1000,
  // 4 MiB: sensor traffic never comes near it, yet a client that reads and never acknowledges
  // pins this much, not maxQueued x maxPacketBytes (a gigabyte); ten thousand such clients
  // would still be too many for a small board, which the slow-consumer rules do not see.
  maxOutboundBytes: 4 << 20,
  topicAliasMaximum: 16,
  maxSubscriptions: 256,
  maxEarlyPackets: 64,
  // A week: a device switched off over a long weekend still finds its messages.
  maxSessionExpirySec: 7 * 24 * 3600,
  // 1000 messages (maxQueued) of sensor size; 16 MiB bounds a client sending big ones.
  maxQueuedBytes: 16 << 20,
  preAuthMaxPacketBytes: clientDefaults.preAuthMaxMessageSize,
  // Each user property travels in the WAMP publication's details to every subscriber and is
  // decoded and encoded on the way: tracing headers and content metadata use a handful, so 64
  // is far above real use, while a 1 MB PUBLISH fits tens of thousands, each decoded and written again per subscriber.
  maxUserProperties: 64,
  // 64 properties of 256-byte values: room for long tracing headers, not for a payload in disguise.
  maxUserPropertyBytes: 16 * 1024,
  // Each connection is a WAMP session with its buffers: a Pi-class board holds ten thousand.
  maxConnections: 10_000,
  // 1000 devices is a large edge site; times maxQueuedBytes it bounds the disk a stranger can fill.
  maxPersistentSessions: 1000,
};
