// Limits for connections that have not logged in yet. A stranger's HELLO or AUTHENTICATE is
// small, so before WELCOME a transport accepts only small frames (preAuthMaxMessageSize) and,
// across all such connections of the router together, buffers at most a fixed number of bytes
// of unfinished frames (this budget). Without both, a few hundred connections that each send
// most of a maximal first frame and stall make the router hold gigabytes for nobody.

import { silentLogger, type Logger } from '../log.ts';
import { clientDefaults } from '../net/client-limits.ts';

// A refusal can be caused over and over by a flood; one line per interval says it is happening.
const LOG_INTERVAL_MS = 10_000;

export class PreAuthBudget {
  readonly limitBytes: number;
  /** Bytes currently reserved by unfinished frames of not-yet-welcomed connections. */
  used = 0;
  /** Frames refused since start because the budget was spent. */
  refused = 0;
  readonly #log: Logger;
  #loggedAt = -Infinity;
  #unlogged = 0;

  constructor(options: { limitBytes?: number; logger?: Logger } = {}) {
    this.limitBytes = options.limitBytes ?? clientDefaults.preAuthBufferBytes;
    this.#log = options.logger ?? silentLogger;
  }

  /** Claims `bytes` for an unfinished frame; false (counted, logged now and then) when spent. */
  reserve(bytes: number, peer: string): boolean {
    if (this.used + bytes <= this.limitBytes) {
      this.used += bytes;
      return true;
    }
    this.refused++;
    const now = performance.now();
    if (now - this.#loggedAt < LOG_INTERVAL_MS) {
      this.#unlogged++;
    } else {
      this.#log.warn(
        {
          peer,
          frame: bytes,
          used: this.used,
          budget: this.limitBytes,
          refused: this.refused,
          since_last_line: this.#unlogged,
        },
        'pre-authentication buffer budget spent: refusing a partial frame from a connection that has not logged in',
      );
      this.#loggedAt = now;
      this.#unlogged = 0;
    }
    return false;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
