// The mesh's metric families (wampmesh_mesh_*, wampmesh_replication_*): links, reachable nodes,
// event delivery and replication, read from the mesh's status at each scrape.

import type { MeshLinks } from '../mesh/links/links.ts';
import type { EventStatus } from '../mesh/routing/events.ts';
import type { MeshNode } from '../mesh/routing/node.ts';
import type { Exposition } from './exposition.ts';

export interface MeshSource {
  readonly node: MeshNode;
  readonly links: MeshLinks;
}

export function writeMeshFamilies(out: Exposition, mesh: MeshSource | undefined): void {
  if (mesh === undefined) return;
  const links = mesh.links.status();
  const node = mesh.node.status() as {
    routes?: Record<string, unknown>;
    replication?: { records: number; lagMs: Record<string, number> };
    events?: EventStatus;
    trust?: { refused: Record<string, number> };
  };
  out.family('wampmesh_mesh_links', 'gauge', 'Mesh links up.').sample('wampmesh_mesh_links', links.links.length);
  out
    .family('wampmesh_mesh_nodes_reachable', 'gauge', 'Other mesh nodes this node has a route to.')
    .sample('wampmesh_mesh_nodes_reachable', Object.keys(node.routes ?? {}).length);
  // Per link while it is up; the counter restarts when the link does (Prometheus's rate() allows for resets).
  out.family(
    'wampmesh_mesh_link_received_bytes_total',
    'counter',
    'Octets received on the mesh link to a peer node since the link came up.',
  );
  for (const l of links.links) out.sample('wampmesh_mesh_link_received_bytes_total', l.bytesIn, { peer: l.peer });
  out.family(
    'wampmesh_mesh_link_sent_bytes_total',
    'counter',
    'Octets sent on the mesh link to a peer node since the link came up.',
  );
  for (const l of links.links) out.sample('wampmesh_mesh_link_sent_bytes_total', l.bytesOut, { peer: l.peer });
  out.family(
    'wampmesh_mesh_link_rtt_seconds',
    'gauge',
    'Round-trip time of the last heartbeat on the link to a peer node.',
  );
  for (const l of links.links)
    if (l.rttMs !== undefined) out.sample('wampmesh_mesh_link_rtt_seconds', l.rttMs / 1000, { peer: l.peer });
  out
    .family(
      'wampmesh_mesh_integrity_failures_total',
      'counter',
      'Mesh links closed because frames failed their integrity check, here or at the peer.',
    )
    .sample('wampmesh_mesh_integrity_failures_total', mesh.links.integrityFailures);
  if (node.trust !== undefined) {
    out.family(
      'wampmesh_mesh_trust_refused_total',
      'counter',
      'What mesh trust refused from members, by reason (forgedLsa, forgedRecord, callerIdentity...: README "Mesh", Trust).',
    );
    for (const [reason, n] of Object.entries(node.trust.refused))
      out.sample('wampmesh_mesh_trust_refused_total', n, { reason });
  }
  if (node.events !== undefined) writeMeshEventFamilies(out, node.events);
  if (node.replication !== undefined) {
    out
      .family(
        'wampmesh_replication_records',
        'gauge',
        'Replicated configuration records (realms, users, grants) held by this node.',
      )
      .sample('wampmesh_replication_records', node.replication.records);
    // One series per neighbour (a linked node): as bounded as the links are.
    out.family(
      'wampmesh_replication_lag_seconds',
      'gauge',
      'How long this node has known it lacks replicated records a linked peer node holds (found by anti-entropy); 0 when it lacks none.',
    );
    for (const [peer, ms] of Object.entries(node.replication.lagMs))
      out.sample('wampmesh_replication_lag_seconds', ms / 1000, { peer });
  }
}

/** The event delivery contract's counts (README "Mesh"). */
function writeMeshEventFamilies(out: Exposition, events: EventStatus): void {
  out
    .family('wampmesh_mesh_events_unacked', 'gauge', 'Mesh event copies sent and not yet safely past the next hops.')
    .sample('wampmesh_mesh_events_unacked', events.unacked);
  out
    .family('wampmesh_mesh_events_outage_held', 'gauge', 'Mesh events kept for nodes no route reaches now.')
    .sample('wampmesh_mesh_events_outage_held', events.outageHeld);
  out.family(
    'wampmesh_mesh_events_dropped_total',
    'counter',
    'Mesh event copies dropped on this node, by reason (the bound that was hit, tooLarge, eventTtl).',
  );
  for (const reason of [
    'linkUnackedBytes',
    'linkUnackedMaxAgeMs',
    'outageHold',
    'outageHoldMs',
    'tooLarge',
    'eventTtl',
  ])
    out.sample('wampmesh_mesh_events_dropped_total', events.dropped[reason] ?? 0, { reason });
  out
    .family(
      'wampmesh_mesh_events_given_up_total',
      'counter',
      "Events for this node never received: gaps in an origin's numbering given up after holdbackMs.",
    )
    .sample('wampmesh_mesh_events_given_up_total', events.order.gaveUp);
}
