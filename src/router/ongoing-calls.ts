// The calls a Dealer has in progress: each INVOCATION sent and not answered yet, found by the
// callee's request ID (for YIELD and ERROR) and by the caller's (for CANCEL and the further
// chunks of a progressive call), with their timeouts (spec "Call Timeouts"), their cancellation
// (spec "Call Canceling"), those further chunks (spec "Progressive Call Invocations") and the
// progressive results nobody asked for, and the progressive calls that ended before their
// caller's last chunk (ended-calls.ts). How a call starts and how its answers reach the caller
// are the Dealer's (dealer.ts).

import type { Logger } from '../log.ts';
import { MessageType as T, type Dict } from '../wamp/messages.ts';
import { invocationOf, type Payload, type RawPayload } from '../wamp/raw-payload.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { Registration } from './registrations.ts';
import { IdTable, SpareTables } from './id-table.ts';
import { ENDED, oldestEnded, type Ended } from './ended-calls.ts';
import { answerUndelivered, sendError } from './replies.ts';
import type { Scheduler } from './scheduler.ts';
import type { Target } from './target.ts';

export const cancelModes = ['skip', 'kill', 'killnowait'] as const;
export type CancelMode = (typeof cancelModes)[number];

export interface Invocation {
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

/** Counters for what the Dealer did about peers' irregular input (for metrics and tests). */
export interface DealerStats {
  /** Progressive YIELDs for an INVOCATION without receive_progress, passed on to a caller that asked for progress. */
  unrequestedProgressForwarded: number;
  /** The same, dropped: the caller had not asked for progressive results. */
  unrequestedProgressDropped: number;
}

export class OngoingCalls {
  readonly #scheduler: Scheduler;
  readonly #logger: Logger;
  /** Counted here, reported by the Dealer. */
  readonly stats: DealerStats = { unrequestedProgressForwarded: 0, unrequestedProgressDropped: 0 };
  // callee session id -> INVOCATION request id -> invocation
  readonly #invocations = new IdTable<IdTable<Invocation>>();
  // caller session id -> CALL request id -> invocation, or ENDED (ended-calls.ts)
  readonly #calls = new IdTable<IdTable<Invocation | Ended>>();
  /** Up to four: a call's caller's and callee's tables often empty at once. */
  readonly #spares = new SpareTables<Invocation | Ended>(4);
  /** Entries of #invocations, kept as a count so the realm limit costs nothing per call. */
  #pending = 0;
  /** ENDED entries of #calls, in all and per caller session (only callers that have some). */
  #ended = 0;
  readonly #endedOf = new Map<number, number>();

  constructor(scheduler: Scheduler, logger: Logger) {
    this.#scheduler = scheduler;
    this.#logger = logger;
  }

  /** Open calls, for the realm limit, leak checks in tests and metrics. */
  get count(): number {
    return this.#pending;
  }

  /** The call the callee's INVOCATION `request` belongs to. */
  ofCallee(callee: Target, request: number): Invocation | undefined {
    return this.#invocations.get(callee.id)?.get(request);
  }
  /** Progressive calls remembered as ENDED, for leak checks in tests. */
  get endedCount(): number {
    return this.#ended;
  }

  /** The caller's call `request`: ENDED when it ended before the caller's last chunk. */
  ofCaller(caller: Target, request: number): Invocation | Ended | undefined {
    return this.#calls.get(caller.id)?.get(request);
  }
  /** How many calls the caller has open, ENDED ones included (so that they stay bounded). */
  countOfCaller(caller: Target): number {
    return this.#calls.get(caller.id)?.size ?? 0;
  }
  /** The calls the session serves as callee (a copy). */
  serving(session: Target): Invocation[] {
    return [...(this.#invocations.get(session.id)?.values() ?? [])];
  }
  /** The calls the session made as caller (a copy). */
  calling(session: Target): Invocation[] {
    const calls: Invocation[] = [];
    for (const call of this.#calls.get(session.id)?.values() ?? []) if (call !== ENDED) calls.push(call);
    return calls;
  }

  /** Tracks a call whose INVOCATION was sent, and starts its timeout. */
  add(invocation: Invocation): void {
    this.#tableFor(this.#invocations, invocation.callee.id).set(invocation.request, invocation);
    this.#pending++;
    this.#tableFor(this.#calls, invocation.caller.id).set(invocation.callRequest, invocation);
    this.armTimeout(invocation);
  }

  armTimeout(invocation: Invocation): void {
    if (invocation.timeout <= 0) return;
    if (invocation.timer !== undefined) this.#scheduler.clearTimeout(invocation.timer);
    invocation.timer = this.#scheduler.setTimeout(() => this.#timeout(invocation), invocation.timeout);
  }

  /** The call is over: no longer tracked, its timer stopped. */
  finish(invocation: Invocation): void {
    const serving = this.#invocations.get(invocation.callee.id);
    if (serving?.delete(invocation.request) === true) this.#pending--;
    this.#release(this.#invocations, invocation.callee.id, serving);
    const calls = this.#calls.get(invocation.caller.id);
    if (invocation.callerProgress) this.#endStream(invocation, calls);
    else {
      calls?.delete(invocation.callRequest);
      this.#release(this.#calls, invocation.caller.id, calls);
    }
    if (invocation.timer !== undefined) {
      this.#scheduler.clearTimeout(invocation.timer);
      invocation.timer = undefined;
    }
  }

  /**
   * A CALL of the caller's that ended before it was sent anywhere (refused), while the caller
   * has further chunks to send: remembered as ENDED, as a call that ended mid-stream, if the
   * caller has room under `limit` (maxPendingCallsPerSession) or an older ENDED to give way.
   * Without room it is not remembered: a refused call must not take more than the limit.
   */
  endRefused(caller: Target, request: number, limit: number): void {
    if (caller.remote === true) return;
    if (this.countOfCaller(caller) >= limit && !this.dropOldestEnded(caller)) return;
    this.#tableFor(this.#calls, caller.id).set(request, ENDED);
    this.#countEnded(caller.id, 1);
  }

  /** A chunk for an ENDED call: dropped; the final one (not `progress`) also forgets the call. */
  endedChunk(caller: Target, request: number, progress: boolean): Ended {
    if (progress) return ENDED;
    const calls = this.#calls.get(caller.id);
    if (calls?.delete(request) === true) this.#countEnded(caller.id, -1);
    this.#release(this.#calls, caller.id, calls);
    return ENDED;
  }

  /** The caller's oldest ENDED call (lowest request ID) is forgotten, to make room; false when it has none. */
  dropOldestEnded(caller: Target): boolean {
    // Without this count a caller at its limit would search its table on every refused call.
    if (!this.#endedOf.has(caller.id)) return false;
    const calls = this.#calls.get(caller.id);
    const oldest = calls === undefined ? undefined : oldestEnded(calls);
    if (oldest === undefined) return false;
    calls!.delete(oldest);
    this.#countEnded(caller.id, -1);
    this.#release(this.#calls, caller.id, calls);
    return true;
  }

  /** The caller left: its ENDED calls are forgotten (its open calls are finished by then). */
  forgetCaller(caller: Target): void {
    const calls = this.#calls.get(caller.id);
    if (calls === undefined) return;
    this.#countEnded(caller.id, -(this.#endedOf.get(caller.id) ?? 0));
    this.#calls.delete(caller.id);
  }

  /** Ends the call for the caller (ERROR `error`), telling the callee as `requested` allows. */
  interrupt(invocation: Invocation, requested: CancelMode, error: string, message: string): void {
    // Spec: if the callee does not support call canceling, the mode is skip.
    const mode = invocation.callee.supports('callee', 'call_canceling') ? requested : 'skip';
    if (mode === 'kill') {
      invocation.killed = true;
      invocation.callee.send({ type: T.INTERRUPT, request: invocation.request, options: { mode, reason: error } });
      return;
    }
    this.finish(invocation);
    sendError(invocation.caller, T.CALL, invocation.callRequest, error, message);
    if (mode === 'killnowait')
      invocation.callee.send({ type: T.INTERRUPT, request: invocation.request, options: { mode, reason: error } });
  }

  /** Tells the callee, if it can cancel, that the call is over (killnowait, "canceled"). */
  interruptCallee(invocation: Invocation): void {
    if (invocation.callee.supports('callee', 'call_canceling')) {
      invocation.callee.send({
        type: T.INTERRUPT,
        request: invocation.request,
        options: { mode: 'killnowait', reason: ErrorUri.CANCELED },
      });
    }
  }

  /** A further chunk of the caller's progressive call: another INVOCATION to its callee. */
  continueProgressive(
    invocation: Invocation,
    progress: boolean,
    payload: Payload,
    raw: RawPayload | undefined,
  ): undefined {
    // Spec: options other than progress are frozen by the first CALL of a progressive call,
    // so every INVOCATION carries the first one's details (caller identity, procedure, ...).
    invocation.callerProgress = progress;
    const { progress: _first, ...details } = invocation.details;
    if (progress) details.progress = true;
    const sent = invocation.callee.send(
      invocationOf(invocation.request, invocation.registration.id, details, payload, raw),
    );
    if (sent !== 'sent') {
      this.finish(invocation);
      answerUndelivered(invocation.caller, invocation.callRequest, sent, { kind: 'invocation' });
    }
    return undefined;
  }

  /**
   * A progressive YIELD for an INVOCATION without receive_progress: the callee announced no
   * progressive results, or the caller did not ask. It goes on to a caller that asked, which
   * tells it from the final result; any other caller would take it for the final one, so there
   * it is dropped. Counted and logged either way, so a callee that streams unasked is seen.
   */
  unrequestedProgress(invocation: Invocation): boolean {
    const forwarded = invocation.receiveProgress;
    if (forwarded) this.stats.unrequestedProgressForwarded++;
    else this.stats.unrequestedProgressDropped++;
    this.#logger.debug(
      {
        callee: invocation.callee.id,
        caller: invocation.caller.id,
        registration: invocation.registration.id,
        procedure: invocation.registration.procedure,
        forwarded,
      },
      'progressive YIELD without receive_progress in the INVOCATION',
    );
    return forwarded;
  }

  /**
   * finish() of a call whose caller has further chunks to send: ENDED takes its place
   * (ended-calls.ts). Not for a caller on another router: its own router remembers.
   */
  #endStream(invocation: Invocation, calls: IdTable<Invocation | Ended> | undefined): void {
    if (calls === undefined || calls.get(invocation.callRequest) !== invocation) return;
    if (invocation.caller.remote === true) {
      calls.delete(invocation.callRequest);
      this.#release(this.#calls, invocation.caller.id, calls);
      return;
    }
    calls.set(invocation.callRequest, ENDED);
    this.#countEnded(invocation.caller.id, 1);
  }

  #countEnded(caller: number, change: number): void {
    this.#ended += change;
    const n = (this.#endedOf.get(caller) ?? 0) + change;
    if (n > 0) this.#endedOf.set(caller, n);
    else this.#endedOf.delete(caller);
  }

  // One pool of spare tables for both maps: an emptied table holds nothing, whatever it held.
  #tableFor<V extends Invocation | Ended>(tables: IdTable<IdTable<V>>, key: number): IdTable<V> {
    let table = tables.get(key);
    if (table === undefined) {
      table = this.#spares.take() as IdTable<V>;
      tables.set(key, table);
    }
    return table;
  }

  /** #tableFor's other half: an emptied table leaves `tables` and is kept for reuse. */
  #release<V extends Invocation | Ended>(
    tables: IdTable<IdTable<V>>,
    key: number,
    table: IdTable<V> | undefined,
  ): void {
    if (table === undefined || table.size > 0) return;
    tables.delete(key);
    this.#spares.keep(table);
  }

  #timeout(invocation: Invocation): void {
    invocation.timer = undefined;
    if (this.#invocations.get(invocation.callee.id)?.get(invocation.request) !== invocation) return;
    // Spec "Dealer-Initiated Timeouts": like a cancel in mode killnowait (skip if the callee can't cancel).
    this.interrupt(invocation, 'killnowait', 'wamp.error.timeout', 'the call timed out');
  }
}
