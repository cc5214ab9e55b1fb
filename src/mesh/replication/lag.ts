// Replication lag (the /metrics figure): per neighbour, the versions its last full version list
// held that this node lacks, and since when this node has known it lacks something. Cleared as
// the neighbour's pushes bring them, or when its digest equals ours. Known from anti-entropy, on
// every new link and every antiEntropyMs; a change pushed as it commits is not counted while in
// flight.

import type { NodeId } from '../node-id.ts';
import type { ReplicaRecord } from './frames.ts';
import { newer, type Version } from './hlc.ts';

export class ReplicationLag {
  readonly #now: () => number;
  readonly #behind = new Map<NodeId, { lacking: Map<string, Version>; since: number }>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A neighbour's whole version list arrived: what it has that is newer than ours. */
  noteLacking(peer: NodeId, theirs: Map<string, Version>, ours: Map<string, Version>): void {
    const lacking = new Map<string, Version>();
    for (const [key, t] of theirs) {
      const o = ours.get(key);
      if (o === undefined || newer(t, o)) lacking.set(key, t);
    }
    if (lacking.size === 0) this.#behind.delete(peer);
    else this.#behind.set(peer, { lacking, since: this.#behind.get(peer)?.since ?? this.#now() });
  }

  /** A neighbour's push was applied: what it brought (`held`: the version held now) is no longer lacking. */
  noteReceived(peer: NodeId, records: readonly ReplicaRecord[], held: (key: string) => Version | undefined): void {
    const behind = this.#behind.get(peer);
    if (behind === undefined) return;
    for (const r of records) {
      const wanted = behind.lacking.get(r.key);
      if (wanted === undefined) continue;
      const have = held(r.key);
      if (have !== undefined && !newer(wanted, have)) behind.lacking.delete(r.key);
    }
    if (behind.lacking.size === 0) this.#behind.delete(peer);
  }

  /** A neighbour's digest equals ours: it holds nothing we lack. */
  caughtUp(peer: NodeId): void {
    this.#behind.delete(peer);
  }

  /** Per neighbour, milliseconds since this node has known it lacks records the neighbour holds (0: none). */
  lag(neighbours: ReadonlySet<NodeId>): Record<NodeId, number> {
    const now = this.#now();
    for (const peer of this.#behind.keys()) if (!neighbours.has(peer)) this.#behind.delete(peer);
    const lag: Record<NodeId, number> = {};
    for (const peer of neighbours) {
      const behind = this.#behind.get(peer);
      lag[peer] = behind === undefined ? 0 : Math.max(0, now - behind.since);
    }
    return lag;
  }
}
