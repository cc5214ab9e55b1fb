// A bridge's own WAMP session: MQTT messages a bridge brings in are published through it, an
// ordinary session of the bridge's realm attached like any transport (a Peer), so the realm's
// authentication and the user's grants apply as to any client, and the bridge can tell its
// own publications apart (they are never sent back out).

import { WampPeer } from '../mqtt/wamp-peer.ts';
import type { PeerAcceptor } from '../router/peer.ts';
import { MessageType as T, type Dict, type Message } from '../wamp/messages.ts';

export interface SessionIdentity {
  readonly authid: string;
  readonly ticket: string;
}

export interface BridgeSessionEvents {
  /** WELCOME: the session can publish. */
  established(session: number): void;
  /** ABORT, GOODBYE or a close: why, as the router said it. */
  ended(reason: string): void;
  /** A publication the router refused (a missing grant, an invalid topic). */
  refused(topic: string, error: string, message: string): void;
}

/** Publications awaiting PUBLISHED or ERROR; beyond it the oldest are forgotten (counted as refused). */
const MAX_UNANSWERED = 10_000;

/** The answer to a call made through the session: RESULT, or ERROR with its URI. */
export type CallAnswer =
  | { readonly result: true; readonly args?: unknown[]; readonly kwargs?: Dict }
  | { readonly result: false; readonly error: string; readonly args?: unknown[]; readonly kwargs?: Dict };

export class BridgeSession {
  readonly #peer: WampPeer;
  readonly #events: BridgeSessionEvents;
  readonly #identity: SessionIdentity | undefined;
  readonly #unanswered = new Map<number, string>();
  readonly #calls = new Map<number, (answer: CallAnswer) => void>();
  #request = 0;
  #session = 0;

  constructor(
    router: PeerAcceptor,
    options: { bridge: string; realm: string; identity: SessionIdentity | undefined },
    events: BridgeSessionEvents,
  ) {
    this.#events = events;
    this.#identity = options.identity;
    this.#peer = new WampPeer(
      router,
      { type: 'memory', peer: `bridge:${options.bridge}`, local: true },
      {
        message: (m) => this.#message(m),
        closed: () => this.#ended('closed by the router'),
        bufferedAmount: () => 0,
      },
    );
    const details: Dict = {
      roles: { publisher: {}, caller: {} },
      authmethods: options.identity ? ['ticket'] : ['anonymous'],
    };
    if (options.identity) details.authid = options.identity.authid;
    this.#peer.deliver({ type: T.HELLO, realm: options.realm, details });
  }

  /** Session ID once established, else 0. */
  get id(): number {
    return Math.max(0, this.#session);
  }

  publish(topic: string, args: unknown[] | undefined, kwargs: Dict | undefined): boolean {
    if (this.#session <= 0) return false;
    this.#request = (this.#request % 2 ** 53) + 1;
    if (this.#unanswered.size >= MAX_UNANSWERED) this.#unanswered.delete(this.#unanswered.keys().next().value!);
    this.#unanswered.set(this.#request, topic);
    this.#peer.deliver({
      type: T.PUBLISH,
      request: this.#request,
      options: { acknowledge: true },
      topic,
      ...(args !== undefined && { args }),
      ...(kwargs !== undefined && { kwargs }),
    });
    return true;
  }

  /** Calls a procedure here; `done` gets its answer (ERROR wamp.error.canceled if the session ends first). */
  call(procedure: string, args: unknown[] | undefined, kwargs: Dict | undefined, done: (a: CallAnswer) => void): void {
    if (this.#session <= 0) {
      done({ result: false, error: 'wamp.error.canceled', args: ["the bridge's session is not established"] });
      return;
    }
    this.#request = (this.#request % 2 ** 53) + 1;
    this.#calls.set(this.#request, done);
    this.#peer.deliver({
      type: T.CALL,
      request: this.#request,
      options: {},
      procedure,
      ...(args !== undefined && { args }),
      ...(kwargs !== undefined && { kwargs }),
    });
  }

  close(): void {
    if (this.#session > 0) this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.system_shutdown' });
    this.#peer.lost();
  }

  #message(m: Message): void {
    switch (m.type) {
      case T.WELCOME:
        this.#session = m.session;
        this.#events.established(m.session);
        return;
      case T.CHALLENGE:
        this.#peer.deliver({ type: T.AUTHENTICATE, signature: this.#identity?.ticket ?? '', extra: {} });
        return;
      case T.ABORT:
        this.#ended(`${m.reason}${typeof m.details.message === 'string' ? `: ${m.details.message}` : ''}`);
        return;
      case T.GOODBYE:
        // The router is shutting down or killed the session: answered, so it need not wait for us.
        this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
        this.#ended(m.reason);
        return;
      case T.PUBLISHED:
        this.#unanswered.delete(m.request);
        return;
      case T.RESULT: {
        const done = this.#calls.get(m.request);
        this.#calls.delete(m.request);
        done?.({
          result: true,
          ...(m.args !== undefined && { args: m.args }),
          ...(m.kwargs !== undefined && { kwargs: m.kwargs }),
        });
        return;
      }
      case T.ERROR: {
        if (m.requestType === T.CALL) {
          const done = this.#calls.get(m.request);
          this.#calls.delete(m.request);
          done?.({
            result: false,
            error: m.error,
            ...(m.args !== undefined && { args: m.args }),
            ...(m.kwargs !== undefined && { kwargs: m.kwargs }),
          });
          return;
        }
        const topic = this.#unanswered.get(m.request) ?? '?';
        this.#unanswered.delete(m.request);
        this.#events.refused(topic, m.error, typeof m.args?.[0] === 'string' ? m.args[0] : '');
        return;
      }
    }
  }

  #ended(reason: string): void {
    if (this.#session === -1) return;
    this.#session = -1;
    for (const done of this.#calls.values()) done({ result: false, error: 'wamp.error.canceled', args: [reason] });
    this.#calls.clear();
    this.#events.ended(reason);
  }
}
