// Timers are injected so the core stays deterministic under test (a fake clock drives them).
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Node fires a timer asked for more than 2^31-1 ms (24.8 days) after 1 ms, with a
// TimeoutOverflowWarning. Peers choose some delays (a CALL's timeout option, any non-negative
// integer), so a longer delay is run as a chain of timers instead: a CALL with timeout 2^40
// must not time out at once.
const TIMEOUT_MAX = 2 ** 31 - 1;

class LongTimeout {
  timer: NodeJS.Timeout;
  constructor(fn: () => void, ms: number) {
    this.timer = this.#arm(fn, ms);
  }
  #arm(fn: () => void, left: number): NodeJS.Timeout {
    if (left <= TIMEOUT_MAX) return setTimeout(fn, left);
    return setTimeout(() => {
      this.timer = this.#arm(fn, left - TIMEOUT_MAX);
    }, TIMEOUT_MAX);
  }
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => (ms > TIMEOUT_MAX ? new LongTimeout(fn, ms) : setTimeout(fn, ms)),
  clearTimeout: (handle) => clearTimeout(handle instanceof LongTimeout ? handle.timer : (handle as NodeJS.Timeout)),
};

/** A manual scheduler for tests and the mesh simulator: advance(ms) fires what is due, in order. */
export class ManualScheduler implements Scheduler {
  now = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].at <= until && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = until;
  }
}
