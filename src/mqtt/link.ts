// What an MQTT session is given by the connection that opens it: the way back to its client
// (ConnectionLink) and what the client's CONNECT asked for (SessionParams).

import type { IConnectPacket, Packet } from 'mqtt-packet';

/** What a session needs from the connection it is on. */
export interface ConnectionLink {
  write(packet: Packet): void;
  /** As write; false when the packet cannot be encoded: it is not sent, and never will be. */
  tryWrite(packet: Packet): boolean;
  /** A packet encoded already (for this connection's protocol version). */
  writeEncoded(bytes: Uint8Array): void;
  bufferedAmount(): number;
  /** WELCOME (and the will set): CONNACK may go. */
  accepted(sessionPresent: boolean): void;
  /** The handshake failed: CONNACK with this reason, then the connection ends. */
  refused(reason: number, message: string): void;
  /** The client broke a rule: the connection ends with this reason. */
  fail(reason: number, message: string): void;
  /** The router ended the session (shutdown, kill, take-over): MQTT 5 DISCONNECT with this reason. */
  ended(reason: number): void;
}

export interface SessionParams {
  clientId: string;
  v5: boolean;
  cleanStart: boolean;
  /** How long the session is kept after its connection ends; 0: not at all. */
  expiryMs: number;
  will: IConnectPacket['will'];
  clientMaxPacket: number;
  /** Outbound in-flight window: the client's Receive Maximum and ours. */
  window: number;
}
