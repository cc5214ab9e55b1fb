// How the security store writes: every write validates first, then runs in one transaction
// (all or nothing), and listeners hear of a change only after its commit. Reads translate
// database failures the same way, so callers see a SecurityError or a StoreError, nothing else.

import { translate, type Db } from '../store/database.ts';
import { SecurityError } from './errors.ts';
import type { RealmRecord } from './records.ts';
import type { Revocation } from './revocation.ts';

export type SecurityChange =
  | { readonly kind: 'realm.created' | 'realm.updated'; readonly realm: string; readonly record: RealmRecord }
  | { readonly kind: 'realm.deleted'; readonly realm: string }
  | { readonly kind: 'user.created' | 'user.updated' | 'user.deleted'; readonly realm: string; readonly authid: string }
  /** The user's sessions must end (see revocation.ts); comes with the change that caused it. */
  | { readonly kind: 'user.revoked'; readonly realm: string; readonly authid: string; readonly why: Revocation }
  /** Groups, grants or sources of the realm changed. */
  | { readonly kind: 'policy'; readonly realm: string }
  /** HTTP API gateway specs of the realm changed. */
  | { readonly kind: 'api'; readonly realm: string };

export type SecurityListener = (change: SecurityChange) => void;

export class Transactions {
  readonly #db: Db;
  readonly #listeners = new Set<SecurityListener>();
  #version = 0;
  /** Changes of the batch in progress, announced at its commit. */
  #queued: SecurityChange[] | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Called after each committed change (synchronously, before the write call returns). */
  subscribe(listener: SecurityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Incremented by every committed write: a cheap staleness check for caches. */
  get version(): number {
    return this.#version;
  }

  read<T>(fn: () => T): T {
    return this.#translated(fn);
  }

  /**
   * Runs several writes as one transaction: all or nothing, and listeners hear of them only
   * after the commit. Writes made inside are savepoints of it.
   */
  batch<T>(fn: () => T): T {
    if (this.#queued !== undefined) return fn();
    const queued: SecurityChange[] = (this.#queued = []);
    let result: T;
    try {
      result = this.#translated(() => this.#db.transaction(fn).immediate());
    } finally {
      this.#queued = undefined;
    }
    this.#committed(queued);
    return result;
  }

  /** One write, announcing `changes` once it is committed (with its batch's, inside one). */
  write(changes: readonly SecurityChange[], fn: () => void): void {
    if (this.#queued !== undefined) {
      this.#db.transaction(fn)();
      this.#queued.push(...changes);
      return;
    }
    this.#translated(() => this.#db.transaction(fn).immediate());
    this.#committed(changes);
  }

  /** A SecurityError passes as it is; any other failure becomes a StoreError naming the file. */
  #translated<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SecurityError) throw err;
      throw translate(err, this.#db.name);
    }
  }

  #committed(changes: readonly SecurityChange[]): void {
    this.#version++;
    for (const change of changes) {
      for (const listener of [...this.#listeners]) listener(change);
    }
  }
}
