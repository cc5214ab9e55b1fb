// What `mesh status` shows of the links: each link up, and each connection still in its handshake.

import type { NodeId } from '../routing/frames.ts';
import type { LinkConnection } from './connection.ts';
import type { LinkStatus, MeshLinksStatus } from './options.ts';

/** The links up, by peer ID; `now` from performance.now(). */
export function linkStatuses(active: ReadonlyMap<NodeId, LinkConnection>, now: number): LinkStatus[] {
  return [...active]
    .map(([peer, c]) => ({
      peer,
      address: c.address,
      direction: c.direction,
      tls: c.tls,
      rttMs: c.rttMs === undefined ? undefined : Math.round(c.rttMs * 100) / 100,
      uptimeMs: Math.round(now - c.upAt),
      silentMs: Math.round(now - c.lastReceived),
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      queuedBytes: c.queuedBytes,
    }))
    .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}

/** The connections not up yet and not closed. */
export function handshakeStatuses(conns: Iterable<LinkConnection>): MeshLinksStatus['handshakes'] {
  return [...conns]
    .filter((c) => c.state !== 'up' && c.state !== 'closed')
    .map((c) => ({
      address: c.address,
      direction: c.direction,
      state: c.state,
      ...(c.peer !== undefined && { peer: c.peer }),
    }));
}
