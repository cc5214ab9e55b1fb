// Failed authentications per address, as token buckets: each failure takes a token, tokens
// come back at a steady rate, and an address with no token left is refused at HELLO before
// any secret is looked at. The clock is injected (tests drive it by hand).

export interface ThrottleOptions {
  /** Failures allowed in a burst (bucket size). Default 10. */
  burst?: number;
  /** Tokens returned per second. Default 1/6: ten failures a minute, sustained. */
  refillPerSecond?: number;
  /** Addresses tracked at most; the least recently failed are forgotten first. Default 10 000. */
  maxAddresses?: number;
  now?: () => number;
}

interface Bucket { tokens: number; at: number }

export class FailureThrottle {
  readonly burst: number;
  readonly refillPerMs: number;
  readonly #max: number;
  readonly #now: () => number;
  // Insertion order = order of last failure, so the first entry is the stalest.
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ThrottleOptions = {}) {
    this.burst = options.burst ?? 10;
    this.refillPerMs = (options.refillPerSecond ?? 1 / 6) / 1000;
    this.#max = options.maxAddresses ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Whether `key` may try to authenticate now. */
  allowed(key: string): boolean {
    const bucket = this.#current(key);
    return bucket === undefined || bucket.tokens >= 1;
  }

  /** Records a failed authentication from `key`. */
  failed(key: string): void {
    const bucket = this.#current(key) ?? { tokens: this.burst, at: this.#now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    while (this.#buckets.size > this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
  }

  /** Addresses currently tracked (for tests and metrics). */
  get size(): number { return this.#buckets.size; }

  #current(key: string): Bucket | undefined {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return undefined;
    const now = this.#now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.refillPerMs);
    bucket.at = now;
    // A full bucket is the same as none.
    if (bucket.tokens >= this.burst) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }
}
