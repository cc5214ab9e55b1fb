// An uplink: another WAMP router (another wampmesh, Crossbar, Bondy, fox-wamp) as a bridge's
// remote side, reached as a plain WAMP client over WebSocket or RawSocket with the JSON
// serialization (wamp-wire.ts).
//   - out: events from the outbox are published there with acknowledge; PUBLISHED confirms one;
//     an ERROR wamp.error.not_authorized or invalid_uri is a refusal for good (dead letter);
//   - in: topics subscribed to there; each EVENT is published here through the bridge's session;
//   - procedure: registered there; each INVOCATION is a call here through the bridge's session,
//     its RESULT or ERROR the YIELD or ERROR there. Calls are never queued: while the uplink is
//     down the registrations are gone there, and callers there get wamp.error.no_such_procedure.
// One connection at a time, reconnected with the bridge's jittered backoff.

import { json } from '../serializers/index.ts';
import { toArray } from '../wamp/marshal.ts';
import { type Dict, type Message, MessageType as T } from '../wamp/messages.ts';
import { parseMessage, ProtocolViolation } from '../wamp/parse.ts';
import { Redial } from './backoff.ts';
import type { WampBridgeConfig } from './config.ts';
import { answer, helloDetails, remoteCredential, type RemoteCredential } from './client-auth.ts';
import { decodeEvent } from './event-payload.ts';
import { PermanentRefusal, type Sink } from './forwarder.ts';
import type { OutboxEntry } from './outbox.ts';
import type { CallAnswer } from './wamp-session.ts';
import { openWire, type Wire } from './wamp-wire.ts';

/** Errors for a publication that no retry changes. */
const PERMANENT = new Set(['wamp.error.not_authorized', 'wamp.error.invalid_uri', 'wamp.error.invalid_argument']);

/**
 * Some routers (fox-wamp) send `null` for an absent Arguments or ArgumentsKw, which the spec
 * leaves out instead: read as left out, so such a router can be the other side.
 */
function lenient(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const a = [...value];
  while (a.length > 3 && a.at(-1) === null) a.pop();
  const argsAt = a[0] === T.ERROR ? 5 : a[0] === T.EVENT || a[0] === T.INVOCATION ? 4 : -1;
  if (argsAt > 0 && a.length > argsAt + 1 && a[argsAt] === null) a[argsAt] = [];
  return a;
}

export interface WampSinkEvents {
  up(): void;
  down(reason: string): void;
  /** An event from there for an `in` rule. */
  event(topic: string, args: unknown[] | undefined, kwargs: Dict | undefined): void;
  /** A call from there for a `procedure` rule. */
  call(procedure: string, args: unknown[] | undefined, kwargs: Dict | undefined, done: (a: CallAnswer) => void): void;
  /** Something there refused (a subscription, a registration): for status and logs. */
  problem(message: string): void;
}

export class WampSink implements Sink {
  readonly #config: WampBridgeConfig;
  readonly #events: WampSinkEvents;
  readonly #credential: RemoteCredential;
  #wire: Wire | undefined;
  #established = false;
  #request = 0;
  readonly #redial: Redial;
  readonly #publishes = new Map<number, { resolve(): void; reject(e: Error): void }>();
  /** SUBSCRIBE and REGISTER requests, by request id, for their rule's URI. */
  readonly #asked = new Map<number, string>();
  readonly #subscriptions = new Map<number, string>();
  readonly #registrations = new Map<number, string>();

  constructor(config: WampBridgeConfig, events: WampSinkEvents) {
    this.#config = config;
    this.#events = events;
    this.#redial = new Redial(config.retry, () => this.#connect());
    this.#credential = remoteCredential(config);
  }

  get ready(): boolean {
    return this.#established;
  }

  start(): void {
    this.#connect();
  }

  send(entry: OutboxEntry): Promise<void> {
    if (!this.#established) return Promise.reject(new Error('not connected'));
    const event = decodeEvent(entry.payload);
    const request = this.#next();
    return new Promise<void>((resolve, reject) => {
      this.#publishes.set(request, { resolve, reject });
      this.#write({
        type: T.PUBLISH,
        request,
        options: { acknowledge: true },
        topic: entry.topic,
        ...(event.args !== undefined && { args: event.args }),
        ...(event.kwargs !== undefined && { kwargs: event.kwargs }),
      });
    });
  }

  reset(reason: string): void {
    if (this.#established) this.#drop(reason);
  }

  async stop(): Promise<void> {
    this.#redial.stop();
    if (this.#established) this.#write({ type: T.GOODBYE, details: {}, reason: 'wamp.close.system_shutdown' });
    const wire = this.#wire;
    this.#wire = undefined;
    this.#established = false;
    wire?.close();
  }

  #next(): number {
    this.#request = (this.#request % 2 ** 53) + 1;
    return this.#request;
  }

  #write(m: Message): void {
    try {
      this.#wire?.send(Buffer.from(json.encode(toArray(m))).toString('utf8'));
    } catch (err) {
      this.#drop(`cannot send: ${(err as Error).message}`);
    }
  }

  #connect(): void {
    if (this.#redial.stopped) return;
    let wire: Wire | undefined;
    const mine = () => this.#wire === wire && wire !== undefined;
    try {
      wire = openWire(this.#config.url, {
        open: () => {
          if (!mine()) return;
          const details: Dict = {
            roles: { publisher: {}, subscriber: {}, callee: {} },
            ...helloDetails(this.#credential),
          };
          this.#write({ type: T.HELLO, realm: this.#config.remoteRealm ?? this.#config.realm, details });
        },
        message: (text) => {
          if (!mine()) return;
          let message: Message | ProtocolViolation;
          try {
            message = parseMessage(lenient(json.decode(Buffer.from(text))));
          } catch (err) {
            return this.#drop(`undecodable message: ${(err as Error).message}`);
          }
          if (message instanceof ProtocolViolation) return this.#drop(`protocol violation: ${message.message}`);
          this.#receive(message);
        },
        closed: (reason) => {
          if (mine()) this.#drop(reason);
        },
      });
    } catch (err) {
      this.#drop((err as Error).message);
      return;
    }
    this.#wire = wire;
  }

  #receive(m: Message): void {
    switch (m.type) {
      case T.CHALLENGE: {
        const signature = answer(this.#credential, m.authmethod, m.extra);
        if (signature instanceof Error) return this.#drop(signature.message);
        return this.#write({ type: T.AUTHENTICATE, signature, extra: {} });
      }
      case T.WELCOME:
        return this.#welcomed();
      case T.ABORT:
        return this.#drop(
          `refused: ${m.reason}${typeof m.details.message === 'string' ? ` (${m.details.message})` : ''}`,
        );
      case T.GOODBYE:
        this.#write({ type: T.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
        return this.#drop(`the other router ended the session: ${m.reason}`);
      case T.PUBLISHED: {
        const p = this.#publishes.get(m.request);
        this.#publishes.delete(m.request);
        return p?.resolve();
      }
      case T.SUBSCRIBED:
      case T.REGISTERED: {
        const uri = this.#asked.get(m.request);
        this.#asked.delete(m.request);
        if (uri === undefined) return;
        if (m.type === T.SUBSCRIBED) this.#subscriptions.set(m.subscription, uri);
        else this.#registrations.set(m.registration, uri);
        return;
      }
      case T.ERROR:
        return this.#error(m.requestType, m.request, m.error, m.args);
      case T.EVENT: {
        const rule = this.#subscriptions.get(m.subscription);
        if (rule === undefined) return;
        const topic = typeof m.details.topic === 'string' ? m.details.topic : rule;
        return this.#events.event(topic, m.args, m.kwargs);
      }
      case T.INVOCATION:
        return this.#invocation(m.request, m.registration, m.details, m.args, m.kwargs);
      case T.INTERRUPT:
        // The local call runs on; its late answer is dropped. The caller there was answered.
        return this.#write({
          type: T.ERROR,
          requestType: T.INVOCATION,
          request: m.request,
          details: {},
          error: 'wamp.error.canceled',
        });
    }
  }

  #welcomed(): void {
    this.#established = true;
    this.#redial.succeeded();
    for (const rule of this.#config.rules) {
      if (rule.direction === 'out') continue;
      const request = this.#next();
      this.#asked.set(request, rule.wamp);
      const options = rule.match === 'exact' ? {} : { match: rule.match };
      if (rule.direction === 'in') this.#write({ type: T.SUBSCRIBE, request, options, topic: rule.wamp });
      else this.#write({ type: T.REGISTER, request, options, procedure: rule.wamp });
    }
    this.#events.up();
  }

  #error(requestType: number, request: number, error: string, args: unknown[] | undefined): void {
    const text = `${error}${typeof args?.[0] === 'string' ? ` (${args[0]})` : ''}`;
    if (requestType === T.PUBLISH) {
      const p = this.#publishes.get(request);
      this.#publishes.delete(request);
      p?.reject(PERMANENT.has(error) ? new PermanentRefusal(text) : new Error(text));
      return;
    }
    const uri = this.#asked.get(request);
    this.#asked.delete(request);
    if (uri !== undefined)
      this.#events.problem(
        `${requestType === T.SUBSCRIBE ? 'subscription to' : 'registration of'} '${uri}' refused: ${text}`,
      );
  }

  #invocation(
    request: number,
    registration: number,
    details: Dict,
    args: unknown[] | undefined,
    kwargs: Dict | undefined,
  ): void {
    const rule = this.#registrations.get(registration);
    const wire = this.#wire;
    if (rule === undefined) {
      this.#write({
        type: T.ERROR,
        requestType: T.INVOCATION,
        request,
        details: {},
        error: 'wamp.error.no_such_registration',
      });
      return;
    }
    const procedure = typeof details.procedure === 'string' ? details.procedure : rule;
    let answered = false;
    const timer = setTimeout(
      () => answer({ result: false, error: 'wamp.error.canceled', args: ['no answer in time'] }),
      this.#config.callTimeoutMs,
    );
    const answer = (a: CallAnswer) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      // An answer for a connection that is gone has nobody to go to.
      if (this.#wire !== wire || !this.#established) return;
      if (a.result)
        this.#write({
          type: T.YIELD,
          request,
          options: {},
          ...(a.args !== undefined && { args: a.args }),
          ...(a.kwargs !== undefined && { kwargs: a.kwargs }),
        });
      else
        this.#write({
          type: T.ERROR,
          requestType: T.INVOCATION,
          request,
          details: {},
          error: a.error,
          ...(a.args !== undefined && { args: a.args }),
          ...(a.kwargs !== undefined && { kwargs: a.kwargs }),
        });
    };
    this.#events.call(procedure, args, kwargs, answer);
  }

  #drop(reason: string): void {
    const wire = this.#wire;
    this.#wire = undefined;
    this.#established = false;
    wire?.close();
    const err = new Error(`WAMP router ${this.#config.url}: ${reason}`);
    for (const p of this.#publishes.values()) p.reject(err);
    this.#publishes.clear();
    this.#asked.clear();
    this.#subscriptions.clear();
    this.#registrations.clear();
    this.#events.down(err.message);
    this.#redial.failed();
  }
}
