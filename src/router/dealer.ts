// The Dealer routes calls: caller -> CALL -> Dealer -> INVOCATION -> callee, and YIELD/ERROR
// back as RESULT/ERROR. One table owner, every change applied synchronously: no awaits between
// a lookup and the send that depends on it.

import { IdSequence } from '../wamp/ids.ts';
import { MessageType as T, type Call, type Dict, type ErrorMessage, type Register, type Unregister, type Yield } from '../wamp/messages.ts';
import { ErrorUri, isReservedUri, isValidUri, type UriCheck } from '../wamp/uris.ts';
import type { Target } from './target.ts';

export interface Registration {
  readonly id: number;
  readonly procedure: string;
  readonly callee: Target;
  readonly created: number;
}

interface PendingCall {
  readonly caller: Target;
  readonly callRequest: number;
  readonly callee: Target;
  readonly invocationRequest: number;
}

const CALLEE_GONE = 'callee disconnected from in-flight call';

export function sendError(to: Target, requestType: number, request: number, error: string, message?: string): void {
  to.send({ type: T.ERROR, requestType, request, details: {}, error, ...(message === undefined ? {} : { args: [message] }) });
}

export class Dealer {
  readonly #uriCheck: UriCheck;
  readonly #now: () => number;
  readonly #byProcedure = new Map<string, Registration>();
  readonly #byId = new Map<number, Registration>();
  readonly #ids = new IdSequence();
  // callee session id -> INVOCATION request id -> call
  readonly #invocations = new Map<number, Map<number, PendingCall>>();
  // caller session id -> CALL request id -> call
  readonly #calls = new Map<number, Map<number, PendingCall>>();

  constructor(options: { uriCheck: UriCheck; now: () => number }) {
    this.#uriCheck = options.uriCheck;
    this.#now = options.now;
  }

  get registrationCount(): number { return this.#byId.size; }
  registrations(): IterableIterator<Registration> { return this.#byId.values(); }

  register(callee: Target, msg: Register): void {
    const { request, procedure, options } = msg;
    const match = options.match;
    if (match !== undefined && match !== 'exact') {
      return sendError(callee, T.REGISTER, request, ErrorUri.INVALID_ARGUMENT, `match policy ${String(match)} is not supported`);
    }
    if (!isValidUri(procedure, this.#uriCheck) || isReservedUri(procedure)) {
      return sendError(callee, T.REGISTER, request, ErrorUri.INVALID_URI, `invalid procedure URI '${procedure}'`);
    }
    if (this.#byProcedure.has(procedure)) {
      return sendError(callee, T.REGISTER, request, ErrorUri.PROCEDURE_ALREADY_EXISTS);
    }
    const registration: Registration = { id: this.#ids.next(), procedure, callee, created: this.#now() };
    this.#byProcedure.set(procedure, registration);
    this.#byId.set(registration.id, registration);
    callee.send({ type: T.REGISTERED, request, registration: registration.id });
  }

  unregister(callee: Target, msg: Unregister): void {
    const registration = this.#byId.get(msg.registration);
    if (registration === undefined || registration.callee !== callee) {
      return sendError(callee, T.UNREGISTER, msg.request, ErrorUri.NO_SUCH_REGISTRATION);
    }
    this.#remove(registration);
    callee.send({ type: T.UNREGISTERED, request: msg.request });
  }

  call(caller: Target, msg: Call): void {
    const { request, procedure } = msg;
    if (!isValidUri(procedure, this.#uriCheck)) {
      return sendError(caller, T.CALL, request, ErrorUri.INVALID_URI, `invalid procedure URI '${procedure}'`);
    }
    const registration = this.#byProcedure.get(procedure);
    if (registration === undefined) return sendError(caller, T.CALL, request, ErrorUri.NO_SUCH_PROCEDURE);
    const callee = registration.callee;
    const invocationRequest = callee.nextRequestId();
    const details: Dict = {};
    const sent = callee.send({
      type: T.INVOCATION, request: invocationRequest, registration: registration.id, details, args: msg.args, kwargs: msg.kwargs,
    });
    if (sent === 'unencodable') {
      return sendError(caller, T.CALL, request, ErrorUri.INVALID_ARGUMENT, 'the call payload cannot be serialized for the callee');
    }
    if (sent === 'closed') return sendError(caller, T.CALL, request, ErrorUri.CANCELED, CALLEE_GONE);
    const pending: PendingCall = { caller, callRequest: request, callee, invocationRequest };
    tableFor(this.#invocations, callee.id).set(invocationRequest, pending);
    tableFor(this.#calls, caller.id).set(request, pending);
  }

  yield(callee: Target, msg: Yield): void {
    // A YIELD for an invocation we no longer track (caller gone, call canceled) is ignored:
    // the callee could not have known, so it is not a protocol violation.
    const pending = this.#take(callee.id, msg.request);
    if (pending === undefined) return;
    const sent = pending.caller.send({ type: T.RESULT, request: pending.callRequest, details: {}, args: msg.args, kwargs: msg.kwargs });
    if (sent === 'unencodable') sendError(pending.caller, T.CALL, pending.callRequest, ErrorUri.INVALID_ARGUMENT, 'the result cannot be serialized for the caller');
  }

  error(callee: Target, msg: ErrorMessage): void {
    const pending = this.#take(callee.id, msg.request);
    if (pending === undefined) return;
    const sent = pending.caller.send({
      type: T.ERROR, requestType: T.CALL, request: pending.callRequest, details: msg.details, error: msg.error, args: msg.args, kwargs: msg.kwargs,
    });
    if (sent === 'unencodable') sendError(pending.caller, T.CALL, pending.callRequest, msg.error);
  }

  /** A session left: drop its registrations, fail the calls it was serving, forget its own calls. */
  removeSession(session: Target): void {
    for (const registration of [...this.#byId.values()]) {
      if (registration.callee === session) this.#remove(registration);
    }
    const serving = this.#invocations.get(session.id);
    if (serving !== undefined) {
      this.#invocations.delete(session.id);
      for (const pending of serving.values()) {
        this.#calls.get(pending.caller.id)?.delete(pending.callRequest);
        sendError(pending.caller, T.CALL, pending.callRequest, ErrorUri.CANCELED, CALLEE_GONE);
      }
    }
    const calling = this.#calls.get(session.id);
    if (calling !== undefined) {
      this.#calls.delete(session.id);
      for (const pending of calling.values()) this.#invocations.get(pending.callee.id)?.delete(pending.invocationRequest);
    }
  }

  #take(calleeId: number, invocationRequest: number): PendingCall | undefined {
    const table = this.#invocations.get(calleeId);
    const pending = table?.get(invocationRequest);
    if (pending === undefined) return undefined;
    table!.delete(invocationRequest);
    const calls = this.#calls.get(pending.caller.id);
    calls?.delete(pending.callRequest);
    if (table!.size === 0) this.#invocations.delete(calleeId);
    if (calls !== undefined && calls.size === 0) this.#calls.delete(pending.caller.id);
    return pending;
  }

  #remove(registration: Registration): void {
    this.#byId.delete(registration.id);
    this.#byProcedure.delete(registration.procedure);
  }

  /** Open calls, for leak checks in tests and for metrics. */
  get pendingCount(): number {
    let n = 0;
    for (const t of this.#invocations.values()) n += t.size;
    return n;
  }
}

function tableFor<V>(tables: Map<number, Map<number, V>>, key: number): Map<number, V> {
  let table = tables.get(key);
  if (table === undefined) tables.set(key, (table = new Map()));
  return table;
}
