// Heartbeats and liveness of the links (links/links.ts): on every tick, a link silent for longer
// than deadAfterMs is closed ('dead'), and one due a heartbeat is pinged.

import type { Logger } from '../../log.ts';
import type { LinkConnection } from './connection.ts';

export class Heartbeat {
  readonly #intervalMs: number;
  readonly #deadAfterMs: number;
  readonly #tickMs: number;
  readonly #log: Logger;
  readonly #links: () => Iterable<LinkConnection>;
  #ticker: NodeJS.Timeout | undefined;
  #lastTick = 0;
  #skippedLast = false;

  constructor(options: {
    heartbeatIntervalMs: number;
    deadAfterMs: number;
    log: Logger;
    links: () => Iterable<LinkConnection>;
  }) {
    this.#intervalMs = options.heartbeatIntervalMs;
    this.#deadAfterMs = options.deadAfterMs;
    this.#log = options.log;
    this.#links = options.links;
    // Often enough that death is noticed within a fraction of a heartbeat of the deadline.
    this.#tickMs = Math.min(250, Math.max(10, Math.floor(this.#intervalMs / 4)));
  }

  start(): void {
    this.#lastTick = performance.now();
    this.#ticker = setInterval(() => this.#tick(), this.#tickMs);
    this.#ticker.unref();
  }

  stop(): void {
    clearInterval(this.#ticker);
  }

  #tick(): void {
    const now = performance.now();
    // If this process itself stalled (a busy loop, swapping), the peers' frames are sitting
    // unread in the socket buffers: judge nobody until they have been read.
    // Once only: a process that is always late must still notice dead peers.
    const late = now - this.#lastTick - this.#tickMs;
    this.#lastTick = now;
    const stalled = late > Math.max(2 * this.#tickMs, 100) && !this.#skippedLast;
    this.#skippedLast = stalled;
    if (stalled)
      this.#log.info(
        { lateMs: Math.round(late) },
        'mesh links: this process was stalled; liveness checks deferred one tick',
      );
    for (const conn of [...this.#links()]) {
      const silent = now - conn.lastReceived;
      if (!stalled && silent > this.#deadAfterMs) {
        conn.close('dead', `nothing received for ${Math.round(silent)} ms (deadAfterMs ${this.#deadAfterMs})`, {
          destroy: true,
        });
        continue;
      }
      if (now - conn.lastPingSent >= this.#intervalMs) conn.ping(now);
    }
  }
}
