// A message the router sends one MQTT client, as its QoS state (outbound.ts), its size
// (packet-size.ts) and its row in SQLite (persistence.ts) all see it.

import type { IPublishPacket, QoS } from 'mqtt-packet';

export interface OutboundMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: IPublishPacket['properties'];
  /** MQTT 5 message expiry (ms since the epoch): not sent after it. */
  expiresAt?: number;
  /**
   * Its PUBLISH's size for the client it is for (packet-size.ts), as delivery counted it; a
   * message read back from SQLite has none and is counted again. Not stored.
   */
  size?: number;
}
