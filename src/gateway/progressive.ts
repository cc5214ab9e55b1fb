// A call route with `progress: true` asked for as a stream (Accept: application/x-ndjson or
// text/event-stream): each progressive result is a line of JSON, the last line the final result
// or the error. The lines are written while the router routes the callee's YIELD, so nothing
// here may throw into it (the callee would be ABORTed for it), nor out of the final result's
// promise reaction (an unhandled rejection ends the process). A value no line can hold ends the
// stream with an error line and cancels the call; a client that does not read is cut off past
// the same limit as an event stream (sse.ts), and its call cancelled.

import type { HttpAnswer, HttpStreamSink } from '../transport/http-exchange.ts';
import { jsonText } from '../serializers/index.ts';
import type { CallHandle, ClientSession, Payload } from './client.ts';
import { unencodable } from './reply.ts';
import type { RequestScope } from './scope.ts';
import type { CallRoute } from './spec.ts';

export interface ProgressiveCall {
  readonly uri: string;
  readonly args: unknown[] | undefined;
  readonly kwargs: Record<string, unknown> | undefined;
}

/** Streams the call's results; calls `done` once, when the stream is over or its client gone. */
export function progressive(
  scope: RequestScope,
  route: CallRoute,
  session: ClientSession,
  p: ProgressiveCall,
  timeoutMs: number,
  kind: 'ndjson' | 'sse',
  maxBufferedBytes: number,
  done: () => void,
): HttpAnswer {
  // The slot is free once the call is over or the client is gone, whichever comes first (a
  // client gone before the stream started never gets stream() called).
  let freed = false;
  const free = (): void => {
    if (freed) return;
    freed = true;
    done();
  };
  scope.signal.addEventListener('abort', free);
  return {
    status: 200,
    headers: {
      'Content-Type': kind === 'ndjson' ? 'application/x-ndjson' : 'text/event-stream',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      ...scope.cors,
    },
    stream(sink) {
      new ResultStream(sink, kind, maxBufferedBytes, free).start(scope, route, session, p, timeoutMs);
    },
  };
}

/** One streamed call: its lines, its end (once), its timer and its cancel. */
class ResultStream {
  readonly #sink: HttpStreamSink;
  readonly #kind: 'ndjson' | 'sse';
  readonly #max: number;
  readonly #free: () => void;
  #call: CallHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #over = false;

  constructor(sink: HttpStreamSink, kind: 'ndjson' | 'sse', max: number, free: () => void) {
    this.#sink = sink;
    this.#kind = kind;
    this.#max = max;
    this.#free = free;
  }

  start(scope: RequestScope, route: CallRoute, session: ClientSession, p: ProgressiveCall, timeoutMs: number): void {
    const onAbort = (): void => this.#call?.cancel();
    const call = session.call(p.uri, p.args, p.kwargs, route.options, (chunk) => {
      if (this.#over) return;
      try {
        this.#write({ progress: true, ...resultFields(route, chunk) });
      } catch {
        // Anything else that throws here would reach the router's dispatch of the callee's
        // YIELD (and ABORT the callee): this client's stream is cut instead.
        this.#end(true, true);
      }
    });
    this.#call = call;
    this.#timer = setTimeout(() => call.cancel(), timeoutMs);
    scope.signal.addEventListener('abort', onAbort);
    void call.result
      .then((o) => {
        clearTimeout(this.#timer);
        scope.signal.removeEventListener('abort', onAbort);
        if (this.#over) return;
        const last = o.ok ? resultFields(route, o) : { error: o.error, args: o.args, kwargs: o.kwargs };
        if (this.#write(last)) this.#end(false, false);
      })
      // Whatever else goes wrong, this client's stream is cut: never an unhandled rejection.
      .catch(() => this.#end(true, false));
  }

  /**
   * Writes one line; false when the stream ended instead: the value could not be written (the
   * client gets an error line) or the client is more than the limit behind (cut off).
   */
  #write(value: unknown): boolean {
    let text: string;
    try {
      text = jsonText(value);
    } catch (error) {
      // A valid WAMP value JSON.stringify cannot write (nesting deeper than its stack).
      const failure = unencodable('the answer cannot be written as JSON', error, {});
      this.#sink.write(this.#line(jsonText(failure)));
      this.#end(false, true);
      return false;
    }
    this.#sink.write(this.#line(text));
    if (this.#sink.bufferedAmount() <= this.#max) return true;
    this.#end(true, true);
    return false;
  }

  #line(text: string): string {
    return this.#kind === 'ndjson' ? `${text}\n` : `data: ${text}\n\n`;
  }

  /** The stream is over: ended, or cut off when `cut`; the call cancelled when `cancel` (still under way). */
  #end(cut: boolean, cancel: boolean): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#timer);
    this.#free();
    const sink = this.#sink;
    // Not from here: this runs inside the router's dispatch of the callee's message, and
    // ending the response or cancelling the call re-enters the HTTP server and the core.
    setImmediate(() => {
      // Set by now: start() assigned it before this ran (a result within call() included).
      if (cancel) this.#call?.cancel();
      if (cut) sink.destroy();
      else sink.end();
    });
  }
}

function resultFields(route: CallRoute, p: Payload): Record<string, unknown> {
  return route.result === 'first' ? { result: p.args[0] ?? null } : { args: p.args, kwargs: p.kwargs };
}
