// The cache of what discovery heard on one interface: one entry per service instance, with the
// TTL it was given (RFC 6762 §5.2, "Continuous Multicast DNS Querying": an entry is queried
// again at 80% and 90% of its lifetime, and expires at its end). Pure: the adapter (mdns.ts)
// sends the queries and tells its owner what changed.

import type { PeerVerdict, ServiceInfo } from './service.ts';
import type { PeerEndpoint } from './options.ts';

export interface CacheEntry {
  instance: string;
  info?: ServiceInfo;
  verdict?: PeerVerdict | string;
  host?: string;
  port?: number;
  ttlMs: number;
  receivedAt: number;
  expiresAt: number;
  /** 0: fresh; 1: re-queried at 80% of the TTL; 2: at 90%. */
  refreshStage: number;
  goodbye: boolean;
}

/** When the entry next needs attention: its next refresh query, or its expiry. */
export function dueAt(e: CacheEntry): number {
  return e.goodbye || e.ttlMs === 0 || e.refreshStage >= 2
    ? e.expiresAt
    : e.receivedAt + e.ttlMs * (e.refreshStage === 0 ? 0.8 : 0.9);
}

/**
 * Applies `now` to a cache: removes the entries that expired (returned as `expired`), and
 * advances the refresh stage of those due a query (returned as `refresh`: query them again).
 */
export function upkeep(cache: Map<string, CacheEntry>, now: number): { expired: CacheEntry[]; refresh: CacheEntry[] } {
  const expired: CacheEntry[] = [];
  const refresh: CacheEntry[] = [];
  for (const [name, e] of cache) {
    if (now >= e.expiresAt) {
      cache.delete(name);
      expired.push(e);
      continue;
    }
    if (e.goodbye || e.ttlMs === 0) continue;
    const age = (now - e.receivedAt) / e.ttlMs;
    if ((e.refreshStage === 0 && age >= 0.8) || (e.refreshStage === 1 && age >= 0.9)) {
      e.refreshStage++;
      refresh.push(e);
    }
  }
  return { expired, refresh };
}

/** Where the cache has node `nodeId`, of our cluster and protocol, and not saying goodbye. */
export function endpointsOf(cache: ReadonlyMap<string, CacheEntry>, nodeId: string): PeerEndpoint[] {
  const out: PeerEndpoint[] = [];
  for (const e of cache.values()) {
    if (e.info?.nodeId === nodeId && e.verdict === 'ok' && !e.goodbye && e.host !== undefined && e.port !== undefined)
      out.push({ host: e.host, port: e.port });
  }
  return out;
}
