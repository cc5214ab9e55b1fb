// The Dealer routes calls: caller -> CALL -> Dealer -> INVOCATION -> callee, and YIELD/ERROR
// back as RESULT/ERROR. One table owner, every change applied synchronously: no awaits between
// a lookup and the send that depends on it. Timers come from an injected scheduler.

import { silentLogger, type Logger } from '../log.ts';
import { IdSequence } from '../wamp/ids.ts';
import { hasKeys } from '../wamp/has-keys.ts';
import { MessageType as T, type Call, type Cancel, type Dict, type ErrorMessage, type Register, type Unregister, type Yield } from '../wamp/messages.ts';
import { ProtocolViolation } from '../wamp/parse.ts';
import { ErrorUri, isReservedUri, isValidUri, type UriCheck } from '../wamp/uris.ts';
import { takesProgressiveResults } from './features.ts';
import { OptionError, optBool, optEnum, optNonNegativeInt, pptOptions } from './options.ts';
import type { Scheduler } from './scheduler.ts';
import type { Target } from './target.ts';
import { matchPolicies, UriTable, type MatchPolicy } from './uri-table.ts';
import { defaultRealmLimits, LIMIT_EXCEEDED, limitMessage, type LimitKind, type RealmLimits } from './limits.ts';
import { answerUndelivered, CALLEE_GONE, sendError } from './replies.ts';
import type { RawPayload } from '../wamp/raw-payload.ts';

export const invokePolicies = ['single', 'roundrobin', 'random', 'first', 'last'] as const;
export type InvokePolicy = (typeof invokePolicies)[number];
const cancelModes = ['skip', 'kill', 'killnowait'] as const;
export type Disclosure = 'optional' | 'always' | 'never';

export interface Registration {
  readonly id: number;
  readonly procedure: string;
  readonly match: MatchPolicy;
  readonly invoke: InvokePolicy;
  readonly created: number;
  /** In order of registration (spec: roundrobin/first/last are defined on that order). */
  readonly callees: Target[];
  next: number;
}

interface Invocation {
  readonly caller: Target;
  readonly callRequest: number;
  readonly callee: Target;
  readonly request: number;
  readonly registration: Registration;
  /** The caller asked for progressive results; whether the callee was told is in `details`. */
  readonly receiveProgress: boolean;
  /** The caller is still sending progressive CALL chunks. */
  callerProgress: boolean;
  /** A CANCEL in mode "kill" was passed on; the callee's answer still goes to the caller. */
  killed: boolean;
  /** INVOCATION.Details of the first CALL: frozen for a progressive call's later chunks. */
  readonly details: Dict;
  /** Call timeout in ms (0: none); restarted by each progressive result. */
  readonly timeout: number;
  timer: unknown;
}

/** Meta API hooks (wamp.registration.on_*). */
export interface DealerEvents {
  created(session: Target, registration: Registration): void;
  registered(session: Target, registration: Registration): void;
  unregistered(session: Target, registration: Registration): void;
  deleted(session: Target, registration: Registration): void;
}

/** One INVOCATION to send: `callee` serving `registration` gets the call `request` of `caller`. */
export interface InvocationRequest {
  readonly caller: Target;
  readonly request: number;
  readonly registration: Registration;
  readonly callee: Target;
  readonly details: Dict;
  readonly args?: unknown[] | undefined;
  readonly kwargs?: Dict | undefined;
  /** The CALL's payload bytes, passed through to a callee of the same serialization. */
  readonly raw?: RawPayload | undefined;
  /** Call timeout in ms (0 or absent: none). */
  readonly timeout?: number;
  /** Whether the caller asked for progressive results (absent: no). */
  readonly receiveProgress?: boolean;
}

/** A further chunk of a progressive call (spec "Progressive Call Invocations"). */
export interface CallChunk {
  readonly progress: boolean;
  readonly args?: unknown[] | undefined;
  readonly kwargs?: Dict | undefined;
}

/** A procedure implemented inside the router (the meta API). */
export type LocalProcedure = (caller: Target, args: unknown[], kwargs: Dict) => LocalResult;
export type LocalResult = { args?: unknown[]; kwargs?: Dict } | { error: string; args?: unknown[] };

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

/** Counters for what the Dealer did about peers' irregular input (for metrics and tests). */
export interface DealerStats {
  /** Progressive YIELDs for an INVOCATION without receive_progress, passed on to a caller that asked for progress. */
  unrequestedProgressForwarded: number;
  /** The same, dropped: the caller had not asked for progressive results. */
  unrequestedProgressDropped: number;
}

// INVOCATION/RESULT details of most calls: one shared object rather than one per message.
// Frozen, so a change by mistake fails loudly instead of reaching every other call.
const NO_DETAILS: Dict = Object.freeze({});

export class Dealer {
  readonly #options: DealerOptions;
  readonly #table = new UriTable<Registration>();
  readonly #byId = new Map<number, Registration>();
  readonly #bySession = new Map<number, Set<Registration>>();
  readonly #ids = new IdSequence();
  readonly #local = new Map<string, LocalProcedure>();
  // callee session id -> INVOCATION request id -> invocation
  readonly #invocations = new Map<number, Map<number, Invocation>>();
  // caller session id -> CALL request id -> invocation
  readonly #calls = new Map<number, Map<number, Invocation>>();
  /** The procedure URI of the last CALL that passed the URI check. */
  #validProcedure = '';
  readonly #stats: DealerStats = { unrequestedProgressForwarded: 0, unrequestedProgressDropped: 0 };
  readonly #logger: Logger;
  readonly #limits: RealmLimits;
  /** Entries of #invocations, kept as a count so the realm limit costs nothing per call. */
  #pending = 0;

  constructor(options: DealerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#limits = options.limits ?? defaultRealmLimits;
  }

  get stats(): Readonly<DealerStats> { return { ...this.#stats }; }

  get registrationCount(): number { return this.#byId.size; }
  registrations(): IterableIterator<Registration> { return this.#byId.values(); }
  registration(id: number): Registration | undefined { return this.#byId.get(id); }
  lookup(procedure: string, match: MatchPolicy): Registration | undefined { return this.#table.get(procedure, match); }
  match(procedure: string): Registration | undefined { return this.#table.best(procedure); }

  /** Open calls, for leak checks in tests and for metrics. */
  get pendingCount(): number { return this.#pending; }

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
    const { request, procedure, options } = msg;
    const match = optEnum(options, 'match', matchPolicies, 'exact');
    const invoke = optEnum(options, 'invoke', invokePolicies, 'single');
    if (match instanceof OptionError) return sendError(callee, T.REGISTER, request, ErrorUri.INVALID_ARGUMENT, match.message);
    if (invoke instanceof OptionError) return sendError(callee, T.REGISTER, request, ErrorUri.INVALID_ARGUMENT, invoke.message);
    if (!isValidUri(procedure, this.#options.uriCheck, match !== 'exact') || isReservedUri(procedure)) {
      return sendError(callee, T.REGISTER, request, ErrorUri.INVALID_URI, `invalid procedure URI '${procedure}'`);
    }
    const existing = this.#table.get(procedure, match);
    // Spec "Shared Registration": 'single' refuses any second callee; other policies must match.
    if (existing !== undefined && (existing.invoke === 'single' || existing.invoke !== invoke || existing.callees.includes(callee))) {
      return sendError(callee, T.REGISTER, request, ErrorUri.PROCEDURE_ALREADY_EXISTS,
        existing.invoke !== invoke ? `registered with invoke policy '${existing.invoke}'` : undefined);
    }
    if (this.#refused(callee, T.REGISTER, request, 'maxRegistrationsPerSession', this.#bySession.get(callee.id)?.size ?? 0)) return;
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
    let registration = this.#table.get(procedure, match);
    if (registration !== undefined) registration.callees.push(callee);
    else {
      registration = { id: this.#ids.next(), procedure, match, invoke, created: this.#options.now(), callees: [callee], next: 0 };
      this.#table.set(procedure, match, registration);
      this.#byId.set(registration.id, registration);
    }
    tableFor(this.#bySession, callee.id, () => new Set<Registration>()).add(registration);
    return registration;
  }

  /** The callee no longer serves any registration; the calls it is serving still complete. */
  withdraw(callee: Target): void {
    const mine = this.#bySession.get(callee.id);
    if (mine !== undefined) for (const registration of [...mine]) this.#detach(callee, registration);
  }

  unregister(callee: Target, msg: Unregister): void {
    const registration = this.#byId.get(msg.registration);
    if (registration === undefined || !registration.callees.includes(callee)) {
      return sendError(callee, T.UNREGISTER, msg.request, ErrorUri.NO_SUCH_REGISTRATION);
    }
    callee.send({ type: T.UNREGISTERED, request: msg.request });
    this.#detach(callee, registration);
  }

  /** `raw`: the CALL's payload bytes, passed through to a callee of the same serialization. */
  call(caller: Target, msg: Call, raw?: RawPayload): ProtocolViolation | undefined {
    const { request, procedure, options } = msg;
    const ongoing = this.#calls.get(caller.id)?.get(request);
    if (ongoing !== undefined) {
      if (!ongoing.callerProgress) return new ProtocolViolation(`CALL request ID ${request} is already in use`);
      const progress = optBool(options, 'progress');
      if (progress instanceof OptionError) return new ProtocolViolation(`CALL: ${progress.message}`);
      return this.#continueProgressive(ongoing, progress, msg.args, msg.kwargs, raw);
    }
    // Most calls name the procedure of the call before: its URI was valid then.
    if (procedure !== this.#validProcedure) {
      if (!isValidUri(procedure, this.#options.uriCheck)) {
        sendError(caller, T.CALL, request, ErrorUri.INVALID_URI, `invalid procedure URI '${procedure}'`);
        return;
      }
      this.#validProcedure = procedure;
    }
    const local = this.#local.get(procedure);
    if (local !== undefined) return this.#callLocal(caller, msg, local);
    const registration = this.#table.best(procedure);
    if (registration === undefined) return void sendError(caller, T.CALL, request, ErrorUri.NO_SUCH_PROCEDURE);
    if (this.#refused(caller, T.CALL, request, 'maxPendingCallsPerSession', this.#calls.get(caller.id)?.size ?? 0)) return undefined;
    if (this.#refused(caller, T.CALL, request, 'maxPendingCalls', this.#pending)) return undefined;
    const disclosure = this.#options.callerDisclosure ?? 'optional';
    // No options (most calls): every option has its default, and so do the details, unless
    // the registration is a pattern or the realm always discloses callers.
    if (!hasKeys(options) && registration.match === 'exact' && disclosure !== 'always') {
      this.invoke({ caller, request, registration, callee: this.#pick(registration), details: NO_DETAILS, args: msg.args, kwargs: msg.kwargs, raw });
      return undefined;
    }
    const fail = (error: string, message: string): undefined => void sendError(caller, T.CALL, request, error, message);

    const progress = optBool(options, 'progress');
    const receiveProgress = optBool(options, 'receive_progress');
    const discloseMe = optBool(options, 'disclose_me');
    const timeout = optNonNegativeInt(options, 'timeout');
    const ppt = pptOptions(options, msg.args, msg.kwargs);
    for (const v of [progress, receiveProgress, discloseMe, timeout, ppt]) if (v instanceof OptionError) return fail(ErrorUri.INVALID_ARGUMENT, v.message);
    if (discloseMe === true && disclosure === 'never') return fail('wamp.error.option_disallowed.disclose_me', 'this realm does not disclose callers');

    const callee = this.#pick(registration);
    if (progress === true && !(callee.supports('callee', 'progressive_call_invocations') && callee.supports('callee', 'call_canceling'))) {
      return fail('wamp.error.feature_not_supported', 'the callee does not support progressive call invocations');
    }
    const details: Dict = {};
    if (registration.match !== 'exact') details.procedure = procedure;
    const wantsProgress = receiveProgress === true && takesProgressiveResults(callee);
    if (ppt !== undefined && !callee.supports('callee', 'payload_passthru_mode')) {
      return fail('wamp.error.feature_not_supported', 'the callee does not support payload passthru mode');
    }
    if (wantsProgress) details.receive_progress = true;
    if (progress === true) details.progress = true;
    if ((timeout as number) > 0 && callee.supports('callee', 'call_timeout')) details.timeout = timeout;
    if (discloseMe === true || disclosure === 'always') {
      details.caller = caller.id;
      details.caller_authid = caller.authid;
      details.caller_authrole = caller.authrole;
    }
    if (ppt !== undefined) Object.assign(details, ppt);

    const invocation = {
      caller, request, registration, callee, details: hasKeys(details) ? details : NO_DETAILS, args: msg.args, kwargs: msg.kwargs, raw,
      timeout: timeout as number, receiveProgress: receiveProgress === true,
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
    const sent = callee.send({ type: T.INVOCATION, request: invocationRequest, registration: registration.id, details, args: call.args, kwargs: call.kwargs, raw });
    if (answerUndelivered(caller, request, sent, { kind: 'invocation' })) return;
    const invocation: Invocation = {
      caller, callRequest: request, callee, request: invocationRequest, registration,
      receiveProgress, callerProgress: details.progress === true, killed: false, details, timeout, timer: undefined,
    };
    tableFor(this.#invocations, callee.id, () => new Map<number, Invocation>()).set(invocationRequest, invocation);
    this.#pending++;
    tableFor(this.#calls, caller.id, () => new Map<number, Invocation>()).set(request, invocation);
    this.#armTimeout(invocation);
  }

  #armTimeout(invocation: Invocation): void {
    if (invocation.timeout <= 0) return;
    if (invocation.timer !== undefined) this.#options.scheduler.clearTimeout(invocation.timer);
    invocation.timer = this.#options.scheduler.setTimeout(() => this.#timeout(invocation), invocation.timeout);
  }

  yield(callee: Target, msg: Yield, raw?: RawPayload): ProtocolViolation | undefined {
    // A YIELD for an invocation no longer tracked (caller gone, call canceled or timed out) is
    // ignored: the callee could not have known, so it is no protocol violation.
    const invocation = this.#invocations.get(callee.id)?.get(msg.request);
    if (invocation === undefined) return;
    const progress = optBool(msg.options, 'progress');
    const ppt = pptOptions(msg.options, msg.args, msg.kwargs);
    if (progress instanceof OptionError) return new ProtocolViolation(`YIELD: ${progress.message}`);
    if (ppt instanceof OptionError) return new ProtocolViolation(`YIELD: ${ppt.message}`);
    let details: Dict = ppt === undefined ? NO_DETAILS : { ...ppt };
    if (progress) {
      if (invocation.details.receive_progress !== true && !this.#unrequestedProgress(invocation)) return;
      details = { ...details, progress: true };
      // Spec "Call Timeouts" with progressive results: the timeout runs between results.
      this.#armTimeout(invocation);
    } else {
      this.#finish(invocation);
    }
    const sent = invocation.caller.send({ type: T.RESULT, request: invocation.callRequest, details, args: msg.args, kwargs: msg.kwargs, raw });
    if (sent === 'unencodable' || sent === 'too-large') {
      if (progress) {
        this.#finish(invocation);
        // The call ends here for the caller: the callee need not keep producing results.
        if (invocation.callee.supports('callee', 'call_canceling')) {
          invocation.callee.send({ type: T.INTERRUPT, request: invocation.request, options: { mode: 'killnowait', reason: ErrorUri.CANCELED } });
        }
      }
      answerUndelivered(invocation.caller, invocation.callRequest, sent, { kind: 'result' });
    }
    return undefined;
  }

  /**
   * A progressive YIELD for an INVOCATION without receive_progress: the callee announced no
   * progressive results, or the caller did not ask. It goes on to a caller that asked, which
   * tells it from the final result; any other caller would take it for the final one, so there
   * it is dropped. Counted and logged either way, so a callee that streams unasked is seen.
   */
  #unrequestedProgress(invocation: Invocation): boolean {
    const forwarded = invocation.receiveProgress;
    if (forwarded) this.#stats.unrequestedProgressForwarded++;
    else this.#stats.unrequestedProgressDropped++;
    this.#logger.debug({
      callee: invocation.callee.id, caller: invocation.caller.id, registration: invocation.registration.id,
      procedure: invocation.registration.procedure, forwarded,
    }, 'progressive YIELD without receive_progress in the INVOCATION');
    return forwarded;
  }

  error(callee: Target, msg: ErrorMessage, raw?: RawPayload): void {
    const invocation = this.#invocations.get(callee.id)?.get(msg.request);
    if (invocation === undefined) return;
    this.#finish(invocation);
    const sent = invocation.caller.send({
      type: T.ERROR, requestType: T.CALL, request: invocation.callRequest, details: msg.details, error: msg.error, args: msg.args, kwargs: msg.kwargs, raw,
    });
    answerUndelivered(invocation.caller, invocation.callRequest, sent, { kind: 'error', error: msg.error });
  }

  cancel(caller: Target, msg: Cancel): ProtocolViolation | undefined {
    const mode = optEnum(msg.options, 'mode', cancelModes, 'killnowait');
    if (mode instanceof OptionError) return new ProtocolViolation(`CANCEL: ${mode.message}`);
    const invocation = this.#calls.get(caller.id)?.get(msg.request);
    // The call may have completed while the CANCEL was in flight: nothing to do.
    if (invocation === undefined || invocation.killed) return;
    this.#interrupt(invocation, mode, ErrorUri.CANCELED, 'canceled by the caller');
    return undefined;
  }

  /** A session left: drop its registrations, fail the calls it was serving, interrupt its own calls. */
  removeSession(session: Target, error: string = ErrorUri.CANCELED, message = CALLEE_GONE): void {
    this.withdraw(session);
    const serving = this.#invocations.get(session.id);
    if (serving !== undefined) {
      for (const invocation of [...serving.values()]) {
        this.#finish(invocation);
        sendError(invocation.caller, T.CALL, invocation.callRequest, error, message);
      }
    }
    const calling = this.#calls.get(session.id);
    if (calling !== undefined) {
      for (const invocation of [...calling.values()]) {
        this.#finish(invocation);
        // Spec "Progressive Call Cancellation": the callee need not keep working for a caller that left.
        if (invocation.callee.supports('callee', 'call_canceling')) {
          invocation.callee.send({ type: T.INTERRUPT, request: invocation.request, options: { mode: 'killnowait', reason: ErrorUri.CANCELED } });
        }
      }
    }
  }

  /**
   * A further chunk of the caller's progressive call `request`, from a port that speaks chunks
   * rather than CALL messages. 'no-such-call' when no call of that ID is ongoing.
   */
  continueCall(caller: Target, request: number, chunk: CallChunk, raw?: RawPayload): ProtocolViolation | 'no-such-call' | undefined {
    const ongoing = this.#calls.get(caller.id)?.get(request);
    if (ongoing === undefined) return 'no-such-call';
    if (!ongoing.callerProgress) return new ProtocolViolation(`CALL request ID ${request} is already in use`);
    return this.#continueProgressive(ongoing, chunk.progress, chunk.args, chunk.kwargs, raw);
  }

  #continueProgressive(invocation: Invocation, progress: boolean, args: unknown[] | undefined, kwargs: Dict | undefined, raw: RawPayload | undefined): undefined {
    // Spec: options other than progress are frozen by the first CALL of a progressive call,
    // so every INVOCATION carries the first one's details (caller identity, procedure, ...).
    invocation.callerProgress = progress;
    const { progress: _first, ...details } = invocation.details;
    if (progress) details.progress = true;
    const sent = invocation.callee.send({
      type: T.INVOCATION, request: invocation.request, registration: invocation.registration.id, details, args, kwargs, raw,
    });
    if (sent !== 'sent') {
      this.#finish(invocation);
      answerUndelivered(invocation.caller, invocation.callRequest, sent, { kind: 'invocation' });
    }
    return undefined;
  }

  #callLocal(caller: Target, msg: Call, fn: LocalProcedure): undefined {
    let result: LocalResult;
    try {
      result = fn(caller, msg.args ?? [], msg.kwargs ?? {});
    } catch (err) {
      result = { error: ErrorUri.INVALID_ARGUMENT, args: [err instanceof Error ? err.message : String(err)] };
    }
    if ('error' in result) {
      caller.send({ type: T.ERROR, requestType: T.CALL, request: msg.request, details: {}, error: result.error, args: result.args });
    } else {
      caller.send({ type: T.RESULT, request: msg.request, details: {}, args: result.args, kwargs: result.kwargs });
    }
    return undefined;
  }

  #timeout(invocation: Invocation): void {
    invocation.timer = undefined;
    if (this.#invocations.get(invocation.callee.id)?.get(invocation.request) !== invocation) return;
    // Spec "Dealer-Initiated Timeouts": like a cancel in mode killnowait (skip if the callee can't cancel).
    this.#interrupt(invocation, 'killnowait', 'wamp.error.timeout', 'the call timed out');
  }

  #interrupt(invocation: Invocation, requested: (typeof cancelModes)[number], error: string, message: string): void {
    // Spec: if the callee does not support call canceling, the mode is skip.
    const mode = invocation.callee.supports('callee', 'call_canceling') ? requested : 'skip';
    if (mode === 'kill') {
      invocation.killed = true;
      invocation.callee.send({ type: T.INTERRUPT, request: invocation.request, options: { mode, reason: error } });
      return;
    }
    this.#finish(invocation);
    sendError(invocation.caller, T.CALL, invocation.callRequest, error, message);
    if (mode === 'killnowait') invocation.callee.send({ type: T.INTERRUPT, request: invocation.request, options: { mode, reason: error } });
  }

  #pick(registration: Registration): Target {
    const callees = registration.callees;
    switch (registration.invoke) {
      case 'roundrobin': {
        const callee = callees[registration.next % callees.length]!;
        registration.next = (registration.next + 1) % callees.length;
        return callee;
      }
      case 'random': return callees[Math.floor(this.#options.random() * callees.length)]!;
      case 'last': return callees[callees.length - 1]!;
      default: return callees[0]!;
    }
  }

  #finish(invocation: Invocation): void {
    const serving = this.#invocations.get(invocation.callee.id);
    if (serving?.delete(invocation.request) === true) this.#pending--;
    if (serving !== undefined && serving.size === 0) this.#invocations.delete(invocation.callee.id);
    const calls = this.#calls.get(invocation.caller.id);
    calls?.delete(invocation.callRequest);
    if (calls !== undefined && calls.size === 0) this.#calls.delete(invocation.caller.id);
    if (invocation.timer !== undefined) {
      this.#options.scheduler.clearTimeout(invocation.timer);
      invocation.timer = undefined;
    }
  }

  #detach(callee: Target, registration: Registration): void {
    const i = registration.callees.indexOf(callee);
    if (i >= 0) {
      registration.callees.splice(i, 1);
      if (registration.next > i) registration.next--;
    }
    const mine = this.#bySession.get(callee.id);
    mine?.delete(registration);
    if (mine !== undefined && mine.size === 0) this.#bySession.delete(callee.id);
    const events = callee.remote === true ? undefined : this.#options.events;
    events?.unregistered(callee, registration);
    if (registration.callees.length === 0) {
      this.#byId.delete(registration.id);
      this.#table.delete(registration.procedure, registration.match);
      events?.deleted(callee, registration);
    }
  }
}

function tableFor<K, V>(tables: Map<K, V>, key: K, make: () => V): V {
  let table = tables.get(key);
  if (table === undefined) tables.set(key, (table = make()));
  return table;
}
