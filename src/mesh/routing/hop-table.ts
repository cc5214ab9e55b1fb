// The hop table of the calls crossing this node (calls.ts): per call, identified by its origin
// node and the ID that node gave it, where its frames go next. Looked up once per frame on
// every node of a call's path, so it is keyed by origin, then ID: no key string is made per
// frame, and a node ID is another router's string, which may hold any separator.

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
  readonly #byOrigin = new Map<NodeId, Map<number, Hop>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(origin: NodeId, id: number): Hop | undefined {
    return this.#byOrigin.get(origin)?.get(id);
  }

  has(origin: NodeId, id: number): boolean {
    return this.#byOrigin.get(origin)?.has(id) === true;
  }

  set(origin: NodeId, id: number, hop: Hop): void {
    let calls = this.#byOrigin.get(origin);
    if (calls === undefined) this.#byOrigin.set(origin, (calls = new Map()));
    if (!calls.has(id)) this.#size++;
    calls.set(id, hop);
  }

  delete(origin: NodeId, id: number): boolean {
    const calls = this.#byOrigin.get(origin);
    if (calls === undefined || !calls.delete(id)) return false;
    this.#size--;
    if (calls.size === 0) this.#byOrigin.delete(origin);
    return true;
  }

  /** Forgets every call of one origin. */
  deleteOrigin(origin: NodeId): void {
    const calls = this.#byOrigin.get(origin);
    if (calls === undefined) return;
    this.#size -= calls.size;
    this.#byOrigin.delete(origin);
  }

  /** Every call, as a snapshot: the caller may change the table while going through it. */
  all(): [NodeId, number, Hop][] {
    const out: [NodeId, number, Hop][] = [];
    for (const [origin, calls] of this.#byOrigin) for (const [id, hop] of calls) out.push([origin, id, hop]);
    return out;
  }
}
