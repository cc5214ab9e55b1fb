// The bridges' durable outbox: events matched by a bridge rule wait here, in SQLite, until the
// remote system confirms them (PUBACK, a 2xx). Writes are group-committed: everything put,
// confirmed or given up during one turn of the event loop goes into one transaction (one fsync
// with synchronous=FULL), and only then is each publisher's PUBLISHED released. So an
// acknowledged event is on disk, and a crash loses nothing acknowledged; delivery is at least
// once (a row sent but not yet confirmed when the process dies is sent again).
//
// Bounds per bridge: maxMessages, maxBytes (of stored payloads) and maxAgeSec. When full,
// onFull says what gives: "dropOldest" (the default: for telemetry the newest data matters most)
// deletes the oldest rows after the commit that overfilled it; "reject" refuses the new event
// (an acknowledging publisher gets ERROR wampmesh.error.bridge_queue_full). Every drop is counted
// by reason.

import type { Db } from '../store/database.ts';
import { translate } from '../store/database.ts';
import { type DeadLetter, INSERT_BATCH, type OutboxEntry, prepareOutbox, type OutboxStatements } from './outbox-sql.ts';

export interface QueueLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxAgeSec: number;
  readonly onFull: 'dropOldest' | 'reject';
}

export type { DeadLetter, OutboxEntry } from './outbox-sql.ts';

export const DROP_REASONS = ['full', 'expired', 'too_large', 'store_failed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why a put was refused, for the publisher's ERROR (see PublicationRefusal in src/router/replies.ts). */
export class OutboxRefusal extends Error {
  override readonly name = 'OutboxRefusal';
  readonly uri: string;
  constructor(uri: string, message: string) {
    super(message);
    this.uri = uri;
  }
}
export const QUEUE_FULL = 'wampmesh.error.bridge_queue_full';
export const STORE_FAILED = 'wampmesh.error.bridge_store_failed';

/** Dead letters kept per bridge; beyond it the oldest go (they are for inspection, not an archive). */
export const MAX_DEAD_PER_BRIDGE = 10_000;

interface Waiter {
  resolve(): void;
  reject(e: OutboxRefusal): void;
}
interface Pending {
  bridge: string;
  topic: string;
  dest: string;
  qos: number;
  payload: Uint8Array;
  created: number;
  waiter: Waiter | undefined;
}

export interface QueueState {
  depth: number;
  bytes: number;
  dropped: Record<DropReason, number>;
  committed: number;
}

export interface OutboxOptions {
  now?: () => number;
  /** Where a failed commit is reported (the caller logs it). */
  onError?: (err: Error) => void;
  /** Observes the seconds each group commit took. */
  commitSeconds?: (s: number) => void;
}

export class Outbox {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #options: OutboxOptions;
  readonly #limits = new Map<string, QueueLimits>();
  readonly #state = new Map<string, QueueState>();
  readonly #committedListeners = new Map<string, () => void>();
  #pending: Pending[] = [];
  #confirmed: number[] = [];
  #dead: { id: number; reason: string }[] = [];
  #scheduled = false;
  #closed = false;
  /** Successful group commits so far: a confirmation made before commit n is on disk once commits >= n. */
  #commits = 0;
  readonly #stmt: OutboxStatements;

  constructor(db: Db, options: OutboxOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#options = options;
    this.#stmt = prepareOutbox(db);
  }

  /** Makes a bridge's queue known (its rows from before a restart are counted, and sent again). */
  open(bridge: string, limits: QueueLimits, committed: () => void): void {
    this.#limits.set(bridge, limits);
    this.#committedListeners.set(bridge, committed);
    const { n, bytes } = this.#stmt.size.get(bridge)!;
    this.#state.set(bridge, {
      depth: n,
      bytes: bytes ?? 0,
      dropped: { full: 0, expired: 0, too_large: 0, store_failed: 0 },
      committed: 0,
    });
  }

  state(bridge: string): QueueState | undefined {
    return this.#state.get(bridge);
  }

  /** Age in ms of the oldest waiting event, 0 when empty. */
  oldestAgeMs(bridge: string): number {
    const row = this.#stmt.oldest.get(bridge);
    return row === undefined ? 0 : Math.max(0, this.#now() - row.created);
  }

  /**
   * Queues an event. `acknowledge`: a promise that settles once it is committed (or refused),
   * for the publisher's PUBLISHED; without it, a refusal is only counted.
   */
  put(
    bridge: string,
    entry: { topic: string; dest: string; qos: number; payload: Uint8Array },
    acknowledge: boolean,
  ): Promise<void> | undefined {
    const limits = this.#limits.get(bridge)!;
    const state = this.#state.get(bridge)!;
    const size = entry.payload.byteLength;
    let refusal: OutboxRefusal | undefined;
    if (this.#closed) refusal = new OutboxRefusal(STORE_FAILED, `bridge ${bridge}: the outbox is closed`);
    else if (size > limits.maxBytes) {
      state.dropped.too_large++;
      refusal = new OutboxRefusal(QUEUE_FULL, `bridge ${bridge}: event of ${size} bytes exceeds queue.maxBytes`);
    } else if (
      limits.onFull === 'reject' &&
      (state.depth + 1 > limits.maxMessages || state.bytes + size > limits.maxBytes)
    ) {
      state.dropped.full++;
      refusal = new OutboxRefusal(QUEUE_FULL, `bridge ${bridge}: its outbox is full`);
    }
    if (refusal !== undefined) return acknowledge ? Promise.reject(refusal) : undefined;
    state.depth++;
    state.bytes += size;
    const pending: Pending = { bridge, ...entry, created: this.#now(), waiter: undefined };
    this.#pending.push(pending);
    this.#schedule();
    if (!acknowledge) return undefined;
    return new Promise<void>((resolve, reject) => {
      pending.waiter = { resolve, reject };
    });
  }

  /** How many group commits succeeded: a confirmation made when this was n is on disk once it exceeds n. */
  get commits(): number {
    return this.#commits;
  }

  /** Committed rows of a bridge after `afterId`, oldest first. */
  next(bridge: string, afterId: number, limit: number): OutboxEntry[] {
    return this.#stmt.next.all(bridge, afterId, limit);
  }

  /** The remote side confirmed the row: deleted at the next group commit. */
  confirm(id: number): void {
    this.#confirmed.push(id);
    this.#schedule();
  }

  /** The remote side refused the row for good: moved to the dead letters at the next commit. */
  bury(id: number, reason: string): void {
    this.#dead.push({ id, reason: reason.slice(0, 1000) });
    this.#schedule();
  }

  /** Drops rows older than the bridge's maxAgeSec (called from the router's tick). */
  expire(): void {
    const now = this.#now();
    this.#transaction(() => {
      for (const [bridge, limits] of this.#limits) {
        const rows = this.#stmt.expired.all(bridge, now - limits.maxAgeSec * 1000);
        for (const row of rows) this.#remove(row.id, 'expired');
      }
    });
  }

  deadLetters(bridge: string, limit: number): { total: number; letters: DeadLetter[] } {
    return { total: this.#stmt.countDead.get(bridge)!.n, letters: this.#stmt.listDead.all(bridge, limit) };
  }

  /** Moves dead letters (all, or the one with `id`) back to the end of the queue; how many moved. */
  replay(bridge: string, id?: number): number {
    let moved = 0;
    this.#transaction(() => {
      if (id === undefined) {
        moved = this.#stmt.replayAll.run(bridge).changes;
        this.#stmt.deleteAllDead.run(bridge);
      } else {
        moved = this.#stmt.replayOne.run(bridge, id).changes;
        this.#stmt.deleteDead.run(bridge, id);
      }
    });
    const state = this.#state.get(bridge);
    if (state !== undefined && moved > 0) {
      const { n, bytes } = this.#stmt.size.get(bridge)!;
      state.depth = n + this.#pending.filter((p) => p.bridge === bridge).length;
      state.bytes = (bytes ?? 0) + this.#pending.reduce((a, p) => a + (p.bridge === bridge ? p.payload.length : 0), 0);
      this.#committedListeners.get(bridge)?.();
    }
    return moved;
  }

  /** Commits what is pending now (also what the scheduled commit would do). */
  flush(): void {
    this.#scheduled = false;
    // After close() the database may be closed too: what comes later (a late confirmation) is
    // not written, and is at worst sent again after a restart.
    if (this.#closed) return;
    const pending = this.#pending;
    const confirmed = this.#confirmed;
    const dead = this.#dead;
    if (pending.length === 0 && confirmed.length === 0 && dead.length === 0) return;
    this.#pending = [];
    this.#confirmed = [];
    this.#dead = [];
    const touched = new Set<string>();
    const started = performance.now();
    // A commit that only deletes confirmed rows is not fsynced (synchronous=NORMAL for it alone):
    // it survives the process dying (the kernel holds the write), and a power cut can at worst
    // bring such rows back, to be sent again: a duplicate, never a loss. Draining a queue then
    // costs no fsync per turn; whatever holds a new or dead row is fsynced (FULL) as always.
    const relaxed = pending.length === 0 && dead.length === 0;
    if (relaxed) this.#stmt.relaxed.run();
    try {
      this.#transaction(() => {
        const failed = this.#now();
        for (const d of dead) {
          const moved = this.#stmt.toDead.run(failed, d.reason, d.id).changes;
          const bridge = this.#remove(d.id, undefined);
          if (bridge !== undefined && moved > 0) this.#stmt.trimDead.run(bridge, bridge, MAX_DEAD_PER_BRIDGE - 1);
        }
        // One statement for all the turn's confirmations, not one per row.
        if (confirmed.length > 0)
          for (const row of this.#stmt.removeMany.all(JSON.stringify(confirmed))) {
            this.#count(row, undefined);
            touched.add(row.bridge);
          }
        // Rows in the order put (their ids keep it), INSERT_BATCH to a statement where there are that many.
        let i = 0;
        for (; i + INSERT_BATCH <= pending.length; i += INSERT_BATCH) {
          const values: unknown[] = [];
          for (let k = i; k < i + INSERT_BATCH; k++) {
            const p = pending[k]!;
            values.push(p.bridge, p.topic, p.dest, p.qos, p.payload, p.created);
          }
          this.#stmt.insertBatch.run(values);
        }
        for (; i < pending.length; i++) {
          const p = pending[i]!;
          this.#stmt.insert.run(p.bridge, p.topic, p.dest, p.qos, p.payload, p.created);
        }
        for (const p of pending) touched.add(p.bridge);
        for (const bridge of touched) this.#enforce(bridge);
      });
    } catch (err) {
      if (relaxed) this.#restoreSync();
      const e = translate(err, this.#db.name);
      for (const p of pending) {
        const state = this.#state.get(p.bridge)!;
        state.depth--;
        state.bytes -= p.payload.byteLength;
        state.dropped.store_failed++;
        p.waiter?.reject(new OutboxRefusal(STORE_FAILED, `bridge ${p.bridge}: ${e.message}`));
      }
      // Confirmations not written are sent again after a restart: duplicates, never losses.
      this.#options.onError?.(e);
      return;
    }
    if (relaxed) this.#restoreSync();
    this.#commits++;
    this.#options.commitSeconds?.((performance.now() - started) / 1000);
    for (const p of pending) {
      this.#state.get(p.bridge)!.committed++;
      p.waiter?.resolve();
    }
    for (const bridge of touched) this.#committedListeners.get(bridge)?.();
  }

  /** Commits what is pending and takes no more puts (shutdown). */
  close(): void {
    this.flush();
    this.#closed = true;
    this.#pending = [];
    this.#confirmed = [];
    this.#dead = [];
  }

  /** Back to the database's own setting (src/store/database.ts: FULL) for every other write. */
  #restoreSync(): void {
    this.#stmt.full.run();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every publication read in this turn shares the commit.
    setImmediate(() => this.flush());
  }

  #transaction(fn: () => void): void {
    this.#db.transaction(fn)();
  }

  /** Deletes one row, keeping the counters; the bridge it belonged to, if it was there. */
  #remove(id: number, reason: DropReason | undefined): string | undefined {
    const row = this.#stmt.remove.get(id);
    if (row === undefined) return undefined;
    this.#count(row, reason);
    return row.bridge;
  }

  /** A deleted row leaves its bridge's counters. */
  #count(row: { bridge: string; bytes: number }, reason: DropReason | undefined): void {
    const state = this.#state.get(row.bridge);
    if (state === undefined) return;
    state.depth--;
    state.bytes -= row.bytes;
    if (reason !== undefined) state.dropped[reason]++;
  }

  /** dropOldest: deletes the oldest rows until the bridge is within its bounds again. */
  #enforce(bridge: string): void {
    const limits = this.#limits.get(bridge)!;
    const state = this.#state.get(bridge)!;
    while (state.depth > limits.maxMessages || state.bytes > limits.maxBytes) {
      const over = Math.max(1, state.depth - limits.maxMessages);
      const rows = this.#stmt.oldestRows.all(bridge, over);
      if (rows.length === 0) break;
      for (const row of rows) {
        this.#remove(row.id, 'full');
        if (state.depth <= limits.maxMessages && state.bytes <= limits.maxBytes) break;
      }
    }
  }
}
