// The WAMP side of HTTP requests: a session of the API's realm, attached to the router as a
// Peer like any transport (src/mqtt/wamp-peer.ts), so authentication, grants, the meta API
// and the mesh apply as to any client. This file speaks typed messages: HELLO and its
// challenge, CALL (with progressive results and CANCEL), PUBLISH, SUBSCRIBE.

import type { CloseReason, PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { WampPeer, type WampClient } from '../mqtt/wamp-peer.ts';
import { hasKeys } from '../wamp/has-keys.ts';
import { MessageType as T, type Dict, type Message } from '../wamp/messages.ts';

/** How the session logs in. */
export type Credentials =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'ticket'; readonly authid: string; readonly ticket: string }
  /** An identity the gateway has verified itself (a bearer token); see asserted.ts. */
  | { readonly kind: 'asserted' };

/** Arguments and keyword arguments of a RESULT, an ERROR or an EVENT. */
export interface Payload {
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Dict>;
}

export type Outcome =
  | ({ readonly ok: true; readonly details: Dict } & Payload)
  | ({ readonly ok: false; readonly error: string } & Payload);

/** A CALL under way. */
export interface CallHandle {
  readonly result: Promise<Outcome>;
  /** Sends CANCEL (kill); the result comes from the router (the callee's answer to INTERRUPT). */
  cancel(): void;
  /** Sends CANCEL (kill) and settles `result` with `outcome` now, whatever the router answers later. */
  abandon(outcome: Outcome): void;
}

export interface WampEvent extends Payload {
  readonly publication: number;
  readonly topic: string;
}

export interface Welcome {
  readonly session: number;
  readonly authid: string;
  readonly authrole: string;
}

/** Who gets a call's outcome (and its progressive results, when it asked for them). */
export interface CallReceiver {
  resolve(outcome: Outcome): void;
  progress?(p: Payload): void;
}

type Pending = {
  resolve(o: Outcome | { ok: true; publication: number } | { ok: true; subscription: number }): void;
  progress?(p: Payload): void;
};

// A message's missing Arguments or ArgumentsKw, shared by every answer without them (most):
// nobody changes an Outcome's payload.
const NO_ARGS: readonly unknown[] = Object.freeze([]);
const NO_KWARGS: Readonly<Dict> = Object.freeze({});

const payloadOf = (m: { args?: unknown[]; kwargs?: Dict }): Payload => ({
  args: m.args ?? NO_ARGS,
  kwargs: m.kwargs ?? NO_KWARGS,
});

const CLOSED: Outcome = { ok: false, error: 'wamp.error.network_failure', args: ['the session ended'], kwargs: {} };

export class ClientSession implements WampClient {
  readonly #peer: WampPeer;
  readonly #buffered: () => number;
  #state: 'opening' | 'open' | 'closed' = 'opening';
  #leaving = false;
  #nextRequest = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #subscriptions = new Map<number, (e: WampEvent) => void>();
  #opened!: (w: Welcome | { abort: string; message: string }) => void;
  #credentials: Credentials;
  #closedListeners: ((reason: CloseReason) => void)[] = [];
  welcome: Welcome | undefined;

  /** `buffered`: bytes the HTTP side holds unwritten (an event stream), for the router's slow-consumer rules. */
  constructor(acceptor: PeerAcceptor, info: TransportInfo, credentials: Credentials, buffered: () => number = () => 0) {
    this.#credentials = credentials;
    this.#buffered = buffered;
    // In process, nothing to encode: the gateway builds plain values and reads the router's.
    this.#peer = new WampPeer(acceptor, info, this, { unencoded: true });
  }

  /** HELLO, and the challenge if one comes: resolves with WELCOME's identity or the ABORT. */
  open(realm: string): Promise<Welcome | { abort: string; message: string }> {
    const c = this.#credentials;
    const details: Dict = {
      roles: {
        caller: { features: { progressive_call_results: true, call_canceling: true } },
        publisher: {},
        subscriber: {},
      },
    };
    if (c.kind === 'ticket') {
      details.authmethods = ['ticket'];
      details.authid = c.authid;
    } else if (c.kind === 'asserted') details.authmethods = [ASSERTED_METHOD];
    else details.authmethods = ['anonymous'];
    const p = new Promise<Welcome | { abort: string; message: string }>((r) => (this.#opened = r));
    this.#peer.deliver({ type: T.HELLO, realm, details });
    return p;
  }

  /** Calls, publications or subscriptions under way: an idle sweep leaves the session alone. */
  get busy(): boolean {
    return this.#pending.size > 0 || this.#subscriptions.size > 0;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  onClosed(fn: (reason: CloseReason) => void): void {
    this.#closedListeners.push(fn);
  }

  /** A CALL; `progress` receives progressive results (and asks for them). `cancel` sends CANCEL (kill). */
  call(
    procedure: string,
    args: unknown[] | undefined,
    kwargs: Dict | undefined,
    options: Dict,
    progress?: (p: Payload) => void,
  ): CallHandle {
    let request = 0;
    const result = new Promise<Outcome>((resolve) => {
      request = this.start(procedure, args, kwargs, options, { resolve, ...(progress && { progress }) });
    });
    return {
      result,
      cancel: () => this.cancel(request),
      abandon: (outcome) => this.abandon(request, outcome),
    };
  }

  /**
   * A CALL whose outcome goes to `receiver` (at once when the session is not open, or when the
   * router answers while this runs): the request ID, for cancel() and abandon(). The gateway's
   * calls use this, with no promise or closures of their own.
   */
  start(
    procedure: string,
    args: unknown[] | undefined,
    kwargs: Dict | undefined,
    options: Dict,
    receiver: CallReceiver,
  ): number {
    const request = this.#nextRequest++;
    if (this.#state !== 'open') {
      receiver.resolve(CLOSED);
      return request;
    }
    this.#pending.set(request, receiver as Pending);
    const opts = receiver.progress ? { ...options, receive_progress: true } : options;
    // One shape, the parsed CALL's (wamp/parse.ts): the core checks it and routes it as it is.
    const withKwargs = hasKeys(kwargs);
    this.#peer.deliver({
      type: T.CALL,
      request,
      options: opts,
      procedure,
      args: withKwargs ? (args ?? []) : args !== undefined && args.length > 0 ? args : undefined,
      kwargs: withKwargs ? kwargs : undefined,
    });
    return request;
  }

  /** Sends CANCEL (kill) for a call under way; its outcome comes from the router (the callee's answer to INTERRUPT). */
  cancel(request: number): void {
    if (this.#pending.has(request)) this.#peer.deliver({ type: T.CANCEL, request, options: { mode: 'kill' } });
  }

  /** Sends CANCEL (kill) and gives the call `outcome` now, whatever the router answers later. */
  abandon(request: number, outcome: Outcome): void {
    const p = this.#pending.get(request);
    if (p === undefined) return;
    this.cancel(request);
    this.#pending.delete(request);
    p.resolve(outcome);
  }

  /** An acknowledged PUBLISH: the publication ID, or the error. */
  publish(
    topic: string,
    args: unknown[] | undefined,
    kwargs: Dict | undefined,
    options: Dict,
  ): Promise<{ ok: true; publication: number } | Outcome> {
    const request = this.#nextRequest++;
    return new Promise((resolve) => {
      if (this.#state !== 'open') return resolve(CLOSED);
      this.#pending.set(request, { resolve: resolve as Pending['resolve'] });
      this.#peer.deliver({
        type: T.PUBLISH,
        request,
        options: { ...options, acknowledge: true },
        topic,
        ...wire(args, kwargs),
      });
    });
  }

  subscribe(
    topic: string,
    match: string,
    onEvent: (e: WampEvent) => void,
  ): Promise<{ ok: true; subscription: number } | Outcome> {
    const request = this.#nextRequest++;
    return new Promise((resolve) => {
      if (this.#state !== 'open') return resolve(CLOSED);
      this.#pending.set(request, {
        resolve: (o) => {
          if (o.ok && 'subscription' in o) this.#subscriptions.set(o.subscription, onEvent);
          resolve(o as { ok: true; subscription: number } | Outcome);
        },
      });
      this.#peer.deliver({ type: T.SUBSCRIBE, request, options: match === 'exact' ? {} : { match }, topic });
    });
  }

  /** GOODBYE and close: the session leaves its realm now. */
  close(): void {
    if (this.#state === 'closed') return;
    // Marked first: the router answers our GOODBYE with its own at once, and that answer must
    // not be taken for a GOODBYE of the router's to reply to.
    this.#leaving = true;
    if (this.#state === 'open')
      this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
    this.#peer.lost();
    this.#ended('normal');
  }

  // --- WampClient: from the router ---

  message(m: Message): void {
    switch (m.type) {
      case T.WELCOME: {
        this.#state = 'open';
        const d = m.details;
        this.welcome = { session: m.session, authid: String(d.authid ?? ''), authrole: String(d.authrole ?? '') };
        this.#opened(this.welcome);
        return;
      }
      case T.CHALLENGE: {
        const c = this.#credentials;
        if (m.authmethod === 'ticket' && c.kind === 'ticket') {
          // The secret is needed once; it is not kept past the handshake.
          this.#credentials = { kind: 'ticket', authid: c.authid, ticket: '' };
          this.#peer.deliver({ type: T.AUTHENTICATE, signature: c.ticket, extra: {} });
        } else this.#peer.deliver({ type: T.ABORT, details: {}, reason: 'wamp.error.no_auth_method' });
        return;
      }
      case T.ABORT: {
        const message = typeof m.details.message === 'string' ? m.details.message : m.reason;
        this.#opened({ abort: m.reason, message });
        this.#peer.lost();
        this.#ended('normal');
        return;
      }
      case T.GOODBYE:
        if (this.#state === 'open' && !this.#leaving)
          this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
        this.#peer.lost();
        this.#ended('normal');
        return;
      case T.RESULT: {
        const p = this.#pending.get(m.request);
        if (p === undefined) return;
        if (m.details.progress === true) {
          p.progress?.(payloadOf(m));
          return;
        }
        this.#pending.delete(m.request);
        p.resolve({ ok: true, details: m.details, args: m.args ?? NO_ARGS, kwargs: m.kwargs ?? NO_KWARGS });
        return;
      }
      case T.ERROR: {
        const p = this.#pending.get(m.request);
        if (p === undefined) return;
        this.#pending.delete(m.request);
        p.resolve({ ok: false, error: m.error, args: m.args ?? NO_ARGS, kwargs: m.kwargs ?? NO_KWARGS });
        return;
      }
      case T.PUBLISHED:
        this.#pending.get(m.request)?.resolve({ ok: true, publication: m.publication });
        this.#pending.delete(m.request);
        return;
      case T.SUBSCRIBED:
        this.#pending.get(m.request)?.resolve({ ok: true, subscription: m.subscription });
        this.#pending.delete(m.request);
        return;
      case T.EVENT: {
        const topic = typeof m.details.topic === 'string' ? m.details.topic : '';
        this.#subscriptions.get(m.subscription)?.({ publication: m.publication, topic, ...payloadOf(m) });
        return;
      }
      case T.UNSUBSCRIBED:
        // Router-initiated (the subscription was revoked): the stream has nothing more to carry.
        if (m.request === 0) this.close();
        return;
      default:
        return;
    }
  }

  closed(reason: CloseReason): void {
    this.#ended(reason);
  }

  bufferedAmount(): number {
    return this.#buffered();
  }

  #ended(reason: CloseReason): void {
    if (this.#state === 'closed') return;
    const wasOpening = this.#state === 'opening';
    this.#state = 'closed';
    if (wasOpening) this.#opened({ abort: 'wamp.error.network_failure', message: 'the session ended before WELCOME' });
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.resolve(CLOSED);
    for (const fn of this.#closedListeners) fn(reason);
  }
}

/** The authmethod an in-process asserted identity logs in with (asserted.ts). */
export const ASSERTED_METHOD = 'wampmesh-gateway';

function wire(args: unknown[] | undefined, kwargs: Dict | undefined): { args?: unknown[]; kwargs?: Dict } {
  if (kwargs !== undefined && Object.keys(kwargs).length > 0) return { args: args ?? [], kwargs };
  return args !== undefined && args.length > 0 ? { args } : {};
}
