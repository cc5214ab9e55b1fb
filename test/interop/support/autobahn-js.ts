// Autobahn|JS (npm `autobahn`, untyped CommonJS) behind a small typed surface: only what the
// interop tests use, typed from reading node_modules/autobahn/lib (26.3.1).

import { createRequire } from 'node:module';

export type Kwargs = Record<string, unknown>;

export interface AbSerializer {
  readonly SERIALIZER_ID: string;
  readonly BINARY: boolean;
}

/** autobahn.Result: what a callee returns for several results or keyword results. */
export interface AbResult {
  args: unknown[];
  kwargs: Kwargs;
}
/** autobahn.Error: thrown by a callee to send ERROR; rejected with on the caller. */
export interface AbError {
  error: string;
  args: unknown[];
  kwargs: Kwargs;
}
export interface AbRegistration {
  id: number;
  procedure: string;
}
export interface AbSubscription {
  id: number;
  topic: string;
}
export interface AbPublication {
  id: number;
}
export interface AbEventDetails {
  publication: number;
  topic: string;
}

/** A callee endpoint's third argument (lib/session.js `Invocation`). */
export interface AbInvocation {
  readonly procedure: string;
  /** Sends a progressive result (YIELD with progress: true); null unless the INVOCATION had receive_progress. */
  readonly progress: ((args?: unknown[], kwargs?: Kwargs) => void) | null;
}

export type AbEndpoint = (args: unknown[], kwargs: Kwargs, details: AbInvocation) => unknown;

export type AbCancelMode = 'skip' | 'kill' | 'killnowait';

/**
 * What session.call returns: a when.js promise (the library's default deferred when the
 * optional `when` package is installed, as npm does) with cancel(). Progressive results go to
 * `onProgress` below.
 */
export interface AbCall extends Promise<unknown> {
  /**
   * Sends CANCEL. In modes other than 'kill' the library rejects at once with a plain
   * Error('Cancelled') and forgets the call (see test/interop/README.md).
   */
  cancel(options?: { mode?: AbCancelMode }): void;
}
export type AbHandler = (args: unknown[], kwargs: Kwargs, details: AbEventDetails) => void;

export interface AbSession {
  readonly id: number | null;
  readonly isOpen: boolean;
  call(procedure: string, args?: unknown[], kwargs?: Kwargs, options?: Kwargs): AbCall;
  /** Returns a promise only when options.acknowledge is true. */
  publish(topic: string, args?: unknown[], kwargs?: Kwargs, options?: Kwargs): Promise<AbPublication> | undefined;
  subscribe(topic: string, handler: AbHandler, options?: Kwargs): Promise<AbSubscription>;
  unsubscribe(subscription: AbSubscription): Promise<unknown>;
  register(procedure: string, endpoint: AbEndpoint, options?: Kwargs): Promise<AbRegistration>;
  unregister(registration: AbRegistration): Promise<unknown>;
}

export interface AbCloseDetails {
  reason: string | null;
  message: string | null;
  will_retry: boolean;
}

export interface AbTransportOptions {
  type: 'websocket' | 'rawsocket';
  url?: string;
  host?: string;
  port?: number;
  serializers?: AbSerializer[];
}

export interface AbConnectionOptions {
  realm: string;
  transports: AbTransportOptions[];
  max_retries?: number;
  retry_if_unreachable?: boolean;
  on_user_error?: (error: unknown, message?: string) => void;
  on_internal_error?: (error: unknown, message?: string) => void;
}

export interface AbConnection {
  onopen: ((session: AbSession, details: Kwargs) => void) | null;
  /** Return true to stop the library's automatic reconnection. */
  onclose: ((reason: string, details: AbCloseDetails) => boolean) | null;
  open(): void;
  close(reason?: string, message?: string): void;
}

export interface AutobahnModule {
  version: string;
  Connection: new (options: AbConnectionOptions) => AbConnection;
  Result: new (args?: unknown[], kwargs?: Kwargs) => AbResult;
  Error: new (error: string, args?: unknown[], kwargs?: Kwargs) => AbError;
  serializer: {
    JSONSerializer: new (
      replacer?: (this: unknown, key: string, value: unknown) => unknown,
      reviver?: (this: unknown, key: string, value: unknown) => unknown,
    ) => AbSerializer;
    MsgpackSerializer: new () => AbSerializer;
    CBORSerializer: new () => AbSerializer;
  };
  log: { warn: (...args: unknown[]) => void; debug: (...args: unknown[]) => void };
}

// createRequire rather than `import`: the package has no types, and a typed require keeps
// `any` out of the tests without an ambient module declaration.
export const autobahn = createRequire(import.meta.url)('autobahn') as AutobahnModule;

// The library warns on every close ("connection closed", "auto-reconnect disabled!"), which
// would bury ava's output. Drop those two and keep the rest for the diagnostics of failing
// tests instead of printing them.
const ROUTINE_WARNINGS = new Set(['connection closed', 'auto-reconnect disabled!']);
const warnings: string[] = [];
autobahn.log.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && ROUTINE_WARNINGS.has(args[0])) return;
  warnings.push(args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' '));
  if (warnings.length > 500) warnings.splice(0, warnings.length - 500);
};

export function recentLibraryWarnings(count = 30): string[] {
  return warnings.slice(-count);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

interface WhenPromise {
  then(onFulfilled: undefined, onRejected: (error: unknown) => void, onProgress: (value: unknown) => void): unknown;
}

/**
 * Hands each progressive result of `call` to `handler`: the library passes them to its
 * deferred's notify(), which when.js reports to then()'s third callback. Results come as the
 * final one does: a bare value for one positional result, an autobahn.Result otherwise. The
 * rejection callback keeps this side branch from reporting a failed call as unhandled; the
 * test awaits `call` itself.
 */
export function onProgress(call: AbCall, handler: (value: unknown) => void): void {
  (call as unknown as WhenPromise).then(undefined, () => {}, handler);
}

export function isAbError(value: unknown): value is AbError {
  return value instanceof autobahn.Error;
}

export function isAbResult(value: unknown): value is AbResult {
  return value instanceof autobahn.Result;
}

// WAMP's JSON serialization carries a byte string as a JSON string holding NUL + base64.
// Autobahn|JS's JSONSerializer does not do this by itself but takes a replacer and a reviver;
// these two are what an application wanting binary over JSON would pass.
function wampJsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // `value` has already been through toJSON (a Buffer arrives as {type, data}); the holder
  // still has the original.
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array) {
    return '\0' + Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  }
  return value;
}

function wampJsonReviver(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith('\0')) {
    return Buffer.from(value.slice(1), 'base64');
  }
  return value;
}

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export function makeSerializer(name: SerializerName): AbSerializer {
  switch (name) {
    case 'json':
      return new autobahn.serializer.JSONSerializer(wampJsonReplacer, wampJsonReviver);
    case 'msgpack':
      return new autobahn.serializer.MsgpackSerializer();
    case 'cbor':
      return new autobahn.serializer.CBORSerializer();
  }
}

export interface OpenSession {
  readonly session: AbSession;
  readonly label: string;
  /** Settles when the transport closes, with the reason of the router's GOODBYE/ABORT if any. */
  readonly closed: Promise<{ reason: string; details: AbCloseDetails }>;
  /** Protocol violations and other internal errors the library reported for this session. */
  readonly internalErrors: string[];
  close(): Promise<void>;
}

const OPEN_TIMEOUT_MS = 10_000;

/** Opens one session; rejects with the router's ABORT reason or the close reason. */
export function openSession(transport: AbTransportOptions, label: string, realm = 'realm1'): Promise<OpenSession> {
  return new Promise((resolve, reject) => {
    const internalErrors: string[] = [];
    let resolveClosed!: (value: { reason: string; details: AbCloseDetails }) => void;
    const closed = new Promise<{ reason: string; details: AbCloseDetails }>((r) => {
      resolveClosed = r;
    });
    const connection = new autobahn.Connection({
      realm,
      transports: [transport],
      // A test wants to see the first failure, not a reconnection loop that hides it.
      max_retries: 0,
      retry_if_unreachable: false,
      // Callees in these tests throw autobahn.Error on purpose; the library would console.error it.
      on_user_error: () => {},
      on_internal_error: (error, message) => {
        internalErrors.push(`${message ?? ''} ${String(error)}`.trim());
      },
    });
    const timer = setTimeout(() => {
      reject(new Error(`${label}: no WELCOME within ${OPEN_TIMEOUT_MS} ms; ${internalErrors.join('; ')}`));
      try {
        connection.close();
      } catch {
        /* already closed */
      }
    }, OPEN_TIMEOUT_MS);
    connection.onclose = (reason, details) => {
      clearTimeout(timer);
      resolveClosed({ reason, details });
      reject(
        new Error(
          `${label}: connection ${reason} before WELCOME (${details.reason ?? ''} ${details.message ?? ''}); ` +
            `internal errors: ${internalErrors.join('; ') || 'none'}`,
        ),
      );
      return true;
    };
    connection.onopen = (session) => {
      clearTimeout(timer);
      resolve({
        session,
        label,
        closed,
        internalErrors,
        async close() {
          if (session.isOpen) connection.close();
          await Promise.race([closed, new Promise((r) => setTimeout(r, 3_000))]);
        },
      });
    };
    connection.open();
  });
}

/**
 * Awaits one operation, failing fast (with the reason) if any involved session closes
 * meanwhile, and failing after `timeoutMs` rather than leaving the test to ava's timeout.
 */
export async function guarded<T>(
  sessions: OpenSession[],
  operation: Promise<T> | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  if (operation === undefined) throw new Error(`${what}: the library returned no promise`);
  let timer: NodeJS.Timeout | undefined;
  const failures = sessions.map((s) =>
    s.closed.then(({ reason, details }) => {
      throw new Error(
        `${what}: session ${s.label} closed (${reason}; ${details.reason ?? ''} ${details.message ?? ''}); ` +
          `internal errors: ${s.internalErrors.join('; ') || 'none'}`,
      );
    }),
  );
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([operation, ...failures, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls with a deadline: events arrive some time after PUBLISHED. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * First difference between an expected and a received payload, or undefined. Byte strings
 * compare by content whatever their class (msgpack5 yields Buffer, cbor Uint8Array).
 */
export function mismatch(expected: unknown, actual: unknown, path = '$'): string | undefined {
  // The router sends ±2^53 (the largest WAMP ID) as a CBOR integer, as the spec and Autobahn|Python
  // require; the node 'cbor' library inside Autobahn|JS decodes integers beyond 2^53-1 as BigInt.
  if (typeof expected === 'number' && Math.abs(expected) === 2 ** 53 && typeof actual === 'bigint') {
    return actual === BigInt(expected) ? undefined : `${path}: expected ${expected}, got bigint ${actual}`;
  }
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array)) return `${path}: expected ${expected.length} bytes, got ${describe(actual)}`;
    if (expected.length !== actual.length) return `${path}: expected ${expected.length} bytes, got ${actual.length}`;
    const at = expected.findIndex((byte, i) => byte !== actual[i]);
    return at < 0 ? undefined : `${path}: bytes differ first at index ${at}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected array, got ${describe(actual)}`;
    if (expected.length !== actual.length) return `${path}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const problem = mismatch(expected[i], actual[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual) || actual instanceof Uint8Array) {
      return `${path}: expected object, got ${describe(actual)}`;
    }
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const missing = Object.keys(e).filter((k) => !(k in a));
    const extra = Object.keys(a).filter((k) => !(k in e));
    if (missing.length || extra.length)
      return `${path}: keys differ: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`;
    for (const key of Object.keys(e)) {
      const problem = mismatch(e[key], a[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (
    typeof expected === 'string' &&
    typeof actual === 'string' &&
    expected.length === actual.length &&
    expected !== actual
  ) {
    let at = 0;
    while (expected.charCodeAt(at) === actual.charCodeAt(at)) at++;
    return `${path}: strings differ first at UTF-16 index ${at}`;
  }
  return Object.is(expected, actual) ? undefined : `${path}: expected ${describe(expected)}, got ${describe(actual)}`;
}

function describe(value: unknown): string {
  const text =
    value instanceof Uint8Array
      ? `<${value.length} bytes>`
      : typeof value === 'string'
        ? JSON.stringify(value)
        : safeJson(value);
  const shown = text.length > 120 ? `${text.slice(0, 120)}…(${text.length} chars)` : text;
  return `${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value} ${shown}`;
}
