// Hybrid logical clock of replicated versions: wall-clock milliseconds, plus a counter when the
// clock stands still or runs behind what we have seen from others. Written as 15 digits, a dot
// and 6 digits, so versions compare as strings.

/** A version of a record: when (its clock) and by whom (its writer's node ID). */
export interface Version {
  readonly hlc: string;
  readonly node: string;
}

/** The newest version wins (last writer wins per record); ties broken by node ID. */
export function newer(a: Version, b: Version): boolean {
  return a.hlc > b.hlc || (a.hlc === b.hlc && a.node > b.node);
}

export class HybridLogicalClock {
  readonly #now: () => number;
  #clock = { ms: 0, n: 0 };

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The version of a new write by this node: later than any it has written or observed. */
  tick(): string {
    const wall = this.#now();
    if (wall > this.#clock.ms) this.#clock = { ms: wall, n: 0 };
    // The counter has 6 digits: past them, the next millisecond (a 7-digit counter broke the
    // format every peer checks).
    else if (this.#clock.n >= 999_999) this.#clock = { ms: this.#clock.ms + 1, n: 0 };
    else this.#clock = { ms: this.#clock.ms, n: this.#clock.n + 1 };
    return `${String(this.#clock.ms).padStart(15, '0')}.${String(this.#clock.n).padStart(6, '0')}`;
  }

  /** A version seen from another node (or kept from before a restart): later writes date after it. */
  observe(hlc: string): void {
    const [ms, n] = hlc.split('.').map(Number) as [number, number];
    if (ms > this.#clock.ms || (ms === this.#clock.ms && n > this.#clock.n)) this.#clock = { ms, n };
  }
}
