// An HTTP request answered by one WAMP call (a `call` route without progressive results): the
// call's outcome, the route's timeout and the client going away meet in one object per
// request, which settles the request's answer once. At tens of thousands of requests a second,
// a promise, a timer and a few closures per request are a good part of the gateway's cost: the
// answer is handed to the HTTP server's callback as the RESULT is routed (PendingAnswer), with
// no promise and no microtask between them.

import { Wait, type Deadlines } from '../net/deadlines.ts';
import { INTERNAL_ERROR, type HttpAnswer, type PendingAnswer } from '../transport/http-exchange.ts';
import type { CallReceiver, ClientSession, Outcome } from './client.ts';
import { GatewayErrorUri } from './errors.ts';
import { unencodableReply, valueReply } from './reply.ts';
import type { RequestScope } from './scope.ts';
import type { CallRoute } from './spec.ts';

export interface CallRequest {
  readonly uri: string;
  readonly args: unknown[] | undefined;
  readonly kwargs: Record<string, unknown> | undefined;
}

// Given to the call when the route's timeout passes first (the call is cancelled).
const TIMED_OUT: Outcome = { ok: false, error: GatewayErrorUri.TIMEOUT, args: [], kwargs: {} };

/** The HTTP answer of one call, as a PendingAnswer: the result (200), the error from the table, or 504 once the timeout passed. */
export class HttpCall extends Wait implements CallReceiver, PendingAnswer {
  readonly #scope: RequestScope;
  readonly #route: CallRoute;
  readonly #session: ClientSession;
  readonly #timeoutMs: number;
  #request = 0;
  #answer: HttpAnswer | undefined;
  #onAnswer: ((a: HttpAnswer) => void) | undefined;
  #onSettled: (() => void) | undefined;

  constructor(scope: RequestScope, route: CallRoute, session: ClientSession, timeoutMs: number) {
    super();
    this.#scope = scope;
    this.#route = route;
    this.#session = session;
    this.#timeoutMs = timeoutMs;
  }

  whenAnswered(onAnswer: (a: HttpAnswer) => void): void {
    if (this.#answer === undefined) this.#onAnswer = onAnswer;
    else deliver(onAnswer, this.#answer);
  }

  /** `fn` runs once the answer is known (now, when it is already). */
  onSettled(fn: () => void): void {
    if (this.#answer === undefined) this.#onSettled = fn;
    else fn();
  }

  /** Sends the CALL; the router may answer it at once (no callee: ERROR), before this returns. */
  start(call: CallRequest, deadlines: Deadlines): void {
    this.#request = this.#session.start(call.uri, call.args, call.kwargs, this.#route.options, this);
    if (this.#answer !== undefined) return;
    this.#scope.signal.addEventListener('abort', this.#onAbort);
    deadlines.arm(this, this.#timeoutMs);
  }

  resolve(outcome: Outcome): void {
    if (this.#answer !== undefined) return;
    // Settled and released whatever happens below: this runs inside the router's dispatch of
    // the callee's message, and a throw left the request unanswered past its timeout (which
    // is disarmed here), its in-flight slot taken for good, and the callee ABORTed.
    let answer: HttpAnswer = INTERNAL_ERROR;
    try {
      this.stopWaiting();
      this.#scope.signal.removeEventListener('abort', this.#onAbort);
      answer = this.#answerOf(outcome);
    } finally {
      this.#answer = answer;
      this.#onSettled?.();
      const onAnswer = this.#onAnswer;
      this.#onAnswer = undefined;
      if (onAnswer !== undefined) deliver(onAnswer, answer);
    }
  }

  #answerOf(outcome: Outcome): HttpAnswer {
    const scope = this.#scope;
    if (outcome === TIMED_OUT)
      return scope.fail(GatewayErrorUri.TIMEOUT, [`no answer within ${this.#timeoutMs} ms; the call was cancelled`]);
    try {
      if (!outcome.ok) {
        const statusCodes = [this.#route.statusCodes, scope.api.spec.statusCodes];
        return scope.fail(outcome.error, outcome.args, { statusCodes }, outcome.kwargs);
      }
      const value =
        this.#route.result === 'first' ? (outcome.args[0] ?? null) : { args: outcome.args, kwargs: outcome.kwargs };
      return valueReply(200, scope.codec, value, scope.cors);
    } catch (error) {
      // Only the encoding of the callee's values throws here (see unencodableReply).
      return unencodableReply(scope.codec, error, scope.cors);
    }
  }

  readonly #onAbort = (): void => this.#session.cancel(this.#request);

  /** The route's timeout passed first: the call is cancelled and the answer is 504. */
  expire(): void {
    this.#session.abandon(this.#request, TIMED_OUT);
  }
}

/**
 * Hands the answer over. This runs while the router routes the RESULT: a throw from the HTTP
 * side must not end the gateway's session, so it is reported as uncaught, as a promise
 * reaction's would be.
 */
function deliver(onAnswer: (a: HttpAnswer) => void, answer: HttpAnswer): void {
  try {
    onAnswer(answer);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
