// An HTTP request answered by one WAMP call (a `call` route without progressive results): the
// call's outcome, the route's timeout and the client going away meet in one object per
// request, which settles the request's answer once. At tens of thousands of requests a second,
// a promise, a timer and a few closures per request are a good part of the gateway's cost.

import type { Deadline, Deadlines, Expiring } from '../net/deadlines.ts';
import type { HttpAnswer } from '../transport/http-exchange.ts';
import type { CallReceiver, ClientSession, Outcome } from './client.ts';
import { GatewayErrorUri } from './errors.ts';
import { valueReply } from './reply.ts';
import type { RequestScope } from './scope.ts';
import type { CallRoute } from './spec.ts';

export interface CallRequest {
  readonly uri: string;
  readonly args: unknown[] | undefined;
  readonly kwargs: Record<string, unknown> | undefined;
}

// Given to the call when the route's timeout passes first (the call is cancelled).
const TIMED_OUT: Outcome = { ok: false, error: GatewayErrorUri.TIMEOUT, args: [], kwargs: {} };

export class HttpCall implements CallReceiver, Expiring {
  /** The HTTP answer: the result (200), the error from the table, or 504 once the timeout passed. */
  readonly answer: Promise<HttpAnswer>;
  readonly #scope: RequestScope;
  readonly #route: CallRoute;
  readonly #session: ClientSession;
  readonly #timeoutMs: number;
  #settle!: (a: HttpAnswer) => void;
  #request = 0;
  #deadline: Deadline | undefined;
  #settled = false;

  constructor(scope: RequestScope, route: CallRoute, session: ClientSession, timeoutMs: number) {
    this.#scope = scope;
    this.#route = route;
    this.#session = session;
    this.#timeoutMs = timeoutMs;
    this.answer = new Promise((settle) => (this.#settle = settle));
  }

  /** Sends the CALL; the router may answer it at once (no callee: ERROR), before this returns. */
  start(call: CallRequest, deadlines: Deadlines): void {
    this.#request = this.#session.start(call.uri, call.args, call.kwargs, this.#route.options, this);
    if (this.#settled) return;
    this.#scope.signal.addEventListener('abort', this.#onAbort);
    this.#deadline = deadlines.after(this.#timeoutMs, this);
  }

  resolve(outcome: Outcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#deadline?.cancel();
    const scope = this.#scope;
    scope.signal.removeEventListener('abort', this.#onAbort);
    if (outcome === TIMED_OUT)
      this.#settle(
        scope.fail(GatewayErrorUri.TIMEOUT, [`no answer within ${this.#timeoutMs} ms; the call was cancelled`]),
      );
    else if (!outcome.ok) {
      const statusCodes = [this.#route.statusCodes, scope.api.spec.statusCodes];
      this.#settle(scope.fail(outcome.error, outcome.args, { statusCodes }, outcome.kwargs));
    } else {
      const value =
        this.#route.result === 'first' ? (outcome.args[0] ?? null) : { args: outcome.args, kwargs: outcome.kwargs };
      this.#settle(valueReply(200, scope.codec, value, scope.cors));
    }
  }

  readonly #onAbort = (): void => this.#session.cancel(this.#request);

  /** The route's timeout passed first: the call is cancelled and the answer is 504. */
  expire(): void {
    this.#session.abandon(this.#request, TIMED_OUT);
  }
}
