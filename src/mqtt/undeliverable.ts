// Events an MQTT client is not sent because MQTT cannot express them (a topic or property over
// MQTT's limits, an unmappable payload) or they are larger than the client's Maximum Packet
// Size. Each is counted by the session that skips it; the log says so at debug, at most once a
// minute per cause for all clients together: one WAMP publisher can make every event of a
// fan-out to ten thousand clients undeliverable, and that must not become ten thousand lines.

import type { Logger } from '../log.ts';
import { LogThrottle } from '../log-throttle.ts';

type Undeliverable = 'not encodable' | 'over the client maximum packet size';

const throttle = new LogThrottle(60_000);

/**
 * Whether a PUBLISH of `size` bytes (Infinity: not encodable) may go to a client whose Maximum
 * Packet Size is `maxPacket` (Infinity: none announced, as from every MQTT 3.1.1 client); logged if not.
 */
export function sendable(size: number, maxPacket: number, log: Logger, clientId: string, topic?: string): boolean {
  if (Number.isFinite(size) && size <= maxPacket) return true;
  logUndeliverable(
    log,
    clientId,
    topic,
    size === Number.POSITIVE_INFINITY ? 'not encodable' : 'over the client maximum packet size',
  );
  return false;
}

function logUndeliverable(log: Logger, clientId: string, topic: string | undefined, why: Undeliverable): void {
  const suppressed = throttle.admit(why);
  if (suppressed === undefined) return;
  // A topic may be 100 KB of a WAMP URI: its start says enough.
  const shown = topic === undefined || topic.length <= 200 ? topic : `${topic.slice(0, 200)}...`;
  log.debug({ clientId, topic: shown, suppressed }, `mqtt: event not sent: ${why}`);
}
