// Drives one bridge's queue into its remote system: at most `inflight` events unconfirmed, in
// the order they were queued; a confirmed event is deleted, a refused one goes to the dead
// letters, and any other failure (the link is down, a 5xx, a timeout) sends everything from the
// oldest unconfirmed event again after a jittered, growing delay. So the remote side sees each
// event at least once, in order, with duplicates only of what was in flight at the failure
// (counted as redelivered).

import { errorText } from '../log.ts';
import { backoffDelay, type BackoffSettings } from './backoff.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';

/** The remote side refused the event for good (a 4xx other than 408/429): not retried. */
export class PermanentRefusal extends Error {
  override readonly name = 'PermanentRefusal';
}

/** One remote system. */
export interface Sink {
  /** Whether events can be sent now (an MQTT connection is up; a webhook always is). */
  readonly ready: boolean;
  /**
   * Sends one event; resolves when the remote side confirmed it. Rejects with PermanentRefusal
   * for a refusal retrying cannot change, with any other error for a failure worth retrying.
   */
  send(entry: OutboxEntry): Promise<void>;
  /** Called (by the forwarder) after a failure: the sink drops its link, to start again. */
  reset(reason: string): void;
}

export interface ForwarderStats {
  sent: number;
  confirmed: number;
  retries: number;
  redelivered: number;
  deadLettered: number;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
}

export interface ForwarderOptions {
  readonly bridge: string;
  readonly outbox: Outbox;
  readonly inflight: number;
  /** An event unconfirmed this long after it was sent fails the link (ms). */
  readonly confirmTimeoutMs: number;
  readonly retry: BackoffSettings;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly onError?: (message: string) => void;
}

/** Rows read from SQLite at a time: one query serves many sends. */
const READ_AHEAD = 512;

export class Forwarder {
  readonly stats: ForwarderStats = {
    sent: 0,
    confirmed: 0,
    retries: 0,
    redelivered: 0,
    deadLettered: 0,
    lastError: undefined,
    lastErrorAt: undefined,
  };
  readonly #o: ForwarderOptions;
  #sink: Sink | undefined;
  /** Id of the last row handed to the sink (rows after it are read next). */
  #cursor = 0;
  #buffer: OutboxEntry[] = [];
  /** Rows sent and not yet answered, oldest first (a Map keeps insertion order), with when they were sent. */
  readonly #inflight = new Map<number, { entry: OutboxEntry; at: number }>();
  /** Checks the oldest unanswered row against confirmTimeoutMs while any is in flight. */
  #deadline: NodeJS.Timeout | undefined;
  /**
   * Confirmed rows whose deletion is not on disk yet, with the outbox's commit count when they
   * were confirmed. They still hold their place in the window: so after a crash at most
   * `inflight` rows can be sent twice.
   */
  readonly #settling = new Map<number, number>();
  /** The outbox's commit count when #settling was last pruned (pruning once per commit, not per pump). */
  #seenCommits = -1;
  /** Bumped at each failure: answers for sends of an earlier generation only confirm. */
  #generation = 0;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Ids that may have reached the remote side before (a failure, or a restart): resent, they count as redelivered. */
  #maybeSentUpTo = 0;
  #stopped = false;

  constructor(options: ForwarderOptions) {
    this.#o = options;
    // After a restart the first `inflight` rows may have been sent already and not confirmed.
    const head = options.outbox.next(options.bridge, 0, options.inflight);
    this.#maybeSentUpTo = head.at(-1)?.id ?? 0;
  }

  attach(sink: Sink): void {
    this.#sink = sink;
    this.pump();
  }

  get inflight(): number {
    return this.#inflight.size + this.#settling.size;
  }

  get waiting(): boolean {
    return this.#retryTimer !== undefined;
  }

  /** Sends what the window allows; called when rows are committed, confirmed, or the sink comes up. */
  pump(): void {
    const sink = this.#sink;
    const commits = this.#o.outbox.commits;
    if (commits !== this.#seenCommits) {
      this.#seenCommits = commits;
      for (const [id, at] of this.#settling) if (commits > at) this.#settling.delete(id);
    }
    if (sink === undefined || this.#stopped || this.#retryTimer !== undefined || !sink.ready) return;
    while (this.#inflight.size + this.#settling.size < this.#o.inflight) {
      if (this.#buffer.length === 0) {
        this.#buffer = this.#o.outbox.next(this.#o.bridge, this.#cursor, READ_AHEAD);
        if (this.#buffer.length === 0) return;
      }
      const entry = this.#buffer.shift()!;
      this.#cursor = entry.id;
      this.#inflight.set(entry.id, { entry, at: this.#now() });
      this.#watch();
      this.stats.sent++;
      if (entry.id <= this.#maybeSentUpTo) this.stats.redelivered++;
      const generation = this.#generation;
      sink.send(entry).then(
        () => this.#confirmed(entry, generation),
        (err: unknown) => this.#failed(entry, generation, err),
      );
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** Arms the deadline of the oldest unanswered row (one timer per bridge, not per event). */
  #watch(): void {
    if (this.#deadline !== undefined || this.#stopped) return;
    const oldest = this.#inflight.values().next().value;
    if (oldest === undefined) return;
    const timeout = this.#o.confirmTimeoutMs;
    this.#deadline = setTimeout(
      () => {
        this.#deadline = undefined;
        const first = this.#inflight.values().next().value;
        if (first === undefined) return;
        if (this.#now() - first.at >= timeout)
          this.#failed(
            first.entry,
            this.#generation,
            new Error(`no confirmation of event ${first.entry.id} within ${timeout} ms`),
          );
        else this.#watch();
      },
      Math.max(1, oldest.at + timeout - this.#now()),
    );
    this.#deadline.unref?.();
  }

  #confirmed(entry: OutboxEntry, generation: number): void {
    this.#o.outbox.confirm(entry.id);
    this.stats.confirmed++;
    if (generation !== this.#generation) return;
    this.#inflight.delete(entry.id);
    this.#settling.set(entry.id, this.#o.outbox.commits);
    this.#failures = 0;
    this.pump();
  }

  #failed(entry: OutboxEntry, generation: number, err: unknown): void {
    if (generation !== this.#generation) return;
    const message = errorText(err);
    this.stats.lastError = message;
    this.stats.lastErrorAt = this.#now();
    if (err instanceof PermanentRefusal) {
      this.#inflight.delete(entry.id);
      this.#o.outbox.bury(entry.id, message);
      this.stats.deadLettered++;
      this.#o.onError?.(`event ${entry.id} refused for good, kept as a dead letter: ${message}`);
      this.pump();
      return;
    }
    // Everything from the oldest unconfirmed row goes again, in order, after the delay.
    this.#generation++;
    this.#failures++;
    this.stats.retries++;
    const oldest = Math.min(...this.#inflight.keys());
    this.#maybeSentUpTo = Math.max(this.#maybeSentUpTo, ...this.#inflight.keys());
    this.#inflight.clear();
    this.#buffer = [];
    this.#cursor = oldest - 1;
    this.#sink?.reset(message);
    const delay = backoffDelay(this.#failures, this.#o.retry, this.#o.random ?? Math.random);
    this.#o.onError?.(`${message}; retrying in ${delay} ms`);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.pump();
    }, delay);
    this.#retryTimer.unref?.();
  }
}
