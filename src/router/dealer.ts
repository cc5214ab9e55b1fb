// The Dealer routes calls: caller -> CALL -> Dealer -> INVOCATION -> callee, and YIELD/ERROR
// back as RESULT/ERROR. One table owner, every change applied synchronously: no awaits between
// a lookup and the send that depends on it. Timers come from an injected scheduler. The
// registrations are registrations.ts, the calls in progress (timeouts, cancellation, progressive
// chunks) ongoing-calls.ts, the chunks of progressive calls already ended ended-calls.ts.

import { silentLogger, type Logger } from '../log.ts';
import { hasKeys } from '../wamp/has-keys.ts';
import {
  MessageType as T,
  type Call,
  type Cancel,
  type Dict,
  type ErrorMessage,
  type Register,
  type Unregister,
  type Yield,
} from '../wamp/messages.ts';
import { ProtocolViolation } from '../wamp/parse.ts';
import { ErrorUri, isReservedUri, isValidUri, type UriCheck } from '../wamp/uris.ts';
import { OptionError, optBool, optEnum, pptOptions } from './options.ts';
import type { Scheduler } from './scheduler.ts';
import type { Target } from './target.ts';
import type { MatchPolicy } from './uri-table.ts';
import { defaultRealmLimits, LIMIT_EXCEEDED, limitMessage, type LimitKind, type RealmLimits } from './limits.ts';
import { answerUndelivered, CALLEE_GONE, sendError } from './replies.ts';
import { invocationOf, resultOf, type RawPayload } from '../wamp/raw-payload.ts';
import { Registrations, type InvokePolicy, type Registration } from './registrations.ts';
import { readRegister } from './register-request.ts';
import {
  cancelModes,
  OngoingCalls,
  type CallChunk,
  type DealerStats,
  type Invocation,
  type InvocationRequest,
} from './ongoing-calls.ts';
import { callerDetails, planInvocation, type Disclosure } from './call-options.ts';
import { callLocal, type LocalProcedure } from './local-procedures.ts';
import { ENDED, type Ended } from './ended-calls.ts';

/** Meta API hooks (wamp.registration.on_*). */
export interface DealerEvents {
  created(session: Target, registration: Registration): void;
  registered(session: Target, registration: Registration): void;
  unregistered(session: Target, registration: Registration): void;
  deleted(session: Target, registration: Registration): void;
}

export interface DealerOptions {
  uriCheck: UriCheck;
  now: () => number;
  random: () => number;
  scheduler: Scheduler;
  callerDisclosure?: Disclosure;
  events?: DealerEvents;
  logger?: Logger;
  limits?: RealmLimits;
  /** Told of each request refused by a limit (the realm logs and counts). */
  limitExceeded?: (kind: LimitKind, session: Target) => void;
}

// INVOCATION/RESULT details of most calls: one shared object rather than one per message.
// Frozen, so a change by mistake fails loudly instead of reaching every other call.
const NO_DETAILS: Dict = Object.freeze({});

export class Dealer {
  readonly #options: DealerOptions;
  readonly #registrations: Registrations;
  readonly #local = new Map<string, LocalProcedure>();
  readonly #ongoing: OngoingCalls;
  /** The procedure URI of the last CALL that passed the URI check. */
  #validProcedure = '';
  readonly #limits: RealmLimits;

  constructor(options: DealerOptions) {
    this.#options = options;
    this.#limits = options.limits ?? defaultRealmLimits;
    this.#registrations = new Registrations(options);
    this.#ongoing = new OngoingCalls(options.scheduler, options.logger ?? silentLogger);
  }

  get stats(): Readonly<DealerStats> {
    return { ...this.#ongoing.stats };
  }

  get registrationCount(): number {
    return this.#registrations.size;
  }
  registrations(): IterableIterator<Registration> {
    return this.#registrations.values();
  }
  registration(id: number): Registration | undefined {
    return this.#registrations.byId(id);
  }
  lookup(procedure: string, match: MatchPolicy): Registration | undefined {
    return this.#registrations.get(procedure, match);
  }
  match(procedure: string): Registration | undefined {
    return this.#registrations.best(procedure);
  }

  /** Open calls, for leak checks in tests and for metrics. */
  get pendingCount(): number {
    return this.#ongoing.count;
  }
  /** Progressive calls that ended before their caller's last chunk, still remembered (ended-calls.ts). */
  get endedCount(): number {
    return this.#ongoing.endedCount;
  }

  /** Refuses (ERROR limit_exceeded) a request beyond a limit; true when it did. */
  #refused(session: Target, requestType: number, request: number, kind: LimitKind, count: number): boolean {
    if (count < this.#limits[kind]) return false;
    sendError(session, requestType, request, LIMIT_EXCEEDED, limitMessage(kind, this.#limits[kind]));
    this.#options.limitExceeded?.(kind, session);
    return true;
  }

  addLocalProcedure(procedure: string, fn: LocalProcedure): void {
    this.#local.set(procedure, fn);
  }

  register(callee: Target, msg: Register): void {
    const { request, procedure } = msg;
    const asked = readRegister(callee, msg, this.#registrations, this.#options.uriCheck);
    if ('error' in asked) return sendError(callee, T.REGISTER, request, asked.error, asked.message);
    const { match, invoke, existing } = asked;
    if (this.#refused(callee, T.REGISTER, request, 'maxRegistrationsPerSession', this.#registrations.countOf(callee)))
      return;
    const created = existing === undefined;
    const registration = this.attach(procedure, match, invoke, callee);
    callee.send({ type: T.REGISTERED, request, registration: registration.id });
    if (created) this.#options.events?.created(callee, registration);
    this.#options.events?.registered(callee, registration);
  }

  /**
   * Adds the callee to the registration of (procedure, match), creating it if needed. The
   * caller checks the shared-registration rules (register() for a session here, the federation
   * port for callees elsewhere).
   */
  attach(procedure: string, match: MatchPolicy, invoke: InvokePolicy, callee: Target): Registration {
    return this.#registrations.attach(procedure, match, invoke, callee);
  }

  /** The callee no longer serves any registration; the calls it is serving still complete. */
  withdraw(callee: Target): void {
    for (const registration of this.#registrations.of(callee)) this.#detach(callee, registration);
  }

  unregister(callee: Target, msg: Unregister): void {
    const registration = this.#registrations.byId(msg.registration);
    if (registration === undefined || !registration.callees.includes(callee)) {
      return sendError(callee, T.UNREGISTER, msg.request, ErrorUri.NO_SUCH_REGISTRATION);
    }
    callee.send({ type: T.UNREGISTERED, request: msg.request });
    this.#detach(callee, registration);
  }

  /**
   * `raw`: the CALL's payload bytes, passed through to a callee of the same serialization.
   * ENDED: the CALL continued a progressive call already ended, and was dropped (ended-calls.ts).
   */
  call(caller: Target, msg: Call, raw?: RawPayload): ProtocolViolation | Ended | undefined {
    const { request, procedure, options } = msg;
    const ongoing = this.#ongoing.ofCaller(caller, request);
    if (ongoing !== undefined) {
      if (ongoing !== ENDED && !ongoing.callerProgress)
        return new ProtocolViolation(`CALL request ID ${request} is already in use`);
      const progress = optBool(options, 'progress');
      if (progress instanceof OptionError) return new ProtocolViolation(`CALL: ${progress.message}`);
      // Spec "Continuations on Completed Calls": dropped, no answer (ended-calls.ts).
      if (ongoing === ENDED) return this.#ongoing.endedChunk(caller, request, progress);
      return this.#ongoing.continueProgressive(ongoing, progress, msg, raw);
    }
    // Most calls name the procedure of the call before: its URI was valid then.
    if (procedure !== this.#validProcedure) {
      if (!isValidUri(procedure, this.#options.uriCheck))
        return this.#refuseCall(caller, msg, ErrorUri.INVALID_URI, `invalid procedure URI '${procedure}'`);
      this.#validProcedure = procedure;
    }
    const local = this.#local.get(procedure);
    if (local !== undefined) {
      // The router's own procedures answer each CALL at once: a stream of chunks would get one
      // final answer per chunk. Refused as the spec refuses a callee without the feature, once.
      if (options.progress === true)
        return this.#refuseCall(caller, msg, ErrorUri.FEATURE_NOT_SUPPORTED, 'router-side procedures take no chunks');
      return callLocal(caller, msg, local);
    }
    // The spec's namespace is the router's: a pattern registration ("wamp" as a prefix, say)
    // must not serve calls to procedures the router does not have.
    // Only a pattern can match one (REGISTER refuses "wamp." URIs), so exact matches skip the check.
    let registration = this.#registrations.best(procedure);
    if (registration !== undefined && registration.match !== 'exact' && isReservedUri(procedure))
      registration = undefined;
    if (registration === undefined) return this.#refuseCall(caller, msg, ErrorUri.NO_SUCH_PROCEDURE);
    if (this.#callerFull(caller, request)) return undefined;
    if (this.#refused(caller, T.CALL, request, 'maxPendingCalls', this.#ongoing.count)) return this.#ended(caller, msg);
    const disclosure = this.#options.callerDisclosure ?? 'optional';
    // No options (most calls): every option has its default, and so do the details, unless
    // the registration is a pattern or the realm always discloses callers.
    if (!hasKeys(options) && registration.match === 'exact' && disclosure !== 'always') {
      const callee = this.#registrations.pick(registration);
      this.invoke({
        caller,
        request,
        registration,
        callee,
        details: callee.remote === true ? callerDetails(caller, false) : NO_DETAILS,
        // With `raw`, the payload is read from it, and only if a callee needs the values.
        args: raw === undefined ? msg.args : undefined,
        kwargs: raw === undefined ? msg.kwargs : undefined,
        raw,
      });
      return undefined;
    }
    const plan = planInvocation(caller, msg, registration, disclosure, () => this.#registrations.pick(registration));
    if ('error' in plan) return this.#refuseCall(caller, msg, plan.error, plan.message);
    const { callee, details, timeout, receiveProgress } = plan;
    const invocation = {
      caller,
      request,
      registration,
      callee,
      details: hasKeys(details) ? details : NO_DETAILS,
      args: raw === undefined ? msg.args : undefined,
      kwargs: raw === undefined ? msg.kwargs : undefined,
      raw,
      timeout,
      receiveProgress,
    };
    this.invoke(invocation);
    return undefined;
  }

  /**
   * Sends the INVOCATION and tracks the call; the caller gets an ERROR when it cannot be sent.
   * The callee is chosen and the details built by whoever calls this: call() for a session
   * here, the federation port for a call another router forwarded to a callee it named.
   */
  invoke(call: InvocationRequest): void {
    const { caller, request, registration, callee, details, raw } = call;
    const timeout = call.timeout ?? 0;
    const receiveProgress = call.receiveProgress ?? false;
    const invocationRequest = callee.nextRequestId();
    const sent = callee.send(invocationOf(invocationRequest, registration.id, details, call, raw));
    if (answerUndelivered(caller, request, sent, { kind: 'invocation' })) {
      if (details.progress === true) this.#ongoing.endRefused(caller, request, this.#limits.maxPendingCallsPerSession);
      return;
    }
    const invocation: Invocation = {
      caller,
      callRequest: request,
      callee,
      request: invocationRequest,
      registration,
      receiveProgress,
      callerProgress: details.progress === true,
      killed: false,
      details,
      timeout,
      timer: undefined,
    };
    this.#ongoing.add(invocation);
  }

  yield(callee: Target, msg: Yield, raw?: RawPayload): ProtocolViolation | undefined {
    // A YIELD for an invocation no longer tracked (caller gone, call canceled or timed out) is
    // ignored: the callee could not have known, so it is no protocol violation.
    const invocation = this.#ongoing.ofCallee(callee, msg.request);
    if (invocation === undefined) return;
    const progress = optBool(msg.options, 'progress');
    const ppt = pptOptions(msg.options, msg);
    if (progress instanceof OptionError) return new ProtocolViolation(`YIELD: ${progress.message}`);
    if (ppt instanceof OptionError) return new ProtocolViolation(`YIELD: ${ppt.message}`);
    let details: Dict = ppt === undefined ? NO_DETAILS : { ...ppt };
    if (progress) {
      if (invocation.details.receive_progress !== true && !this.#ongoing.unrequestedProgress(invocation)) return;
      details = { ...details, progress: true };
      // Spec "Call Timeouts" with progressive results: the timeout runs between results.
      this.#ongoing.armTimeout(invocation);
    } else {
      this.#ongoing.finish(invocation);
    }
    const sent = invocation.caller.send(resultOf(invocation.callRequest, details, msg, raw));
    if (sent === 'unencodable' || sent === 'too-large') {
      if (progress) {
        this.#ongoing.finish(invocation);
        // The call ends here for the caller: the callee need not keep producing results.
        this.#ongoing.interruptCallee(invocation);
      }
      answerUndelivered(invocation.caller, invocation.callRequest, sent, { kind: 'result' });
    }
    return undefined;
  }

  error(callee: Target, msg: ErrorMessage, raw?: RawPayload): void {
    const invocation = this.#ongoing.ofCallee(callee, msg.request);
    if (invocation === undefined) return;
    this.#ongoing.finish(invocation);
    const sent = invocation.caller.send({
      type: T.ERROR,
      requestType: T.CALL,
      request: invocation.callRequest,
      details: msg.details,
      error: msg.error,
      args: msg.args,
      kwargs: msg.kwargs,
      raw,
    });
    answerUndelivered(invocation.caller, invocation.callRequest, sent, { kind: 'error', error: msg.error });
  }

  cancel(caller: Target, msg: Cancel): ProtocolViolation | undefined {
    const mode = optEnum(msg.options, 'mode', cancelModes, 'killnowait');
    if (mode instanceof OptionError) return new ProtocolViolation(`CANCEL: ${mode.message}`);
    const invocation = this.#ongoing.ofCaller(caller, msg.request);
    // The call may have completed while the CANCEL was in flight: nothing to do.
    if (invocation === undefined || invocation === ENDED || invocation.killed) return;
    this.#ongoing.interrupt(invocation, mode, ErrorUri.CANCELED, 'canceled by the caller');
    return undefined;
  }

  /** A session left: drop its registrations, fail the calls it was serving, interrupt its own calls. */
  removeSession(session: Target, error: string = ErrorUri.CANCELED, message = CALLEE_GONE): void {
    this.withdraw(session);
    for (const invocation of this.#ongoing.serving(session)) {
      this.#ongoing.finish(invocation);
      sendError(invocation.caller, T.CALL, invocation.callRequest, error, message);
    }
    for (const invocation of this.#ongoing.calling(session)) {
      this.#ongoing.finish(invocation);
      // Spec "Progressive Call Cancellation": the callee need not keep working for a caller that left.
      this.#ongoing.interruptCallee(invocation);
    }
    this.#ongoing.forgetCaller(session);
  }

  /**
   * A further chunk of the caller's progressive call `request`, from a port that speaks chunks
   * rather than CALL messages. 'no-such-call' when no call of that ID is ongoing.
   */
  continueCall(
    caller: Target,
    request: number,
    chunk: CallChunk,
    raw?: RawPayload,
  ): ProtocolViolation | 'no-such-call' | undefined {
    const ongoing = this.#ongoing.ofCaller(caller, request);
    // ENDED is not kept for callers elsewhere (ended-calls.ts).
    if (ongoing === undefined || ongoing === ENDED) return 'no-such-call';
    if (!ongoing.callerProgress) return new ProtocolViolation(`CALL request ID ${request} is already in use`);
    return this.#ongoing.continueProgressive(ongoing, chunk.progress, chunk, raw);
  }

  /**
   * ERROR for a CALL that starts no call. A progressive one is remembered as ENDED, so that the
   * caller's further chunks get no answer and start nothing (ended-calls.ts).
   */
  #refuseCall(caller: Target, msg: Call, error: string, message?: string): undefined {
    sendError(caller, T.CALL, msg.request, error, message);
    return this.#ended(caller, msg);
  }

  /** A progressive CALL refused (its ERROR sent) is remembered as ENDED. */
  #ended(caller: Target, msg: Call): undefined {
    if (msg.options.progress === true)
      this.#ongoing.endRefused(caller, msg.request, this.#limits.maxPendingCallsPerSession);
    return undefined;
  }

  /**
   * A CALL refused before it reached the Dealer (by its grant), its ERROR sent: a progressive one
   * is remembered as ENDED, as one refused here is.
   */
  refusedCall(caller: Target, msg: Call): undefined {
    return this.#ended(caller, msg);
  }

  /** Whether a CALL with this request ID continues one of the caller's calls (open or ENDED). */
  continues(caller: Target, request: number): boolean {
    return this.#ongoing.ofCaller(caller, request) !== undefined;
  }

  /**
   * Refuses the CALL (limit_exceeded) at maxPendingCallsPerSession; an ENDED call gives way
   * first (ended-calls.ts). A progressive CALL refused here is not remembered: no room.
   */
  #callerFull(caller: Target, request: number): boolean {
    const count = this.#ongoing.countOfCaller(caller);
    if (count >= this.#limits.maxPendingCallsPerSession && this.#ongoing.dropOldestEnded(caller)) return false;
    return this.#refused(caller, T.CALL, request, 'maxPendingCallsPerSession', count);
  }

  #detach(callee: Target, registration: Registration): void {
    const last = this.#registrations.detach(callee, registration);
    const events = callee.remote === true ? undefined : this.#options.events;
    events?.unregistered(callee, registration);
    if (last) {
      this.#registrations.delete(registration);
      events?.deleted(callee, registration);
    }
  }
}
