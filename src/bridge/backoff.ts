// Retry delays: doubled per consecutive failure up to a ceiling, each with +-50% jitter so that
// many edges cut off together do not all come back in the same second.

export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The delay before retry number `failures` (1 for the first retry). */
export function backoffDelay(failures: number, settings: BackoffSettings, random: () => number): number {
  const base = Math.min(settings.maxMs, settings.initialMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(base * (0.5 + random()));
}

/** One link's reconnection: after each failure a new attempt once the (growing) delay has passed. */
export class Redial {
  readonly #settings: BackoffSettings;
  readonly #dial: () => void;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(settings: BackoffSettings, dial: () => void) {
    this.#settings = settings;
    this.#dial = dial;
  }

  /** The link is up: the next failure waits the shortest delay again. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** The link failed: dial again later (unless stopped). */
  failed(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#failures++;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#dial();
      },
      backoffDelay(this.#failures, this.#settings, Math.random),
    );
    this.#timer.unref?.();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  get stopped(): boolean {
    return this.#stopped;
  }
}
