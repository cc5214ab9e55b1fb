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
