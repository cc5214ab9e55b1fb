// Spec, "IDs": integers in [1, 2^53]. 2^53 itself is exactly representable as a double,
// so plain numbers suffice.
export const MAX_ID = 2 ** 53;

export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ID;
}

/** Global-scope IDs (sessions, publications) are drawn at random from [1, 2^53]. */
export function randomId(random: () => number = Math.random): number {
  return Math.floor(random() * MAX_ID) + 1;
}

/** Session-scope and router-scope IDs count up from 1 and wrap within the range. */
export class IdSequence {
  #next = 1;
  next(): number {
    const id = this.#next;
    this.#next = id >= MAX_ID ? 1 : id + 1;
    return id;
  }
}
