// The one port through which anything that is not a local client session enters the core: the
// mesh, and the bridges and uplinks (src/bridge), which listen to publications made here (what
// they bring in enters as a session of their own, so grants apply). Local sessions come in
// through Session; everything else comes through here, as typed operations on a realm named by URI:
//   - calls forwarded to a callee here, their further chunks and cancels, and the callers'
//     routers going away (callee side);
//   - answers and progressive results of calls this router forwarded (caller side);
//   - callees elsewhere appearing and leaving;
//   - events published elsewhere;
// and going out, what the port's listeners need: each publication made here, and each change
// of what a realm serves (so the mesh can advertise it). Callees and callers elsewhere are
// Targets (proxies) the port's user makes; the Dealer and the Broker route to them as to any
// session. A realm this router does not have is ignored: the port's user checks hasRealm().

import { MessageType as T, type Dict, type Yield } from '../wamp/messages.ts';
import type { RawPayload } from '../wamp/raw-payload.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { EventRouting, Publisher } from './broker.ts';
import type { CallChunk } from './ongoing-calls.ts';
import type { InvokePolicy } from './registrations.ts';
import type { StoredEvent } from './event-store.ts';
import { takesProgressiveResults } from './features.ts';
import type { Realm, RealmObserver } from './realm.ts';
import { sendError } from './replies.ts';
import type { Target } from './target.ts';
import { allowAll, type Authorizer } from './auth.ts';
import type { MatchPolicy } from './uri-table.ts';

/** What the port's user hears from the core. */
export interface FederationListener {
  /**
   * A publication made here, after its delivery here: the listener decides where it goes next.
   * A returned promise holds the publisher's PUBLISHED until the listener has kept the event
   * (a bridge's outbox commits it to disk first).
   */
  published(
    realm: string,
    event: StoredEvent,
    routing: EventRouting,
    publisher: Publisher,
  ): Promise<void> | undefined | void;
  /** A realm's registrations or subscriptions changed. */
  interestsChanged(realm: string): void;
}

/** A call another router forwarded, for the callee here it chose (by its session ID). */
export interface ForwardedCall {
  readonly request: number;
  readonly procedure: string;
  readonly match: MatchPolicy;
  /** Session ID of the local callee: the other router applied the invoke policy already. */
  readonly callee: number;
  /** INVOCATION.Details as the other router built them; trimmed to what the callee announced. */
  readonly details: Dict;
  readonly args?: unknown[] | undefined;
  readonly kwargs?: Dict | undefined;
  /** The payload undecoded (in place of args and kwargs), passed through to a callee of its serialization. */
  readonly raw?: RawPayload | undefined;
  /**
   * The caller as its own router authenticated it: the realm's grants here apply to it.
   * `session`: a number standing for that identity here (the authorizer caches its decisions by it).
   */
  readonly identity?: { readonly authid: string; readonly authrole: string; readonly session: number };
}

/** A (progressive or final) result of a call made elsewhere on this router's behalf. */
export interface RemoteResult {
  readonly progress: boolean;
  /** RESULT.Details from the other router; only the payload passthru keys (ppt_*) are kept. */
  readonly details: Dict;
  readonly args?: unknown[] | undefined;
  readonly kwargs?: Dict | undefined;
  /** The payload undecoded (in place of args and kwargs), passed through to a caller of its serialization. */
  readonly raw?: RawPayload | undefined;
}

export interface RemoteError {
  readonly error: string;
  readonly details: Dict;
  readonly args?: unknown[] | undefined;
  readonly kwargs?: Dict | undefined;
}

/** One registration of a callee elsewhere. */
export interface RemoteRegistration {
  readonly procedure: string;
  readonly match: MatchPolicy;
  readonly invoke: InvokePolicy;
}

/** What one realm here serves: registrations with their local callees, and subscriptions. */
export interface Interests {
  readonly registrations: {
    procedure: string;
    match: MatchPolicy;
    invoke: InvokePolicy;
    callees: { session: number; features: string[] }[];
  }[];
  readonly subscriptions: { topic: string; match: MatchPolicy }[];
}

export class Federation implements RealmObserver {
  readonly #realms: ReadonlyMap<string, Realm>;
  readonly #authorizer: Authorizer;
  readonly #listeners: FederationListener[] = [];

  constructor(realms: ReadonlyMap<string, Realm>, authorizer: Authorizer = allowAll) {
    this.#realms = realms;
    this.#authorizer = authorizer;
  }

  /** Adds a listener (the mesh node, the bridges); each hears every publication made here. */
  listen(listener: FederationListener): void {
    this.#listeners.push(listener);
  }

  hasRealm(uri: string): boolean {
    return this.#realms.has(uri);
  }

  // ---- from the realms, to the listener -----------------------------------------------------

  published(realm: string, event: StoredEvent, routing: EventRouting, publisher: Publisher): Promise<void> | undefined {
    let holds: Promise<void>[] | undefined;
    for (const listener of this.#listeners) {
      const hold = listener.published(realm, event, routing, publisher);
      if (hold !== undefined) (holds ??= []).push(hold);
    }
    if (holds === undefined) return undefined;
    return holds.length === 1 ? holds[0] : Promise.all(holds).then(() => undefined);
  }

  interestsChanged(realm: string): void {
    for (const listener of this.#listeners) listener.interestsChanged(realm);
  }

  /**
   * What each realm serves, for advertising: registrations with their local callees (and of
   * `features`, those each callee announced), and subscriptions. Realms serving nothing are left out.
   */
  interests(features: readonly string[]): Map<string, Interests> {
    const out = new Map<string, Interests>();
    for (const [uri, realm] of this.#realms) {
      const registrations: Interests['registrations'] = [];
      for (const r of realm.dealer.registrations()) {
        const callees = r.callees
          .filter((c) => c.remote !== true)
          .map((c) => ({ session: c.id, features: features.filter((f) => c.supports('callee', f)) }));
        if (callees.length > 0)
          registrations.push({ procedure: r.procedure, match: r.match, invoke: r.invoke, callees });
      }
      const subscriptions = [...realm.broker.subscriptions()].map((s) => ({ topic: s.topic, match: s.match }));
      if (registrations.length > 0 || subscriptions.length > 0) out.set(uri, { registrations, subscriptions });
    }
    return out;
  }

  // ---- calls to callees here (the caller is elsewhere) -----------------------------------------

  /** A forwarded call; the caller gets wamp.error.no_such_procedure when its callee is gone. */
  call(realm: string, caller: Target, call: ForwardedCall): void {
    const dealer = this.#realms.get(realm)?.dealer;
    if (dealer === undefined) return;
    const registration = dealer.lookup(call.procedure, call.match);
    const callee = registration?.callees.find((c) => c.id === call.callee && c.remote !== true);
    if (registration === undefined || callee === undefined)
      return sendError(caller, T.CALL, call.request, ErrorUri.NO_SUCH_PROCEDURE);
    const uri = typeof call.details.procedure === 'string' ? call.details.procedure : call.procedure;
    if (
      call.identity !== undefined &&
      !this.#authorizer.authorize({
        realm,
        session: call.identity.session,
        authid: call.identity.authid,
        authrole: call.identity.authrole,
        action: 'call',
        uri,
        match: 'exact',
      })
    )
      return sendError(
        caller,
        T.CALL,
        call.request,
        ErrorUri.NOT_AUTHORIZED,
        `${call.identity.authid} (${call.identity.authrole}) may not call ${uri} on this router`,
      );
    const details: Dict = { ...call.details };
    const receiveProgress = details.receive_progress === true;
    if (receiveProgress && !takesProgressiveResults(callee)) delete details.receive_progress;
    if (details.timeout !== undefined && !callee.supports('callee', 'call_timeout')) delete details.timeout;
    dealer.invoke({
      caller,
      request: call.request,
      registration,
      callee,
      details,
      args: call.args,
      kwargs: call.kwargs,
      raw: call.raw,
      receiveProgress,
    });
  }

  /** A further chunk of a forwarded progressive call. */
  chunk(realm: string, caller: Target, request: number, chunk: CallChunk): void {
    const dealer = this.#realms.get(realm)?.dealer;
    if (dealer === undefined) return;
    // A chunk of a call that ended here is answered, so the way back is not held for good.
    if (dealer.continueCall(caller, request, chunk) === 'no-such-call')
      sendError(caller, T.CALL, request, ErrorUri.NO_SUCH_PROCEDURE);
  }

  /** The caller canceled a forwarded call (mode: skip, kill or killnowait). */
  cancel(realm: string, caller: Target, request: number, mode: string): void {
    this.#realms.get(realm)?.dealer.cancel(caller, { type: T.CANCEL, request, options: { mode } });
  }

  /** The caller can no longer be answered (its router is gone): its calls here are interrupted. */
  callerGone(realm: string, caller: Target): void {
    this.#realms.get(realm)?.dealer.removeSession(caller);
  }

  // ---- answers from callees elsewhere -------------------------------------------------------

  /** `from` names the callee's router in the error a malformed result is replaced with. */
  result(realm: string, callee: Target, request: number, result: RemoteResult, from: string): void {
    const dealer = this.#realms.get(realm)?.dealer;
    if (dealer === undefined) return;
    const options: Dict = {};
    for (const [k, v] of Object.entries(result.details)) if (k.startsWith('ppt_')) options[k] = v;
    if (result.progress) options.progress = true;
    const raw = result.raw;
    const msg: Yield = { type: T.YIELD, request, options, ...payload(result.args, result.kwargs) };
    const violation = dealer.yield(callee, raw === undefined ? msg : (raw.attach(msg, undefined) as Yield), raw);
    // A result the Dealer refuses (payload passthru with keyword arguments, say) would leave the
    // call open with no way back: its caller gets an error in its place, as when a callee here
    // is ended for such a YIELD.
    if (violation !== undefined) {
      const message = `router ${from} sent a malformed result: ${violation.message}`;
      dealer.error(callee, {
        type: T.ERROR,
        requestType: T.INVOCATION,
        request,
        details: {},
        error: ErrorUri.INVALID_ARGUMENT,
        args: [message],
      });
    }
  }

  error(realm: string, callee: Target, request: number, error: RemoteError): void {
    this.#realms.get(realm)?.dealer.error(callee, {
      type: T.ERROR,
      requestType: T.INVOCATION,
      request,
      details: error.details,
      error: error.error,
      ...payload(error.args, error.kwargs),
    });
  }

  // ---- callees elsewhere --------------------------------------------------------------------

  /**
   * A callee elsewhere joins the registration of (procedure, match), after the callees here.
   * Refused (false) when the invoke policies conflict, or either side is 'single': a router
   * never mixes policies.
   */
  addCallee(realm: string, registration: RemoteRegistration, callee: Target): boolean {
    const dealer = this.#realms.get(realm)?.dealer;
    if (dealer === undefined) return false;
    const { procedure, match, invoke } = registration;
    const existing = dealer.lookup(procedure, match);
    if (existing !== undefined && (existing.invoke !== invoke || invoke === 'single')) return false;
    dealer.attach(procedure, match, invoke, callee);
    return true;
  }

  /** The callee no longer serves its registrations; calls in flight to it still complete. */
  withdrawCallee(realm: string, callee: Target): void {
    this.#realms.get(realm)?.dealer.withdraw(callee);
  }

  /** The callee is unreachable: its registrations go, and its calls in flight fail with `error`. */
  calleeGone(realm: string, callee: Target, error: string, message: string): void {
    this.#realms.get(realm)?.dealer.removeSession(callee, error, message);
  }

  // ---- events published elsewhere -------------------------------------------------------------

  event(realm: string, event: StoredEvent, routing: EventRouting): void {
    this.#realms.get(realm)?.broker.deliverAccepted(event, routing);
  }
}

function payload(args: unknown[] | undefined, kwargs: Dict | undefined): { args?: unknown[]; kwargs?: Dict } {
  return { ...(args !== undefined && { args }), ...(kwargs !== undefined && { kwargs }) };
}
