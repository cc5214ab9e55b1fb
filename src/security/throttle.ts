// Failed authentications per address (and, in AccountGuard, per account), as token buckets: each failure takes a token, tokens
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

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureThrottle {
  readonly burst: number;
  readonly refillPerMs: number;
  readonly #max: number;
  readonly #now: () => number;
  // Insertion order = order of last failure, so the first entry is the stalest.
  readonly #buckets = new Map<string, Bucket>();
  /** key -> the end of its last queued check; only keys with checks queued or running. */
  readonly #turns = new Map<string, Promise<void>>();

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
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Runs `check` (a password hash, off the event loop) once every earlier check of `key` has
   * finished. One address then holds one of libuv's threads at a time (4 by default, shared
   * with file I/O and DNS), never all of them; and a check that starts can still see the
   * failures of those before it, as checks on the event loop did, so a queue of guesses over
   * many connections stops where the budget does.
   */
  inTurn<T>(key: string, check: () => Promise<T>): Promise<T> {
    const previous = this.#turns.get(key);
    const result = previous === undefined ? check() : previous.then(check);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#turns.set(key, settled);
    void settled.then(() => {
      if (this.#turns.get(key) === settled) this.#turns.delete(key);
    });
    return result;
  }

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

/**
 * Failed logins per account (realm and authid), whatever the address: guesses spread over
 * many addresses (a botnet, an IPv6 block) each stay under the per-address budget. The trade-off
 * is that an attacker can spend an account's budget to keep its owner out; so this is no lock:
 * - the budget comes back steadily (a burst of 20, then one every 30 s): the owner is slowed,
 *   never locked for good, and gets in as soon as the guessing stops for a while;
 * - while it is spent, addresses that logged in to this account successfully before (the last
 *   few, kept in memory) are still let through to the password check, so an owner on their
 *   usual network logs in during an attack. They stay bound by the per-address budget.
 */
export class AccountGuard {
  readonly #throttle: FailureThrottle;
  /** account -> addresses (throttle keys) that logged in to it, most recent last. */
  readonly #known = new Map<string, string[]>();
  readonly #maxAccounts: number;

  constructor(options: ThrottleOptions = {}) {
    this.#throttle = new FailureThrottle({ burst: 20, refillPerSecond: 1 / 30, maxAddresses: 10_000, ...options });
    this.#maxAccounts = options.maxAddresses ?? 10_000;
  }

  allowed(realm: string, authid: string, address: string): boolean {
    const account = `${realm}\0${authid}`;
    return this.#throttle.allowed(account) || this.#known.get(account)?.includes(address) === true;
  }

  failed(realm: string, authid: string): void {
    this.#throttle.failed(`${realm}\0${authid}`);
  }

  succeeded(realm: string, authid: string, address: string): void {
    const account = `${realm}\0${authid}`;
    const list = (this.#known.get(account) ?? []).filter((a) => a !== address);
    list.push(address);
    if (list.length > KNOWN_ADDRESSES_PER_ACCOUNT) list.shift();
    this.#known.delete(account);
    this.#known.set(account, list);
    while (this.#known.size > this.#maxAccounts) this.#known.delete(this.#known.keys().next().value!);
  }

  /** Accounts currently short of budget (for tests and metrics). */
  get size(): number {
    return this.#throttle.size;
  }
}

/** An owner logs in from home, work, a phone: a few networks. */
const KNOWN_ADDRESSES_PER_ACCOUNT = 8;
