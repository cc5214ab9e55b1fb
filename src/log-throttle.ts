// Log lines a peer can cause over and over (every oversize frame, every redial of a link that
// fails its integrity check) are written at most once per interval per key, with the number
// left unwritten since: the journal shows that it happens and how often, without flooding.

export class LogThrottle {
  readonly #intervalMs: number;
  readonly #seen = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** undefined: not now (counted); else how many were held back since the last one written. */
  admit(key: string, now = performance.now()): number | undefined {
    const seen = this.#seen.get(key);
    if (seen !== undefined && now - seen.loggedAt < this.#intervalMs) {
      seen.suppressed++;
      return undefined;
    }
    this.#seen.set(key, { loggedAt: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }
}
