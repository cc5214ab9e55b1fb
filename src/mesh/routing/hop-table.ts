// The hop table of the calls crossing this node (calls.ts): per call, identified by its origin
// node and the ID that node gave it, where its frames go next. Looked up once per frame on
// every node of a call's path, so it is keyed by origin, then ID: no key string is made per
// frame, and a node ID is another router's string, which may hold any separator. An origin's
// calls are an IdTable (their IDs count up), and the origin looked up last is kept: a busy
// node's frames come mostly from one or two.

import { SpareTables, type IdTable } from '../../router/id-table.ts';
import type { NodeId } from './frames.ts';
import type { RemoteCallee } from './remote-targets.ts';

/** Where a call's frames go next: toward the callee, and back toward the caller (null = here). */
export interface Hop {
  toward: NodeId | null;
  back: NodeId | null;
  realm: string;
  dst: NodeId;
  /** On the caller's node: the proxy the Dealer invoked (undefined if withdrawn by then). */
  callee: RemoteCallee | undefined;
}

export class HopTable {
  readonly #byOrigin = new Map<NodeId, IdTable<Hop>>();
  #size = 0;
  #lastOrigin: NodeId | undefined;
  #lastCalls: IdTable<Hop> | undefined;
  readonly #spares = new SpareTables<Hop>(1);

  get size(): number {
    return this.#size;
  }

  #of(origin: NodeId): IdTable<Hop> | undefined {
    if (origin === this.#lastOrigin) return this.#lastCalls;
    const calls = this.#byOrigin.get(origin);
    if (calls !== undefined) {
      this.#lastOrigin = origin;
      this.#lastCalls = calls;
    }
    return calls;
  }

  get(origin: NodeId, id: number): Hop | undefined {
    return this.#of(origin)?.get(id);
  }

  has(origin: NodeId, id: number): boolean {
    return this.#of(origin)?.has(id) === true;
  }

  set(origin: NodeId, id: number, hop: Hop): void {
    let calls = this.#of(origin);
    if (calls === undefined) {
      calls = this.#spares.take();
      this.#byOrigin.set(origin, calls);
    }
    const before = calls.size;
    calls.set(id, hop);
    this.#size += calls.size - before;
  }

  delete(origin: NodeId, id: number): boolean {
    const calls = this.#of(origin);
    if (calls === undefined || !calls.delete(id)) return false;
    this.#size--;
    if (calls.size === 0) {
      this.deleteOrigin(origin);
      this.#spares.keep(calls);
    }
    return true;
  }

  /** Forgets every call of one origin. */
  deleteOrigin(origin: NodeId): void {
    const calls = this.#byOrigin.get(origin);
    if (calls === undefined) return;
    this.#size -= calls.size;
    this.#byOrigin.delete(origin);
    if (origin === this.#lastOrigin) {
      this.#lastOrigin = undefined;
      this.#lastCalls = undefined;
    }
  }

  /** Every call, as a snapshot: the caller may change the table while going through it. */
  all(): [NodeId, number, Hop][] {
    const out: [NodeId, number, Hop][] = [];
    for (const [origin, calls] of this.#byOrigin) for (const [id, hop] of calls.entries()) out.push([origin, id, hop]);
    return out;
  }
}
