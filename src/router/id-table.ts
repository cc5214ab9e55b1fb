// A table keyed by WAMP IDs: the calls a Dealer has open per session (ongoing-calls.ts) and the
// calls crossing a mesh node (mesh/routing/hop-table.ts), each looked up, added and removed once
// or more per call. Their keys mostly count up (a client's request IDs, the INVOCATION IDs a
// router gives, a node's call IDs), so a key's place is its low bits in a ring of slots, found
// without hashing; a key whose slot another holds goes to a Map beside the ring. While the keys
// in the table are fewer than half the slots and consecutive, none does.
//
// Why not a Map alone: a Map set, get and delete by number cost 52 ns together against 7 here
// (micro: 2 M calls, 1,000 open at a time), and a busy router makes several of each per call:
// in the 3-hop mesh bench the routers spent 8-14% of their CPU in Map operations, most of them
// on these two tables (BENCHMARKS.md).

/** The ring's size when made, and the most it grows to. */
const MIN_SLOTS = 8;
const MAX_SLOTS = 4096;

export class IdTable<V> {
  /** The key in each slot, NaN where there is none (NaN equals no key: a lookup needs no other check). */
  #keys: number[];
  #values: (V | undefined)[];
  #mask: number;
  #inRing = 0;
  /** Keys whose slot was taken when they came; made on first need. */
  #spill: Map<number, V> | undefined;

  constructor() {
    this.#keys = slots(MIN_SLOTS);
    this.#values = new Array<V | undefined>(MIN_SLOTS).fill(undefined);
    this.#mask = MIN_SLOTS - 1;
  }

  get size(): number {
    return this.#inRing + (this.#spill === undefined ? 0 : this.#spill.size);
  }

  get(key: number): V | undefined {
    const s = key & this.#mask;
    if (this.#keys[s] === key) return this.#values[s];
    return this.#spill === undefined ? undefined : this.#spill.get(key);
  }

  has(key: number): boolean {
    return this.#keys[key & this.#mask] === key || this.#spill?.has(key) === true;
  }

  set(key: number, value: V): this {
    if (key === 0) key = 0; // -0 as +0, as a Map keeps it
    const s = key & this.#mask;
    const keys = this.#keys;
    if (keys[s] === key) {
      this.#values[s] = value;
      return this;
    }
    const spill = this.#spill;
    if (spill?.has(key)) {
      spill.set(key, value);
      return this;
    }
    const held = keys[s]!;
    // Only an integer can be found in its slot again (a fraction's low bits are another's).
    if (Number.isNaN(held) && Number.isInteger(key)) {
      keys[s] = key;
      this.#values[s] = value;
      this.#inRing++;
    } else (this.#spill ??= new Map()).set(key, value);
    if (this.size > (this.#mask + 1) / 2 && this.#mask + 1 < MAX_SLOTS) this.#grow();
    return this;
  }

  delete(key: number): boolean {
    const s = key & this.#mask;
    if (this.#keys[s] === key) {
      this.#keys[s] = Number.NaN;
      this.#values[s] = undefined;
      this.#inRing--;
      return true;
    }
    return this.#spill?.delete(key) === true;
  }

  /** Every value: the ring's by slot, then the others (not in the order they came). */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  *entries(): IterableIterator<[number, V]> {
    const keys = this.#keys;
    const values = this.#values;
    for (let s = 0; s < keys.length; s++) {
      const key = keys[s]!;
      if (!Number.isNaN(key)) yield [key, values[s]!];
    }
    if (this.#spill !== undefined) yield* this.#spill;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const spill = this.#spill;
    const n = (this.#mask + 1) * 2;
    this.#keys = slots(n);
    this.#values = new Array<V | undefined>(n).fill(undefined);
    this.#mask = n - 1;
    this.#inRing = 0;
    this.#spill = undefined;
    for (let s = 0; s < keys.length; s++) if (!Number.isNaN(keys[s]!)) this.set(keys[s]!, values[s]!);
    if (spill !== undefined) for (const [key, value] of spill) this.set(key, value);
  }
}

/**
 * Emptied tables kept for the next owner to need one (a session's calls, an origin's): a busy
 * owner's calls often all end between two bursts, and a table made anew grows again from
 * MIN_SLOTS to hold the next burst.
 */
export class SpareTables<V> {
  readonly #tables: IdTable<V>[] = [];
  readonly #most: number;

  constructor(most: number) {
    this.#most = most;
  }

  /** A spare table, or a new one. */
  take(): IdTable<V> {
    return this.#tables.pop() ?? new IdTable<V>();
  }

  /** A table just emptied and no longer used by its owner. */
  keep(table: IdTable<V>): void {
    if (this.#tables.length < this.#most) this.#tables.push(table);
  }
}

function slots(n: number): number[] {
  return new Array<number>(n).fill(Number.NaN);
}
