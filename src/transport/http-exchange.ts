// The asynchronous side of both HTTP servers (node:http and uWebSockets.js): routes that read a
// request body and answer later, once or as a stream (the HTTP gateway, OAuth2). The server
// reads the body under the limits the route names, so no route ever holds an unbounded body,
// and tells the route when the client goes away so it can cancel what it started.

/** An answer to a plain HTTP request, computed synchronously (both HTTP servers take these). */
export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/** method: upper or lower case; path without the query; query without "?". */
export type HttpHandler = (method: string, path: string, query: string) => HttpReply;

/** What is known of a request before its body: enough for a route to decide whether it is its own. */
export interface HttpHead {
  /** Upper case. */
  readonly method: string;
  /** Without the query, not decoded. */
  readonly path: string;
  /** Without "?", not decoded. */
  readonly query: string;
  /** Names in lower case; a repeated header is joined with ", " (RFC 9110 §5.3). */
  readonly headers: Readonly<Record<string, string>>;
  /** The client's IP as text ("127.0.0.1", "::1"); security/address.ts parsePeer() reads it. */
  readonly remote: string;
  /** True when the client is on loopback. */
  readonly local: boolean;
}

export interface HttpRequest extends HttpHead {
  /** The whole body (empty when none was sent), read under the route's BodyLimits. */
  readonly body: Buffer;
}

export interface BodyLimits {
  /** Larger bodies are refused (route.refuse('body_too_large')) without reading them. */
  readonly maxBytes: number;
  /** From the head to the last body byte; slower bodies are refused (route.refuse('body_timeout')). */
  readonly readTimeoutMs: number;
}

/** Why the server answered for the route without calling handle(). */
export type HttpRefusal = 'body_too_large' | 'body_timeout';

/** Where a streamed answer (NDJSON, text/event-stream) goes. */
export interface HttpStreamSink {
  /** Queues a chunk; false when the client is not keeping up (the bytes are still queued). */
  write(chunk: string | Uint8Array): boolean;
  /** Ends the response. Idempotent. */
  end(): void;
  /** Cuts the connection without ending the response (a client that does not read). Idempotent. */
  destroy(): void;
  /** Bytes queued and not yet taken by the client's connection (an upper bound). */
  bufferedAmount(): number;
}

export interface HttpStreamReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Called once the status and headers are out; write to `sink` from here on, until end(). */
  stream(sink: HttpStreamSink): void;
}

export type HttpAnswer = HttpReply | HttpStreamReply;

export function isStreamReply(a: HttpAnswer): a is HttpStreamReply {
  return 'stream' in a;
}

/**
 * An answer still to come, lighter than a promise: one object per request and no microtask
 * between the event that settles it and the answer (the gateway's calls). It calls `onAnswer`
 * once, at once when it has its answer already, and takes one `onAnswer` only. It may answer
 * while the router routes the callee's message: it must not let a throw from `onAnswer` reach
 * its caller.
 */
export interface PendingAnswer {
  whenAnswered(onAnswer: (a: HttpAnswer) => void): void;
}

/**
 * Tells a route that its client went away: the part of AbortSignal routes use (an AbortSignal
 * is one), so the servers can pass a ClientGone, lighter than an AbortController per request.
 * As with an AbortSignal, a listener added after the abort is never called: read `aborted`.
 */
export interface ClientSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The servers' ClientSignal: one object per request, its listeners (most often one) in place. */
export class ClientGone implements ClientSignal {
  aborted = false;
  // Most requests have one listener at most (the gateway's call): it needs no array.
  #first: (() => void) | undefined;
  #more: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    if (this.#first === undefined) this.#first = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#first === listener) {
      this.#first = this.#more?.shift();
      return;
    }
    const i = this.#more?.indexOf(listener) ?? -1;
    if (i >= 0) this.#more!.splice(i, 1);
  }

  /** The client went away: every listener runs once, in the order added. Idempotent. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.#first === undefined ? [] : [this.#first, ...(this.#more ?? [])];
    this.#first = undefined;
    this.#more = undefined;
    for (const fn of listeners) {
      try {
        fn();
      } catch (error) {
        // As from an EventTarget: reported as uncaught, and the other listeners still run.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * A route mounted on an HTTP listener (by the HTTP service it belongs to). Asked before the
 * listener's synchronous routes; a route that declines (undefined from match) leaves the
 * request to them.
 */
export interface HttpRoute {
  /** The body limits to read this request under, or undefined when the request is not this route's. */
  match(head: HttpHead): BodyLimits | undefined;
  /**
   * Answers the request, now or later. `signal` aborts when the client goes away (before or
   * while the answer streams): cancel whatever was started for it. A throw or a rejected
   * promise answers 500.
   */
  handle(request: HttpRequest, signal: ClientSignal): HttpAnswer | Promise<HttpAnswer> | PendingAnswer;
  /** The answer when the body broke the limits (the connection is closed after it). */
  refuse(why: HttpRefusal, head: HttpHead): HttpReply;
}

/**
 * A request body gathered under its size limit: both servers feed it the chunks they read
 * (copies: uWS reuses its buffers), and stop at the first that takes it over.
 */
export class BodyCollector {
  readonly #max: number;
  // Most bodies come in one chunk: it needs no array.
  #first: Buffer | undefined;
  #more: Buffer[] | undefined;
  #size = 0;

  constructor(limits: BodyLimits) {
    this.#max = limits.maxBytes;
  }

  /** Whether the head already announces a body over the limit (then nothing is read). */
  static declaredTooLarge(head: HttpHead, limits: BodyLimits): boolean {
    return Number(head.headers['content-length'] ?? '0') > limits.maxBytes;
  }

  /** Adds a chunk it may keep; false when the body is now over the limit. */
  add(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (this.#size > this.#max) return false;
    if (chunk.length === 0) return true;
    if (this.#first === undefined) this.#first = chunk;
    else (this.#more ??= [this.#first]).push(chunk);
    return true;
  }

  body(): Buffer {
    if (this.#more !== undefined) return Buffer.concat(this.#more);
    return this.#first ?? Buffer.alloc(0);
  }
}

/** A response to a request nobody could answer (a route threw). */
export const INTERNAL_ERROR: HttpReply = {
  status: 500,
  headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  body: 'internal error\n',
};

/**
 * Runs route.handle and gives its answer to `reply` (at once when the route answered at once),
 * a throw or rejection as a 500 so the client always gets an answer.
 */
export function answer(
  route: HttpRoute,
  request: HttpRequest,
  signal: ClientSignal,
  reply: (a: HttpAnswer) => void,
): void {
  let result: HttpAnswer | Promise<HttpAnswer> | PendingAnswer;
  try {
    result = route.handle(request, signal);
  } catch {
    result = INTERNAL_ERROR;
  }
  // One reaction for both outcomes: no intermediate promise per request.
  if (result instanceof Promise) result.then(reply, () => reply(INTERNAL_ERROR));
  else if ('whenAnswered' in result) result.whenAnswered(reply);
  else reply(result);
}
