// wampmesh.console.snapshot: what the web console shows, in one call of the admin API (only
// the admin group may call "wampmesh."): this node's realms with their sessions, registrations
// and subscriptions, message and call totals for its charts, the mesh as this node knows it,
// its members and the nodes waiting for admission, and the warnings and errors it logged lately
// (recent-log.ts).

import type { MeshSource } from './mesh-metrics.ts';
import type { RecentLog } from './recent-log.ts';
import { CALL_OUTCOMES, MESSAGE_CODES, sum, TRANSPORTS, type RouterMetrics } from '../router/metrics.ts';
import type { Router } from '../router/router.ts';
import type { Dict } from '../wamp/messages.ts';

/** URIs listed per realm and kind; the counts are always complete. */
const MAX_LISTED = 200;

export interface SnapshotSources {
  readonly router: Router;
  /** Absent when nothing serves /metrics (the core does not count then). */
  readonly metrics: RouterMetrics | undefined;
  mesh(): MeshSource | undefined;
  readonly recent?: RecentLog | undefined;
  /** TLS client listeners: config field and the certificate served, so a fingerprint can be compared. */
  readonly tls?: readonly { field: string; tls: { fingerprint: string; subject: string; validTo: string } }[];
}

export function consoleSnapshot(src: SnapshotSources): Dict {
  const realms = [...src.router.realms.values()].map((realm) => {
    const registrations = [...realm.dealer.registrations()].map((r) => r.procedure).sort();
    const subscriptions = [...realm.broker.subscriptions()].map((s) => s.topic).sort();
    return {
      uri: realm.uri,
      sessions: realm.sessions.size,
      registrationCount: registrations.length,
      registrations: registrations.slice(0, MAX_LISTED),
      subscriptionCount: subscriptions.length,
      subscriptions: subscriptions.slice(0, MAX_LISTED),
      calls: Object.fromEntries(CALL_OUTCOMES.map((o, i) => [o, realm.counters.calls[i]!])),
      eventsDropped: sum(realm.counters.eventsDropped),
      authFailures: sum(realm.counters.authFailures),
    };
  });
  const m = src.metrics;
  let totals: Dict | undefined;
  if (m !== undefined) {
    let eventsOut = 0;
    for (const realm of src.router.realms.values()) eventsOut += sum(realm.counters.eventsWritten);
    totals = {
      messagesIn: sum(m.messagesReceived),
      messagesOut: sum(m.messagesSent) + eventsOut,
      calls: realms.reduce((n, r) => n + Object.values(r.calls).reduce((a, b) => a + b, 0), 0),
      slowConsumerCloses: m.slowConsumerCloses,
      byTransport: Object.fromEntries(
        TRANSPORTS.map((t, i) => [t, sum(m.messagesReceived.subarray(i * MESSAGE_CODES, (i + 1) * MESSAGE_CODES))]),
      ),
    };
  }
  const mesh = src.mesh();
  let meshView: Dict | undefined;
  if (mesh !== undefined) {
    const node = mesh.node.status() as {
      node: string;
      nodes?: { id: string; links: string[] }[];
      routes?: Dict;
      trust?: { members: Record<string, string>; removed: string[]; pending: Record<string, string> };
    };
    meshView = {
      node: node.node,
      nodes: node.nodes ?? [],
      reachable: Object.keys(node.routes ?? {}),
      links: mesh.links.status().links.map((l) => ({
        peer: l.peer,
        rttMs: l.rttMs,
        bytesIn: l.bytesIn,
        bytesOut: l.bytesOut,
        uptimeMs: l.uptimeMs,
      })),
      integrityFailures: mesh.links.integrityFailures,
      // Who belongs: members and pending nodes (refused for want of an admission) with their
      // keys, for the console's admit and remove buttons (wampmesh.mesh.admit/remove).
      ...(node.trust !== undefined && {
        trust: { members: node.trust.members, removed: node.trust.removed, pending: node.trust.pending },
      }),
    };
  }
  return {
    at: Date.now(),
    realms,
    ...(totals !== undefined && { totals }),
    ...(meshView !== undefined && { mesh: meshView }),
    ...(src.tls !== undefined && src.tls.length > 0 && { tls: src.tls }),
    ...(src.recent !== undefined && {
      recentErrors: { total: src.recent.total, entries: src.recent.entries().reverse() },
    }),
  };
}
