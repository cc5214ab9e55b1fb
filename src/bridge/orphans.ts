// Events a bridge accepted stay in its outbox under its name. A bridge renamed or removed in the
// config leaves them there with nothing to send them: they are not lost (a bridge of that name
// configured again sends them), but they must not be silent either, so each start reports them.

import type { Db } from '../store/database.ts';

export interface OrphanedQueue {
  bridge: string;
  /** Events waiting, and their payloads' bytes. */
  events: number;
  bytes: number;
  /** Dead letters kept under that name. */
  deadLetters: number;
}

/** The outbox's events and dead letters held under names no configured bridge has. */
export function orphanedQueues(db: Db, configured: readonly string[]): OrphanedQueue[] {
  const known = new Set(configured);
  // One index seek per name on the (bridge, id) indexes (the next name after the last): a start
  // reads the names, not every event (DISTINCT would walk the whole index).
  const names = new Set<string>();
  for (const table of ['bridge_outbox', 'bridge_dead']) {
    const next = db.prepare(`SELECT min(bridge) AS bridge FROM ${table} WHERE bridge > ?`);
    for (
      let row = next.get('') as { bridge: string | null };
      row.bridge !== null;
      row = next.get(row.bridge) as typeof row
    )
      if (!known.has(row.bridge)) names.add(row.bridge);
  }
  const queued = db.prepare(
    'SELECT count(*) AS n, coalesce(sum(length(payload)), 0) AS bytes FROM bridge_outbox WHERE bridge = ?',
  );
  const dead = db.prepare('SELECT count(*) AS n FROM bridge_dead WHERE bridge = ?');
  return [...names].sort().map((bridge) => {
    const q = queued.get(bridge) as { n: number; bytes: number };
    return { bridge, events: q.n, bytes: q.bytes, deadLetters: (dead.get(bridge) as { n: number }).n };
  });
}
