// Group commit for the persistent-session queue: the writes of one turn of the event loop (rows
// for every client a fan-out reached, deletions for every acknowledgement) go to SQLite in one
// transaction, so one fsync (the database runs synchronous=FULL) covers them all. Callbacks
// waiting for durability (a publisher's PUBACK) run after that commit.
//
// setImmediate, not a microtask: an EVENT fan-out hands its messages to each session in a
// microtask (delivery.ts), and the commit must come after all of them.

import type { Db } from '../store/database.ts';

export class GroupCommit {
  readonly #db: Db;
  readonly #onError: (err: Error, writes: number) => void;
  readonly #finish: () => void;
  #writes: (() => void)[] = [];
  #after: (() => void)[] = [];
  #scheduled = false;
  readonly #run = (): void => {
    if (this.#scheduled) this.flush();
  };

  /** `finish`: runs last in each commit's transaction (bounds checked once per commit). */
  constructor(db: Db, onError: (err: Error, writes: number) => void, finish: () => void = () => {}) {
    this.#db = db;
    this.#onError = onError;
    this.#finish = finish;
  }

  /** A write for the next commit; writes run in the order given. */
  add(write: () => void): void {
    this.#writes.push(write);
    this.#schedule();
  }

  /** Runs `callback` once everything added so far is committed (or failed and logged). */
  afterCommit(callback: () => void): void {
    this.#after.push(callback);
    this.#schedule();
  }

  /** Commits now (before reading the queue, before the database closes). */
  flush(): void {
    this.#scheduled = false;
    const writes = this.#writes;
    const after = this.#after;
    this.#writes = [];
    this.#after = [];
    if (writes.length > 0) {
      try {
        this.#db.transaction(() => {
          for (const write of writes) write();
          this.#finish();
        })();
      } catch (err) {
        // A full or failing disk: these writes are lost (logged); the router and the
        // acknowledgements waiting for them carry on, the messages were routed all the same.
        this.#onError(err as Error, writes.length);
      }
    }
    for (const callback of after) {
      try {
        callback();
      } catch (err) {
        this.#onError(err as Error, 0);
      }
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  }
}
