// The console's "recent errors": the last warnings and errors the router logged (mesh links
// refused or dropped, limits refusing requests, slow consumers closed, ...) and failed logins,
// kept in a bounded ring whatever the log level, so an administrator sees them in the console
// (wampmesh.console.snapshot) without reading the journal. Failed logins are logged at info (a
// stranger can cause them at will, the journal must not fill with them) yet are what an
// administrator looks for first, so they are kept too.

import { type Logger, REDACT_PATHS } from '../log.ts';
import { ErrorUri } from '../wamp/uris.ts';

/** Entries kept; the oldest goes first. */
export const RECENT_LOG_ENTRIES = 100;
/** Fields kept per entry, and characters per field value and message: an entry stays small. */
const MAX_FIELDS = 12;
const MAX_TEXT = 300;
const SECRET_KEYS = new Set(REDACT_PATHS.filter((p) => !p.includes('.')));

export interface RecentEntry {
  /** Milliseconds since the Unix epoch. */
  readonly at: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  /** The line's fields as text, numbers or booleans (nested values as JSON, cut short). */
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

export class RecentLog {
  readonly #max: number;
  readonly #now: () => number;
  #entries: RecentEntry[] = [];
  /** Entries ever kept, including those the ring has let go. */
  total = 0;

  constructor(options: { max?: number; now?: () => number } = {}) {
    this.#max = options.max ?? RECENT_LOG_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  /** Oldest first. */
  entries(): RecentEntry[] {
    return [...this.#entries];
  }

  /** A logger that writes to `logger` and keeps what this ring keeps. */
  wrap(logger: Logger, bindings: object = {}): Logger {
    return {
      debug: (obj, msg) => logger.debug(obj, msg),
      info: (obj, msg) => {
        if ((obj as { reason?: unknown }).reason === ErrorUri.AUTHENTICATION_FAILED)
          this.#keep('info', bindings, obj, msg);
        logger.info(obj, msg);
      },
      warn: (obj, msg) => {
        this.#keep('warn', bindings, obj, msg);
        logger.warn(obj, msg);
      },
      error: (obj, msg) => {
        this.#keep('error', bindings, obj, msg);
        logger.error(obj, msg);
      },
      child: (more) => this.wrap(logger.child(more), { ...bindings, ...more }),
    };
  }

  #keep(level: RecentEntry['level'], bindings: object, obj: object, msg: string | undefined): void {
    const fields: Record<string, string | number | boolean> = {};
    let n = 0;
    for (const [key, value] of [...Object.entries(bindings), ...Object.entries(obj)]) {
      if (n >= MAX_FIELDS) break;
      if (value === undefined) continue;
      n++;
      if (SECRET_KEYS.has(key)) fields[key] = '[redacted]';
      else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
      else if (typeof value === 'string') fields[key] = value.slice(0, MAX_TEXT);
      else if (value instanceof Error) fields[key] = value.message.slice(0, MAX_TEXT);
      else fields[key] = jsonText(value);
    }
    this.#entries.push({ at: this.#now(), level, msg: (msg ?? '').slice(0, MAX_TEXT), fields });
    if (this.#entries.length > this.#max) this.#entries.shift();
    this.total++;
  }
}

function jsonText(value: unknown): string {
  try {
    const text = JSON.stringify(value, (key, v: unknown) => (SECRET_KEYS.has(key) ? '[redacted]' : v));
    return (text ?? String(value)).slice(0, MAX_TEXT);
  } catch {
    return '[unprintable]';
  }
}
