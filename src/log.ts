// Structured logging: one JSON object per line on stderr, which journald (and any log shipper)
// takes as it is. Quiet by default (level "warn") because an edge appliance's disk and journal
// are small and a healthy router has nothing to say.
//
// pino writes through a synchronous destination on fd 2 rather than a worker-thread transport:
// the process will be bundled into a single executable, where transports (which load a file by
// name into a worker) don't work, and synchronous writes mean the last lines before a crash or
// an exit are not lost.

import { pino } from 'pino';

export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The subset of pino's API the rest of the code uses, so any logger (or none) can stand in. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

// Keys whose values are never written, at the top level and one level down (pino's redact
// wildcards match exactly one level). Covers WAMP-CRA/ticket/SCRAM material in HELLO details,
// AUTHENTICATE signatures and anything config-shaped passed in by mistake.
const SECRET_KEYS = ['password', 'secret', 'ticket', 'signature', 'token', 'privateKey', 'authorization'];
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`]);

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; defaults to a synchronous writer on fd 2. Tests pass a collector. */
  destination?: { write(line: string): void };
}

export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      // journald stamps pid and host itself; keep lines short.
      base: undefined,
      // Level names, not pino's numbers, so `journalctl | grep '"level":"error"'` just works.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

function noop(): void {}

/** Discards everything without formatting it: for tests and library use. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** A thrown value's message (anything may be thrown, not only an Error). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a log line says about a thrown value: its message, and its stack when it has one. */
export function errorFields(err: unknown): { err: string; stack: string | undefined } {
  return { err: errorText(err), stack: (err as Error | undefined)?.stack };
}
