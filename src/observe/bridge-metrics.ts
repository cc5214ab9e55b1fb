// The bridges' metric families (wampmesh_bridge_*): one series per bridge, from its status.

import type { BridgeStatus } from '../bridge/bridges.ts';
import type { Exposition } from './exposition.ts';

export function writeBridgeFamilies(out: Exposition, list: readonly BridgeStatus[]): void {
  if (list.length === 0) return;
  const gauge = (
    name: string,
    help: string,
    value: (b: BridgeStatus) => number,
    type: 'gauge' | 'counter' = 'gauge',
  ) => {
    out.family(name, type, help);
    for (const b of list) out.sample(name, value(b), { bridge: b.name });
  };
  gauge('wampmesh_bridge_up', 'Whether the bridge can send to its remote side now (1) or not (0).', (b) =>
    b.state === 'up' ? 1 : 0,
  );
  gauge('wampmesh_bridge_queue_messages', 'Events in the outbox waiting for confirmation.', (b) => b.queue.depth);
  gauge('wampmesh_bridge_queue_bytes', 'Payload bytes in the outbox.', (b) => b.queue.bytes);
  gauge(
    'wampmesh_bridge_queue_oldest_age_seconds',
    'Age of the oldest event in the outbox.',
    (b) => b.queue.oldestAgeSec,
  );
  gauge('wampmesh_bridge_inflight', 'Events sent and not yet confirmed.', (b) => b.queue.inflight);
  gauge(
    'wampmesh_bridge_dead_letters',
    'Events the remote side refused for good, kept for replay.',
    (b) => b.queue.deadLetters,
  );
  gauge('wampmesh_bridge_queued_total', 'Events committed to the outbox.', (b) => b.counters.queued, 'counter');
  gauge('wampmesh_bridge_sent_total', 'Events confirmed by the remote side.', (b) => b.counters.confirmed, 'counter');
  gauge(
    'wampmesh_bridge_retries_total',
    'Failures after which unconfirmed events were sent again.',
    (b) => b.counters.retries,
    'counter',
  );
  gauge(
    'wampmesh_bridge_redelivered_total',
    'Events sent again that may have arrived before (possible duplicates).',
    (b) => b.counters.redelivered,
    'counter',
  );
  gauge(
    'wampmesh_bridge_dead_lettered_total',
    'Events moved to the dead letters.',
    (b) => b.counters.deadLettered,
    'counter',
  );
  out.family('wampmesh_bridge_dropped_total', 'counter', 'Events dropped from or refused by the outbox, by reason.');
  for (const b of list)
    for (const [reason, n] of Object.entries(b.counters.dropped))
      out.sample('wampmesh_bridge_dropped_total', n, { bridge: b.name, reason });
  gauge(
    'wampmesh_bridge_in_received_total',
    "MQTT messages received for the bridge's in rules.",
    (b) => b.counters.inReceived,
    'counter',
  );
  gauge(
    'wampmesh_bridge_in_refused_total',
    'Incoming messages not published (no mapping, or refused by the router).',
    (b) => b.counters.inRefused,
    'counter',
  );
}
