// One client's WAMP session: the state machine from transport open to close. It decodes and
// validates every frame, turns protocol violations into ABORT, and hands valid requests to the
// realm's Dealer and Broker (session-routing.ts); what it writes passes the flow control of
// outbound.ts. Sans-IO: it only talks to its Peer and to the router context.

import { IdSequence } from '../wamp/ids.ts';
import { errorFields, errorText, type Logger } from '../log.ts';
import { encodeMessage, encodeMessageParts, toArray } from '../wamp/marshal.ts';
import { receivedPayloadOf, type RawPayload } from '../wamp/raw-payload.ts';
import { MessageType as T, messageName, type Dict, type Message } from '../wamp/messages.ts';
import type { Authenticator } from './auth.ts';
import { grantRequest, type Authorizer } from './authorization.ts';
import { asParsedCall, parseMessage, ProtocolViolation } from '../wamp/parse.ts';
import { ErrorUri } from '../wamp/uris.ts';
import { announces } from './features.ts';
import type { Limits } from './limits.ts';
import { DROP_UNENCODABLE, SessionMeter, transportIndex, type RouterMetrics } from './metrics.ts';
import type { CloseReason, Peer, PeerHandler } from './peer.ts';
import type { LeaveReason, Realm } from './realm.ts';
import type { SharedFrame } from './shared-frame.ts';
import type { SendResult, Target } from './target.ts';
import { checkGrant, routeEstablished, type EstablishedHooks } from './session-routing.ts';
import { Outbound } from './outbound.ts';
import { drainFanouts } from './deferred-fanout.ts';
import { SessionOpening, welcomeDetails, type OpeningStep } from './session-opening.ts';

export type SessionState = 'establishing' | 'authenticating' | 'established' | 'closing' | 'closed';

/** What a session needs from the router that owns it. */
export interface SessionContext {
  readonly limits: Limits;
  readonly logger: Logger;
  now(): number;
  random(): number;
  realm(uri: string): Realm | undefined;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  /** Failed authentications are answered after this delay, against guessing. */
  readonly authFailureDelayMs: number;
  setTimeout(fn: () => void, ms: number): unknown;
  /** A session ID not used by any live session. */
  allocateSessionId(): number;
  /** The session is over; the router forgets it. */
  release(session: Session): void;
  /** Counters for /metrics, when served. */
  readonly metrics?: RouterMetrics | undefined;
}

export class Session implements Target, PeerHandler {
  id = 0;
  authid = '';
  authrole = '';
  authmethod = '';
  authprovider = '';
  realm: Realm | undefined;
  clientRoles: Dict = {};
  readonly peer: Peer;
  readonly openedAt: number;
  /** EVENTs not sent because the peer was not reading fast enough. */
  droppedEvents = 0;
  #state: SessionState = 'establishing';
  readonly #ctx: SessionContext;
  readonly #requestIds = new IdSequence();
  readonly #outbound: Outbound;
  /** When the router sent GOODBYE; unset while closing for a delayed authentication failure. */
  #goodbyeSentAt: number | undefined;
  /** Set while this session's own message is handled: a GOODBYE it causes waits for the answer. */
  #dispatching = false;
  #deferredGoodbye: { reason: string; message: string | undefined; why: LeaveReason } | undefined;
  readonly #opening: SessionOpening;
  /**
   * Set once the session starts leaving its realm, which comes after its ABORT or GOODBYE: what
   * the leaving itself produces for this very session (an ERROR for its call to its own
   * procedure, cancelled because the callee is gone) must not follow that ABORT or GOODBYE on
   * the wire.
   */
  #left = false;
  readonly #meter: SessionMeter | undefined;
  /** What routing an established session's messages needs from it (made once, not per message). */
  readonly #hooks: EstablishedHooks;

  constructor(ctx: SessionContext, peer: Peer) {
    this.#ctx = ctx;
    this.peer = peer;
    this.openedAt = ctx.now();
    this.#meter = ctx.metrics === undefined ? undefined : new SessionMeter(ctx.metrics, peer);
    this.#opening = new SessionOpening(ctx, peer.info);
    this.#outbound = new Outbound(ctx, peer, this, this.#meter, (why) => this.#kill(why));
    this.#hooks = {
      meter: this.#meter,
      abort: (reason, message) => this.#abort(reason, message),
      authorized: (action, uri, match, requestType, request) =>
        checkGrant(ctx.authorizer, grantRequest(this.realm!.uri, this, action, uri, match), this, requestType, request),
      close: (why) => this.#close(why),
    };
  }

  get state(): SessionState {
    return this.#state;
  }

  supports(role: string, feature: string): boolean {
    return announces(this.clientRoles, role, feature);
  }

  details(): Dict {
    return {
      session: this.id,
      authid: this.authid,
      authrole: this.authrole,
      authmethod: this.authmethod,
      authprovider: this.authprovider,
      transport: { type: this.peer.info.type, peer: this.peer.info.peer },
    };
  }

  kill(reason: string, message?: string): void {
    this.goodbye(reason, message, 'killed');
  }

  nextRequestId(): number {
    return this.#requestIds.next();
  }

  receive(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    const serializer = this.peer.serializer;
    let value: unknown;
    let raw: RawPayload | undefined;
    try {
      // A payload to forward keeps its bytes for peers of the same serialization; of a CALL or
      // YIELD only the elements before it are decoded.
      raw = receivedPayloadOf(serializer, frame);
      value = raw?.deferred === true ? raw.decodeHead() : serializer.decode(frame);
    } catch (err) {
      return this.#abort(ErrorUri.PROTOCOL_VIOLATION, `invalid ${serializer.name} frame: ${errorText(err)}`);
    }
    let msg = parseMessage(value);
    if (msg instanceof ProtocolViolation) return this.#abort(ErrorUri.PROTOCOL_VIOLATION, msg.message);
    this.#meter?.received(msg.type, frame.length);
    // The payload travels beside the message: parsed messages keep the shapes the JIT has seen.
    if (raw !== undefined) msg = raw.attach(msg, value);
    this.#route(msg, raw);
  }

  receiveMessage(message: Message): void {
    if (this.#state === 'closed') return;
    // The same validation as a decoded frame's: an in-process peer's mistake is a protocol
    // violation too, never a message the routing code was not written for. A CALL (one per
    // HTTP request of the gateway) that is valid as it is goes on as it is.
    const msg = asParsedCall(message) ?? parseMessage(toArray(message));
    if (msg instanceof ProtocolViolation) return this.#abort(ErrorUri.PROTOCOL_VIOLATION, msg.message);
    this.#meter?.received(msg.type, 0);
    this.#route(msg, undefined);
  }

  #route(msg: Message, raw: RawPayload | undefined): void {
    this.#guarded(this.#dispatch, msg, raw);
  }

  /** This session's own handling of a message, or of an authentication that finished late. */
  #guarded<A, B>(handle: (this: Session, a: A, b: B) => void, a: A, b: B): void {
    this.#dispatching = true;
    try {
      handle.call(this, a, b);
    } catch (err) {
      // A bug in routing must not take the process down; the session's state is suspect, so end it.
      this.#ctx.logger.error({ session: this.id, ...errorFields(err) }, 'internal error handling message');
      this.#abort(ErrorUri.PROTOCOL_VIOLATION, 'internal router error');
    } finally {
      this.#dispatching = false;
    }
    const deferred = this.#deferredGoodbye;
    if (deferred !== undefined) {
      this.#deferredGoodbye = undefined;
      this.goodbye(deferred.reason, deferred.message, deferred.why);
    }
  }

  closed(): void {
    if (this.#state === 'closed') return;
    // Transports call this from their own event handlers, where a throw is an uncaught
    // exception that ends the process: like receive(), it must not throw (a lost session's
    // testament goes through the event store, which can).
    try {
      this.#end('lost');
    } catch (err) {
      this.#ctx.logger.error({ session: this.id, ...errorFields(err) }, 'internal error closing session');
    }
  }

  send(message: Message): SendResult {
    // EVENTs routed before this message go first (deferred-fanout.ts).
    drainFanouts();
    if (this.#state === 'closed' || this.#left) return 'closed';
    if (this.peer.sendMessage !== undefined) {
      this.#meter?.sent(message);
      return this.#outbound.pass(message, false) ? 'sent' : 'closed';
    }
    let frame: Uint8Array | Uint8Array[];
    try {
      frame =
        this.peer.sendParts === undefined
          ? encodeMessage(message, this.peer.serializer)
          : encodeMessageParts(message, this.peer.serializer);
    } catch {
      return 'unencodable';
    }
    this.#meter?.sent(message);
    return this.#outbound.write(frame, false) ? 'sent' : 'closed';
  }

  sendShared(shared: SharedFrame): void {
    if (this.#state !== 'established' || this.#left) return;
    if (this.peer.sendMessage !== undefined) {
      this.#outbound.pass(shared.message, true);
      return;
    }
    const frame = shared.frameFor(this.peer.serializer);
    if (frame !== null) this.#outbound.write(frame, true);
    else this.#meter?.eventDropped(DROP_UNENCODABLE);
  }

  /** Router-initiated close: GOODBYE, then wait for the client's GOODBYE (or the transport; at most goodbyeTimeoutMs). */
  goodbye(reason: string, message: string | undefined, why: LeaveReason = 'shutdown'): void {
    if (this.#state === 'establishing') return this.#close('shutdown');
    if (this.#state !== 'established') return;
    // Its own request ended it (an administrator changing their own password): the answer
    // goes first, GOODBYE right after, before any further message is read.
    if (this.#dispatching) {
      this.#deferredGoodbye ??= { reason, message, why };
      return;
    }
    this.send({ type: T.GOODBYE, details: message === undefined ? {} : { message }, reason });
    this.#leaveRealm(why);
    this.#state = 'closing';
    this.#goodbyeSentAt = this.#ctx.now();
  }

  /** Periodic checks, driven by the router's clock: HELLO and GOODBYE timeouts, slow consumers. */
  tick(now: number): void {
    const { limits, logger } = this.#ctx;
    if (this.#state === 'establishing') {
      if (now - this.openedAt >= limits.helloTimeoutMs) {
        logger.info({ peer: this.peer.info.peer }, 'no HELLO in time; closing');
        this.#close('lost');
      }
      return;
    }
    if (this.#state === 'closing') {
      if (this.#goodbyeSentAt !== undefined && now - this.#goodbyeSentAt >= limits.goodbyeTimeoutMs)
        this.#close('lost');
      return;
    }
    if (this.#state === 'established') this.#outbound.tick(now);
  }

  #dispatch(msg: Message, raw: RawPayload | undefined): void {
    switch (this.#state) {
      case 'establishing':
        if (msg.type === T.HELLO) return this.#open(this.#opening.hello(msg));
        if (msg.type === T.ABORT) return this.#close('lost');
        return this.#abort(ErrorUri.PROTOCOL_VIOLATION, `${messageName[msg.type]} received before HELLO`);
      case 'authenticating':
        if (msg.type === T.AUTHENTICATE && this.#opening.challenged)
          return this.#opened(this.#opening.authenticate(msg));
        if (msg.type === T.ABORT) return this.#close('lost');
        return this.#abort(ErrorUri.PROTOCOL_VIOLATION, `${messageName[msg.type]} received while authenticating`);
      case 'closing':
        // Waiting for the GOODBYE reply; anything else is moot now. While a failed
        // authentication waits to be answered no GOODBYE was sent, so a client's GOODBYE is no
        // reply and does not close the connection: the ABORT still comes at the end of the delay.
        if (msg.type === T.ABORT || (msg.type === T.GOODBYE && this.#goodbyeSentAt !== undefined))
          this.#close('goodbye');
        return;
      case 'established':
        return routeEstablished(this, this.realm!, msg, raw, this.#hooks);
      case 'closed':
        return;
    }
  }

  /** A step that took long (a password hash off the event loop) comes when the client may be gone. */
  #opened(step: OpeningStep | Promise<OpeningStep>): void {
    if (!(step instanceof Promise)) return this.#open(step);
    step.then(
      (s) => this.#state === 'authenticating' && this.#guarded(this.#open, s, undefined),
      (err: unknown) => this.#state === 'authenticating' && this.#guarded(rethrow, err, undefined),
    );
  }

  /** Does what a step of the opening says. */
  #open(step: OpeningStep): void {
    if (step.kind === 'abort') {
      if (!step.delayed) return this.#abort(step.reason, step.message);
      // A failed secret is answered late, so guessing costs the guesser time, not the router.
      this.#state = 'closing';
      this.#ctx.setTimeout(() => {
        if (this.#state !== 'closed') this.#abort(step.reason, step.message);
      }, this.#ctx.authFailureDelayMs);
      return;
    }
    if (step.kind === 'challenge') {
      this.#state = 'authenticating';
      this.send({ type: T.CHALLENGE, authmethod: step.authmethod, extra: step.extra });
      return;
    }
    const { realm, roles, identity } = step;
    this.id = this.#ctx.allocateSessionId();
    this.clientRoles = roles;
    this.authid = identity.authid;
    this.authrole = identity.authrole;
    this.authmethod = identity.authmethod;
    this.authprovider = identity.authprovider;
    this.realm = realm;
    this.#state = 'established';
    this.send({ type: T.WELCOME, session: this.id, details: welcomeDetails(realm.uri, identity) });
    // Sending can end the session (a peer over the outbound hard limit is a slow consumer):
    // closed, it must not join, or the realm keeps it for good.
    if (this.#state !== 'established') return;
    this.peer.welcomed?.();
    realm.join(this);
    realm.counters.sessionsOpened[transportIndex(this.peer.info.type)]!++;
    if (this.#meter !== undefined) {
      this.#meter.joined(realm.counters);
      this.#outbound.countEvents(realm.counters.eventsWritten, this.#meter.transport);
    }
  }

  #abort(reason: string, message: string): void {
    this.#ctx.logger.info({ session: this.id || undefined, peer: this.peer.info.peer, reason, message }, 'ABORT');
    this.send({ type: T.ABORT, details: { message }, reason });
    this.#close('lost');
  }

  #kill(why: string): void {
    this.#ctx.logger.warn(
      {
        session: this.id,
        peer: this.peer.info.peer,
        dropped: this.droppedEvents,
        buffered: this.peer.bufferedAmount(),
      },
      why,
    );
    this.#meter?.slowConsumerClosed();
    this.#close('killed', 'slow_consumer');
  }

  #close(why: LeaveReason, reason: CloseReason = 'normal'): void {
    this.#end(why);
    this.peer.close(reason);
  }

  #leaveRealm(why: LeaveReason): void {
    const realm = this.realm;
    if (realm === undefined) return;
    this.realm = undefined;
    this.#left = true;
    // Only a session that joined (a WELCOME that failed to go out never did) counts as closed.
    if (realm.sessions.get(this.id) === this) realm.counters.sessionsClosed[transportIndex(this.peer.info.type)]!++;
    realm.leave(this, why);
  }

  #end(why: LeaveReason): void {
    if (this.#state === 'closed') return;
    // Whatever leaving the realm throws, the session is over and the router forgets it.
    try {
      this.#leaveRealm(why);
    } finally {
      this.#state = 'closed';
      this.#meter?.closed();
      this.#ctx.release(this);
    }
  }
}

function rethrow(err: unknown): never {
  throw err;
}
