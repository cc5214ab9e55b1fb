// An MQTT session: the WAMP session behind one client identity (wamp-peer.ts) and the MQTT
// state that goes with it (subscriptions, QoS in both directions, the will). It translates
// PUBLISH -> WAMP PUBLISH, SUBSCRIBE -> WAMP SUBSCRIBE, EVENT -> PUBLISH; routing, grants and
// everything else are the router's. A persistent session (kept.ts) outlives its connection:
// detached, it stays subscribed in the router and its QoS 1/2 messages wait in SQLite until
// its client returns or it expires; after a restart it comes back before its client does
// (restore.ts).

import type { IPublishPacket, ISubscribePacket, IUnsubscribePacket, Packet } from 'mqtt-packet';
import { silentLogger, type Logger } from '../log.ts';
import type { CloseReason, PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { MessageType as T, type Message, type Welcome } from '../wamp/messages.ts';
import { EventDelivery, type DeliverySink } from './delivery.ts';
import { Inbound, type InboundSink } from './inbound.ts';
import { admit, KeptSession } from './kept.ts';
import type { ConnectionLink, SessionParams } from './link.ts';
import type { MqttOptions } from './options.ts';
import { Outbound, publishPacket, type OutboundMessage, type OutboundSink } from './outbound.ts';
import { messageSize } from './packet-size.ts';
import { challengeAnswer, helloDetails, recordOf, resumeDetails, sessionKey } from './identity.ts';
import type { RestorableSession, StoredMessage } from './persistence.ts';
import { connackReasonOfAbort, Reason } from './reason-codes.ts';
import { WampSide } from './requests.ts';
import { Subscriber, type SubscriberSink } from './subscribe.ts';
import { Subscriptions } from './subscriptions.ts';
import { sendable } from './undeliverable.ts';
import { WampPeer, type WampClient } from './wamp-peer.ts';
import { addWill, publishWill } from './will.ts';

/** Live sessions by client identity, for take-over and resumption (MQTT 3.1.4-3). */
export type SessionRegistry = Map<string, MqttSession>;

/** joining: welcomed, CONNECT not yet accepted (its will being set). */
type State = 'authenticating' | 'joining' | 'connected' | 'detached' | 'closed';

export class MqttSession implements WampClient {
  readonly #options: MqttOptions;
  readonly #registry: SessionRegistry;
  readonly #params: SessionParams;
  readonly #log: Logger;
  readonly #peer: WampPeer;
  #link: ConnectionLink | undefined;
  #state: State = 'authenticating';
  #password: string | undefined;
  #key: string | undefined;
  /** Set for a persistent session once it is up. */
  #kept: KeptSession | undefined;
  /** Set while a session kept over a restart joins without its client. */
  #restoring: RestorableSession | undefined;
  readonly #subscriber: Subscriber;
  readonly #outbound: Outbound;
  readonly #inbound: Inbound;
  readonly #wamp: WampSide;
  readonly #delivery: EventDelivery;
  #closeReason: number = Reason.UNSPECIFIED_ERROR;

  constructor(
    acceptor: PeerAcceptor,
    info: TransportInfo,
    options: MqttOptions,
    registry: SessionRegistry,
    params: SessionParams,
    link: ConnectionLink | undefined,
  ) {
    this.#options = options;
    this.#registry = registry;
    this.#params = params;
    this.#link = link;
    this.#log = options.logger ?? silentLogger;
    // The router calls back only after HELLO: the peer may come first.
    this.#peer = new WampPeer(acceptor, info.type === 'mqtt' ? info : { ...info, type: 'mqtt' }, this);
    this.#wamp = new WampSide(this.#peer);
    const port = new MqttSession.#Port(this);
    this.#outbound = new Outbound(port, params.window, options.maxQueued, options.maxOutboundBytes, params.v5);
    const settings = { v5: params.v5, maxInflight: options.maxInflight, wamp: this.#wamp, store: options.sessions };
    this.#inbound = new Inbound(port, settings);
    const subs = new Subscriptions();
    const limits = { v5: params.v5, maxSubscriptions: options.maxSubscriptions };
    this.#subscriber = new Subscriber(subs, this.#wamp, limits, port);
    const client = { maxPacket: params.clientMaxPacket, v5: params.v5, clientId: params.clientId, log: this.#log };
    this.#delivery = new EventDelivery(subs, client, port);
  }

  // What Outbound, EventDelivery, Inbound and Subscriber call back: one object rather than a dozen
  // closures per session (ten thousand idle clients each held them; BENCHMARKS.md, MQTT idle memory).
  static readonly #Port = class implements OutboundSink, DeliverySink, InboundSink, SubscriberSink {
    readonly #s: MqttSession;
    constructor(s: MqttSession) {
      this.#s = s;
    }
    publish(id: number, m: OutboundMessage, dup: boolean): boolean {
      return this.#s.#sendPublish(m, id, dup);
    }
    pubrel(id: number): void {
      this.#s.#write({ cmd: 'pubrel', messageId: id });
    }
    settled(m: OutboundMessage): void {
      this.#s.#kept?.settled(m);
    }
    spills(): boolean {
      return this.#s.#kept !== undefined;
    }
    readBack(held: OutboundMessage[], maxBytes: number): { messages: OutboundMessage[]; more: boolean } {
      return this.#s.#kept?.readBack(held, maxBytes) ?? { messages: [], more: false };
    }
    mode(): 'connected' | 'absent' | 'closed' {
      const state = this.#s.#state;
      return state === 'connected' ? 'connected' : state === 'detached' ? 'absent' : 'closed';
    }
    send(m: OutboundMessage): void {
      if (m.qos === 0) return void this.#s.#sendPublish(m, undefined, false);
      this.#s.#kept?.queue(m); // on disk before it is acknowledged, so a crash does not lose it
      this.#s.#outbound.push(m);
    }
    sendPacket(packet: Uint8Array): void {
      this.#s.#link?.writeEncoded(packet);
    }
    keep(messages: OutboundMessage[]): void {
      for (const m of messages) this.#s.#kept?.queue(m);
    }
    write(packet: Packet): void {
      this.#s.#write(packet);
    }
    fail(reason: number, message: string): void {
      this.#s.#link?.fail(reason, message);
    }
    refused(topic: string, message: string): void {
      this.#s.#log.debug({ clientId: this.#s.#params.clientId, topic }, message);
    }
    filterRefused(filter: string, message: string): void {
      this.#s.#log.debug({ clientId: this.#s.#params.clientId, filter }, message);
    }
    filtersChanged(): void {
      if (this.#s.#state === 'connected') this.#s.#kept?.save(this.#s.#subscriber.filters());
    }
  };

  get persistent(): boolean {
    return this.#params.expiryMs > 0 && this.#options.sessions !== undefined;
  }

  /** HELLO: a verified client certificate, else with a password the realm's ticket authentication; else anonymous. */
  hello(username: string | undefined, password: string | undefined): void {
    this.#password = password;
    const details = helloDetails(username, password, this.#peer.info.certificate !== undefined);
    this.#peer.deliver({ type: T.HELLO, realm: this.#options.realm, details });
  }

  /** HELLO for a session kept over a restart, with the one-time token of resume.ts. */
  resume(token: string, kept: RestorableSession): void {
    this.#restoring = kept;
    const details = resumeDetails(token, kept.record.authid);
    this.#peer.deliver({ type: T.HELLO, realm: this.#options.realm, details });
  }

  // --- from the connection ---

  publish(topic: string, p: IPublishPacket): void {
    this.#inbound.publish(topic, p, Date.now());
  }

  subscribe(p: ISubscribePacket): void {
    this.#subscriber.subscribe(p);
  }

  unsubscribe(p: IUnsubscribePacket): void {
    this.#subscriber.unsubscribe(p);
  }

  puback(id: number): boolean {
    return this.#outbound.puback(id);
  }
  pubrec(id: number, failed: boolean): boolean {
    return this.#outbound.pubrec(id, failed);
  }
  pubcomp(id: number): boolean {
    return this.#outbound.pubcomp(id);
  }
  pubrel(id: number): void {
    this.#inbound.pubrel(id);
  }

  /**
   * The connection ended. `will`: whether the will is due (not after a normal DISCONNECT).
   * A persistent session detaches and waits for its client `expiryMs` (an MQTT 5 DISCONNECT may
   * change it; 0 ends it); any other ends now.
   */
  gone(will: boolean, now: number, expiryMs = this.#params.expiryMs): void {
    if (this.#state === 'closed' || this.#state === 'detached') return;
    this.#link = undefined;
    if (this.#state !== 'connected' || this.#kept === undefined || expiryMs === 0) {
      // Lost, the session's testament (the will) is published; after DISCONNECT GOODBYE publishes
      // none, nor while CONNECT is not accepted yet (the will is not in force before CONNACK).
      const lost = will && this.#state !== 'joining';
      this.#state = 'closed';
      this.#kept?.delete(); // kept no longer: expiry 0 on DISCONNECT
      this.#kept = undefined;
      this.#forget();
      if (lost) this.#peer.lost();
      else this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.close_realm' });
      return;
    }
    this.#state = 'detached';
    this.#detach(now + expiryMs);
    publishWill(this.#wamp, will ? this.#params.will : undefined);
  }

  /** A detached session past its expiry ends. */
  tick(now: number): void {
    if (this.#state === 'detached' && now >= (this.#kept?.until ?? 0)) {
      this.#kept?.delete();
      this.#retire();
    }
  }

  /** Another connection of the same client identity took over (MQTT 3.1.4-3). */
  supersede(): void {
    // This turn's events go into the queue the next connection reads, not nowhere.
    this.#delivery.flush();
    const link = this.#link;
    this.#key = undefined;
    this.#kept = undefined;
    if (this.#state === 'connected' && link !== undefined) {
      this.#outbound.drain(); // unacknowledged messages stay in SQLite for the next connection
      this.#link = undefined;
      this.#state = 'closed';
      this.#peer.lost(); // the will is due: its connection is taken away
      link.ended(Reason.SESSION_TAKEN_OVER);
      return;
    }
    this.#retire();
  }

  // --- WampClient: what the router sends the session ---

  bufferedAmount(): number {
    return this.#link?.bufferedAmount() ?? 0;
  }

  /** Bytes of QoS 1/2 messages held in memory for the client (in flight and waiting; metrics, tests). */
  get outboundBytes(): number {
    return this.#outbound.heldBytes;
  }

  message(msg: Message): void {
    // The router sends WELCOME and GOODBYE before it has finished its own state change (joining
    // the realm, leaving it): what they make this session send waits until it has.
    if (msg.type === T.WELCOME || msg.type === T.GOODBYE) {
      queueMicrotask(() => this.#settled(msg));
      return;
    }
    if (this.#state === 'authenticating') return this.#handshake(msg);
    if (this.#state === 'closed') return;
    switch (msg.type) {
      case T.EVENT:
        return this.#delivery.event(msg, this.#wamp.publishing);
      case T.PUBLISHED:
      case T.SUBSCRIBED:
      case T.UNSUBSCRIBED:
      case T.RESULT:
      case T.ERROR:
        return this.#wamp.answer(msg);
      default:
    }
  }

  closed(reason: CloseReason): void {
    if (this.#state === 'closed') return;
    // The router ended it (slow consumer): a kept session stays for its client, with the expiry it
    // asked for, and without one it would be kept (and counted) for good.
    if (this.#state === 'connected') this.#detach(Date.now() + this.#params.expiryMs);
    const link = this.#link;
    this.#state = 'closed';
    this.#link = undefined;
    this.#forget();
    link?.ended(reason === 'slow_consumer' ? Reason.QUOTA_EXCEEDED : this.#closeReason);
  }

  #settled(msg: Message): void {
    // A microtask: a throw here would be uncaught and end the process.
    try {
      if (msg.type === T.WELCOME) {
        if (this.#state === 'authenticating') this.#handshake(msg);
      } else this.#goodbye(msg.type === T.GOODBYE ? msg.reason : '');
    } catch (err) {
      this.#log.error(
        { clientId: this.#params.clientId, err: (err as Error).message, stack: (err as Error).stack },
        'mqtt: internal error',
      );
      this.#link?.fail(Reason.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error');
    }
  }

  /** GOODBYE from the router: shutdown, or the session was killed. */
  #goodbye(reason: string): void {
    // The answer to a GOODBYE of ours needs none.
    if (this.#state === 'closed' || reason === 'wamp.close.goodbye_and_out') return;
    const shutdown = reason === 'wamp.close.system_shutdown';
    // Killed (user deleted, session ended by an administrator): a kept session goes too.
    if (!shutdown && this.#key !== undefined) this.#options.sessions?.delete(this.#key);
    // Shutdown: what the client has not acknowledged is in SQLite for the next start.
    else if (this.#state === 'connected') this.#detach(Date.now() + this.#params.expiryMs);
    this.#closeReason = shutdown ? Reason.SERVER_SHUTTING_DOWN : Reason.ADMINISTRATIVE_ACTION;
    this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
  }

  // --- handshake ---

  #handshake(msg: Message): void {
    if (msg.type === T.CHALLENGE) {
      const password = this.#password;
      this.#password = undefined;
      return this.#peer.deliver(challengeAnswer(msg.authmethod, password));
    }
    if (msg.type === T.ABORT) {
      this.#state = 'closed';
      const message = typeof msg.details.message === 'string' ? msg.details.message : msg.reason;
      const restoring = this.#restoring;
      if (restoring !== undefined) return this.#notRestored(restoring, msg.reason, message);
      const link = this.#link;
      this.#link = undefined;
      // The session closes its side right after; CONNACK goes out first.
      return link?.refused(connackReasonOfAbort(msg.reason), message);
    }
    if (msg.type !== T.WELCOME) return;
    this.#password = undefined;
    const key = sessionKey(this.#options.realm, msg, this.#params.clientId);
    if (this.#restoring !== undefined) return this.#restored(key, this.#restoring);
    this.#state = 'joining';
    const will = this.#params.will;
    if (will === undefined) return this.#accept(key, msg);
    // The will first: a CONNECT it refuses (bad topic, no grant) is refused before anything of a
    // session kept for this identity changes (MQTT 3.1.4: take-over and clean start follow acceptance).
    addWill(this.#wamp, will, (refused) => {
      if (this.#state !== 'joining') return; // the connection went meanwhile
      if (refused === undefined) this.#accept(key, msg);
      else this.#refuseLate(refused.reason, refused.message);
    });
  }

  /**
   * The last check, then CONNECT is accepted: a kept session of the identity is taken over, or
   * discarded for a clean start. One synchronous step, so nothing refuses once it begins.
   */
  #accept(key: string, welcome: Welcome): void {
    const store = this.#options.sessions;
    const now = Date.now();
    const admitted = admit(this.#options, this.#params, key, now);
    if ('refused' in admitted) return this.#refuseLate(Reason.QUOTA_EXCEEDED, admitted.refused);
    const stored = admitted.stored;
    // A session being replaced leaves its unacknowledged messages and QoS 2 identifiers in SQLite, read below.
    this.#registry.get(key)?.supersede();
    this.#registry.set(key, this);
    this.#key = key;
    this.#state = 'connected';
    const queued: StoredMessage[] = stored === undefined ? [] : store!.pending(key, now);
    if (!this.persistent) {
      if (stored !== undefined) this.#inbound.resume(store!.held(key));
      store?.delete(key);
    } else {
      this.#kept = new KeptSession(store!, key, this.#options, this.#log, this.#params.clientId);
      this.#kept.save(stored?.subscriptions ?? [], recordOf(welcome, this.#options.realm, this.#params)); // connected: it does not expire meanwhile
      this.#inbound.keep(this.#kept, stored === undefined ? [] : store!.held(key));
    }
    this.#link?.accepted(stored !== undefined);
    // A resumed session: its subscriptions again (under today's grants), then what waited, in order.
    this.#subscriber.resubscribe(stored?.subscriptions ?? []);
    for (const m of queued) this.#outbound.push(m);
  }

  /** A session kept over a restart is up again, without its client: subscribed, queueing. */
  #restored(key: string, kept: RestorableSession): void {
    this.#restoring = undefined;
    // Its client came back first (it has the session now), or the identity is not the kept one.
    if (key !== kept.key || this.#registry.has(key)) return this.#retire();
    this.#registry.set(key, this);
    this.#key = key;
    this.#kept = new KeptSession(this.#options.sessions!, key, this.#options, this.#log, this.#params.clientId);
    this.#state = 'detached';
    this.#kept.detach(kept.expiresAt ?? Date.now() + this.#params.expiryMs);
    this.#subscriber.resubscribe(kept.subscriptions);
  }

  #notRestored(kept: RestorableSession, reason: string, message: string): void {
    this.#restoring = undefined;
    this.#log.info({ clientId: this.#params.clientId, reason }, `mqtt: kept session not restored: ${message}`);
    // Its user is gone or disabled, or anonymous sessions are no longer admitted: it ends, as when killed.
    if (reason === 'wamp.error.not_authorized') this.#options.sessions?.delete(kept.key);
  }

  /** The session is up but CONNECT cannot be accepted after all (its will is refused). */
  #refuseLate(reason: number, message: string): void {
    const link = this.#link;
    this.#link = undefined;
    this.#state = 'closed';
    this.#forget();
    this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.close_realm' });
    link?.refused(reason, message);
  }

  // --- plumbing ---

  #write(packet: Packet): void {
    this.#link?.write(packet);
  }

  /** False: `m` can never go to this client (a row from before it connected may be over its limits). */
  #sendPublish(m: OutboundMessage, id: number | undefined, dup: boolean): boolean {
    const p = this.#params;
    if (!sendable(m.size ?? messageSize(m, p.v5), p.clientMaxPacket, this.#log, p.clientId, m.topic)) return false;
    return this.#link?.tryWrite(publishPacket(m, id, dup, this.#params.v5, Date.now())) ?? true;
  }

  /** A kept session without its client until `until`; what the client has not acknowledged is in SQLite already. */
  #detach(until: number): void {
    if (this.#kept === undefined) return;
    this.#outbound.drain();
    this.#kept.detach(until);
  }

  /** Ends the WAMP session in good order (no testament). */
  #retire(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#forget();
    this.#peer.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.close_realm' });
  }

  #forget(): void {
    if (this.#key !== undefined && this.#registry.get(this.#key) === this) this.#registry.delete(this.#key);
  }
}
