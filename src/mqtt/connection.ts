// One MQTT client connection, driving one WAMP session of the listener's realm (wamp-peer.ts):
// CONNECT -> HELLO (username/password -> ticket), CONNACK from WELCOME or ABORT; then
// PUBLISH -> WAMP PUBLISH, SUBSCRIBE -> WAMP SUBSCRIBE, EVENT -> PUBLISH to the client.
// Routing, grants and everything else are the router's; this file only translates.
// MQTT 3.1.1 and 5.0 share it: `#v5` decides what each packet may carry.

import type {
  IConnectPacket, IDisconnectPacket, IPublishPacket, ISubscribePacket, IUnsubscribePacket, Packet, QoS,
} from 'mqtt-packet';
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../log.ts';
import type { CloseReason, PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { MessageType as T, type Dict, type Event, type Message } from '../wamp/messages.ts';
import { Inbound } from './inbound.ts';
import type { MqttOptions } from './options.ts';
import { Outbound, type OutboundMessage } from './outbound.ts';
import { encodePacket, PacketError, PacketReader } from './packet-reader.ts';
import { mqttToWamp, wampToMqtt } from './payload.ts';
import { connackReasonOfAbort, connectReturnOf, Reason, reasonOfError, SUBACK_FAILURE_311 } from './reason-codes.ts';
import { Subscriptions } from './subscriptions.ts';
import { filterToWamp, topicToUri, uriToTopic } from './topics.ts';
import { WampPeer, type WampClient } from './wamp-peer.ts';

/** The byte stream under an MQTT connection (TCP here; WebSocket could be another). */
export interface MqttTransport {
  readonly info: TransportInfo;
  write(bytes: Uint8Array): void;
  bufferedAmount(): number;
  /** Ends the connection once what was written is flushed. */
  end(): void;
}

/** Live connections by client identity, for session take-over (MQTT 3.1.4-3). */
export type ClientRegistry = Map<string, MqttConnection>;

type State = 'connecting' | 'authenticating' | 'connected' | 'closed';
type Reply = (message: Message) => void;

const MAX_CLIENT_ID = 128;

export class MqttConnection implements WampClient {
  readonly #transport: MqttTransport;
  readonly #acceptor: PeerAcceptor;
  readonly #options: MqttOptions;
  readonly #registry: ClientRegistry;
  readonly #log: Logger;
  readonly #reader: PacketReader;
  readonly #openedAt: number;
  #state: State = 'connecting';
  #v5 = false;
  #version = 4;
  #clientId = '';
  #registryKey: string | undefined;
  #keepAliveMs = 0;
  #lastPacketAt: number;
  #password: string | undefined;
  #clientMaxPacket = Infinity;
  #peer: WampPeer | undefined;
  #nextRequest = 1;
  readonly #replies = new Map<number, Reply>();
  #early: Packet[] = [];
  readonly #subs = new Subscriptions();
  readonly #aliases = new Map<number, string>();
  #outbound: Outbound | undefined;
  readonly #inbound: Inbound;
  /** Set while the client's own PUBLISH is in the router: EVENTs meanwhile are its own (No Local). */
  #publishing = false;
  /** EVENTs of one publication through several subscriptions go out once (MQTT 3.3.5). */
  readonly #batch = new Map<number, { event: Event; qos: QoS }>();
  /** MQTT 5 reason for the DISCONNECT sent when the router ends the session. */
  #closeReason: number = Reason.SERVER_SHUTTING_DOWN;
  /** Events not sent: unmappable topic or payload, or over the client's maximum packet size. */
  undeliverable = 0;

  constructor(transport: MqttTransport, acceptor: PeerAcceptor, options: MqttOptions, registry: ClientRegistry, now: number) {
    this.#transport = transport;
    this.#acceptor = acceptor;
    this.#options = options;
    this.#registry = registry;
    this.#log = options.logger ?? silentLogger;
    this.#reader = new PacketReader(options.maxPacketBytes);
    this.#openedAt = now;
    this.#lastPacketAt = now;
    this.#inbound = new Inbound({
      write: (packet) => this.#write(packet),
      v5: () => this.#v5,
    });
  }

  get state(): State { return this.#state; }

  /** Bytes from the network. Never throws: bad input ends this connection only. */
  data(chunk: Buffer, now: number): void {
    if (this.#state === 'closed') return;
    this.#lastPacketAt = now;
    try {
      for (const packet of this.#reader.push(chunk)) {
        if ((this.#state as State) === 'closed') return;
        this.#packet(packet);
      }
    } catch (err) {
      if (err instanceof PacketError) return this.#fail(err.reason, err.message);
      this.#log.error({ peer: this.#transport.info.peer, err: (err as Error).message, stack: (err as Error).stack }, 'mqtt: internal error');
      this.#fail(Reason.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error');
    }
  }

  /** The network connection is gone: the session is lost, so the will (a testament) fires. */
  transportClosed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#forget();
    this.#peer?.lost();
  }

  /** Connect timeout and keep-alive (MQTT 3.1.2.10: one and a half times the keep-alive). */
  tick(now: number): void {
    if (this.#state === 'connecting' && now - this.#openedAt >= this.#options.connectTimeoutMs) {
      this.#log.debug({ peer: this.#transport.info.peer }, 'mqtt: no CONNECT in time');
      return this.#end();
    }
    if (this.#state === 'connected' && this.#keepAliveMs > 0 && now - this.#lastPacketAt >= this.#keepAliveMs * 1.5) {
      this.#fail(Reason.KEEP_ALIVE_TIMEOUT, 'keep-alive timeout');
    }
  }

  /** Another connection took this client identity over. */
  takenOver(): void {
    this.#registryKey = undefined;
    this.#fail(Reason.SESSION_TAKEN_OVER, 'another connection with this client identifier');
  }

  // --- WampClient: what the router sends the session ---

  bufferedAmount(): number { return this.#transport.bufferedAmount(); }

  message(msg: Message): void {
    if (this.#state === 'authenticating') return this.#handshake(msg);
    if (this.#state !== 'connected') return;
    switch (msg.type) {
      case T.EVENT: return this.#event(msg);
      case T.PUBLISHED: case T.SUBSCRIBED: case T.UNSUBSCRIBED: case T.RESULT: case T.ERROR: {
        const reply = this.#replies.get(msg.request);
        if (reply === undefined) return;
        this.#replies.delete(msg.request);
        return reply(msg);
      }
      case T.GOODBYE:
        this.#closeReason = msg.reason === 'wamp.close.system_shutdown' ? Reason.SERVER_SHUTTING_DOWN : Reason.ADMINISTRATIVE_ACTION;
        return this.#peer?.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
      case T.ABORT:
        this.#closeReason = Reason.UNSPECIFIED_ERROR;
        return;
      default:
    }
  }

  closed(reason: CloseReason): void {
    if (this.#state === 'closed') return;
    if (reason === 'slow_consumer') this.#closeReason = Reason.QUOTA_EXCEEDED;
    if (this.#state === 'connected' && this.#v5) this.#write({ cmd: 'disconnect', reasonCode: this.#closeReason });
    this.#state = 'closed';
    this.#forget();
    this.#transport.end();
  }

  // --- MQTT packets from the client ---

  #packet(packet: Packet): void {
    if (this.#state === 'connecting') {
      if (packet.cmd !== 'connect') return this.#end(); // MQTT 3.1.0-1: the first packet is CONNECT
      return this.#connect(packet);
    }
    if (packet.cmd === 'connect') return this.#fail(Reason.PROTOCOL_ERROR, 'second CONNECT');
    if (this.#state === 'authenticating') {
      // Clients may send before CONNACK (MQTT 3.1.4); held, bounded, until the session is up.
      if (this.#early.length >= this.#options.maxEarlyPackets) return this.#end();
      this.#early.push(packet);
      return;
    }
    switch (packet.cmd) {
      case 'publish': return this.#publish(packet);
      case 'puback': if (!this.#outbound?.puback(packet.messageId!)) this.#unknownId('PUBACK'); return;
      case 'pubrec': if (!this.#outbound?.pubrec(packet.messageId!, (packet.reasonCode ?? 0) >= 0x80)) this.#unknownId('PUBREC'); return;
      case 'pubcomp': if (!this.#outbound?.pubcomp(packet.messageId!)) this.#unknownId('PUBCOMP'); return;
      case 'pubrel': return this.#inbound.pubrel(packet.messageId!);
      case 'subscribe': return this.#subscribe(packet);
      case 'unsubscribe': return this.#unsubscribe(packet);
      case 'pingreq': return this.#write({ cmd: 'pingresp' });
      case 'disconnect': return this.#disconnect(packet);
      default: return this.#fail(Reason.PROTOCOL_ERROR, `${packet.cmd.toUpperCase()} is not a packet a client sends`);
    }
  }

  #connect(p: IConnectPacket): void {
    const version = p.protocolVersion ?? 4;
    this.#version = version === 5 ? 5 : 4;
    this.#v5 = version === 5;
    if (version !== 4 && version !== 5) return this.#refuse(Reason.UNSUPPORTED_PROTOCOL_VERSION, `MQTT protocol level ${version} is not supported (3.1.1 and 5.0 are)`);
    if (p.properties?.authenticationMethod !== undefined) return this.#refuse(Reason.BAD_AUTHENTICATION_METHOD, 'enhanced authentication is not supported');
    let clientId = p.clientId;
    if (clientId.length > MAX_CLIENT_ID) return this.#refuse(Reason.CLIENT_IDENTIFIER_NOT_VALID, `client identifier longer than ${MAX_CLIENT_ID}`);
    let assigned = false;
    if (clientId.length === 0) {
      // MQTT 3.1.3-8: an empty identifier with a session to keep has nothing to key it by.
      if (!this.#v5 && p.clean === false) return this.#refuse(Reason.CLIENT_IDENTIFIER_NOT_VALID, 'an empty client identifier needs clean session');
      clientId = `auto-${randomBytes(9).toString('base64url')}`;
      assigned = true;
    }
    this.#clientId = clientId;
    const keepAlive = p.keepalive ?? 0;
    const max = this.#options.maxKeepAliveSec;
    const serverKeepAlive = this.#v5 && (keepAlive === 0 || keepAlive > max) ? max : undefined;
    this.#keepAliveMs = (serverKeepAlive ?? keepAlive) * 1000;
    if (p.properties?.maximumPacketSize !== undefined) this.#clientMaxPacket = p.properties.maximumPacketSize;
    const window = Math.min(this.#options.maxInflight, p.properties?.receiveMaximum ?? 65535);
    this.#outbound = new Outbound({
      publish: (id, m, dup) => this.#write({ cmd: 'publish', messageId: id, qos: m.qos, dup, retain: m.retain, topic: m.topic, payload: Buffer.from(m.payload), ...(this.#v5 && m.properties && { properties: m.properties }) }),
      pubrel: (id) => this.#write({ cmd: 'pubrel', messageId: id }),
    }, window, this.#options.maxQueued);
    const username = p.username;
    const password = p.password;
    if (password !== undefined && username === undefined) return this.#refuse(Reason.BAD_USER_NAME_OR_PASSWORD, 'a password needs a user name');
    const details: Dict = { roles: { publisher: {}, subscriber: {}, caller: {} } };
    if (password !== undefined) {
      // MQTT's user name and password are the realm's ticket authentication.
      this.#password = password.toString('utf8');
      details.authmethods = ['ticket'];
      details.authid = username;
    } else {
      // A user name alone proves nothing: such a client is anonymous, where the realm allows it.
      details.authmethods = ['anonymous'];
    }
    this.#connackProperties = {
      ...(assigned && { assignedClientIdentifier: clientId }),
      ...(serverKeepAlive !== undefined && { serverKeepAlive }),
    };
    this.#will = p.will;
    this.#state = 'authenticating';
    this.#peer = new WampPeer(this.#acceptor, { ...this.#transport.info, type: 'mqtt' }, this);
    this.#peer.deliver({ type: T.HELLO, realm: this.#options.realm, details });
  }

  #connackProperties: Record<string, unknown> = {};
  #will: IConnectPacket['will'];

  #handshake(msg: Message): void {
    if (msg.type === T.CHALLENGE) {
      if (msg.authmethod !== 'ticket' || this.#password === undefined) {
        return this.#peer!.deliver({ type: T.ABORT, details: {}, reason: 'wamp.error.no_auth_method' });
      }
      const signature = this.#password;
      this.#password = undefined;
      return this.#peer!.deliver({ type: T.AUTHENTICATE, signature, extra: {} });
    }
    if (msg.type === T.ABORT) {
      const message = typeof msg.details.message === 'string' ? msg.details.message : msg.reason;
      // The session closes its side right after; CONNACK goes out first.
      this.#connack(connackReasonOfAbort(msg.reason), message);
      this.#log.info({ peer: this.#transport.info.peer, clientId: this.#clientId, reason: msg.reason }, 'mqtt: CONNECT refused');
      return;
    }
    if (msg.type !== T.WELCOME) return;
    this.#password = undefined;
    const authid = typeof msg.details.authid === 'string' ? msg.details.authid : '';
    const anonymous = msg.details.authmethod === 'anonymous';
    // Take-over is per identity: nobody can push another user's client off by reusing its identifier.
    const key = `${this.#options.realm}\u0000${anonymous ? '' : authid}\u0000${this.#clientId}`;
    this.#registry.get(key)?.takenOver();
    this.#registry.set(key, this);
    this.#registryKey = key;
    this.#state = 'connected';
    const will = this.#will;
    this.#will = undefined;
    if (will === undefined) return this.#ready();
    // The will is the session's testament: published by the router when the session is lost,
    // not when it says GOODBYE, as MQTT publishes a will on a lost connection, not on DISCONNECT.
    const uri = topicToUri(will.topic);
    if (!uri.ok) return this.#refuseLate(uri.reason, `will: ${uri.message}`);
    const payload = mqttToWamp(will.payload instanceof Uint8Array ? will.payload : Buffer.from(will.payload));
    const request = this.#request((reply) => {
      if (reply.type === T.ERROR) return this.#refuseLate(reasonOfError(reply.error, false), `will: ${reply.error}`);
      this.#ready();
    });
    this.#peer!.deliver({
      type: T.CALL, request, options: {}, procedure: 'wamp.session.add_testament',
      args: [uri.value, payload.args ?? [], payload.kwargs ?? {}], kwargs: { publish_options: { retain: will.retain === true }, scope: 'destroyed' },
    });
  }

  /** CONNACK after a WELCOME, then the packets the client sent meanwhile. */
  #ready(): void {
    this.#connack(Reason.SUCCESS, undefined);
    const early = this.#early;
    this.#early = [];
    for (const packet of early) {
      if (this.#state !== 'connected') return;
      this.#packet(packet);
    }
  }

  #connack(reason: number, message: string | undefined): void {
    if (!this.#v5) return this.#write({ cmd: 'connack', returnCode: connectReturnOf(reason), sessionPresent: false });
    const o = this.#options;
    const properties = reason !== Reason.SUCCESS
      ? (message === undefined ? {} : { reasonString: message })
      : {
        ...this.#connackProperties,
        receiveMaximum: o.maxInflight, maximumPacketSize: o.maxPacketBytes, topicAliasMaximum: o.topicAliasMaximum,
        retainAvailable: true, wildcardSubscriptionAvailable: true, sharedSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false,
      };
    this.#write({ cmd: 'connack', reasonCode: reason, sessionPresent: false, properties });
  }

  #publish(p: IPublishPacket): void {
    let topic = p.topic;
    const alias = this.#v5 ? p.properties?.topicAlias : undefined;
    if (alias !== undefined) {
      if (alias === 0 || alias > this.#options.topicAliasMaximum) return this.#fail(Reason.TOPIC_ALIAS_INVALID, `topic alias ${alias} is out of range`);
      if (topic.length > 0) this.#aliases.set(alias, topic);
      else {
        const known = this.#aliases.get(alias);
        if (known === undefined) return this.#fail(Reason.PROTOCOL_ERROR, `topic alias ${alias} was never set`);
        topic = known;
      }
    }
    const id = p.messageId ?? 0;
    if (p.qos > 0 && !this.#inbound.accept(p.qos as 1 | 2, id, this.#options.maxInflight)) {
      if (p.qos === 2 && this.#inbound.awaitingRelease(id)) return this.#inbound.repeatPubrec(id); // a resent QoS 2 PUBLISH: not published twice
      return this.#fail(Reason.RECEIVE_MAXIMUM_EXCEEDED, `more than ${this.#options.maxInflight} QoS 1/2 messages unacknowledged`);
    }
    const uri = topicToUri(topic);
    if (!uri.ok) {
      this.#log.debug({ clientId: this.#clientId, topic }, uri.message);
      if (p.qos > 0) this.#inbound.settle(id, uri.reason);
      return;
    }
    const payload = mqttToWamp(p.payload instanceof Uint8Array ? p.payload : Buffer.from(p.payload));
    const options: Dict = { exclude_me: false };
    if (p.qos > 0) options.acknowledge = true;
    if (p.retain) options.retain = true;
    const request = this.#request(p.qos === 0 ? undefined : (reply) => {
      this.#inbound.settle(id, reply.type === T.ERROR ? reasonOfError(reply.error, false) : Reason.SUCCESS);
    });
    this.#publishing = true;
    try {
      this.#peer!.deliver({ type: T.PUBLISH, request, options, topic: uri.value, ...payload });
    } finally {
      this.#publishing = false;
    }
  }

  #subscribe(p: ISubscribePacket): void {
    const n = p.subscriptions.length;
    const codes: number[] = new Array<number>(n).fill(Reason.UNSPECIFIED_ERROR);
    let outstanding = 1; // released after the loop, so a synchronous router cannot answer early
    const done = (): void => {
      if (--outstanding > 0) return;
      const granted = this.#v5 ? codes : codes.map((c) => (c >= 0x80 ? SUBACK_FAILURE_311 : c));
      this.#write({ cmd: 'suback', messageId: p.messageId!, granted });
    };
    if (this.#v5 && p.properties?.subscriptionIdentifier !== undefined) {
      return this.#fail(Reason.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, 'subscription identifiers are not supported');
    }
    p.subscriptions.forEach((s, i) => {
      const mapped = filterToWamp(s.topic);
      if (!mapped.ok) {
        codes[i] = mapped.reason;
        this.#log.debug({ clientId: this.#clientId, filter: s.topic }, mapped.message);
        return;
      }
      const isNew = !this.#subs.has(s.topic);
      if (isNew && this.#subs.size >= this.#options.maxSubscriptions) {
        codes[i] = Reason.QUOTA_EXCEEDED;
        return;
      }
      const qos = Math.min(s.qos, 2) as QoS;
      this.#subs.set(s.topic, { qos, nl: this.#v5 && s.nl === true, rap: this.#v5 && s.rap === true });
      const rh = this.#v5 ? (s.rh ?? 0) : 0;
      const getRetained = rh === 0 || (rh === 1 && isNew);
      let left = mapped.value.length;
      let failed: number | undefined;
      outstanding++;
      for (const w of mapped.value) {
        const options: Dict = {};
        if (w.match !== 'exact') options.match = w.match;
        if (getRetained) options.get_retained = true;
        const request = this.#request((reply) => {
          if (reply.type === T.SUBSCRIBED) this.#subs.link(s.topic, reply.subscription, w.topic);
          else if (reply.type === T.ERROR) failed ??= reasonOfError(reply.error, true);
          if (--left > 0) return;
          if (failed !== undefined) {
            codes[i] = failed;
            this.#dropFilter(s.topic);
          } else codes[i] = qos;
          done();
        });
        this.#peer!.deliver({ type: T.SUBSCRIBE, request, options, topic: w.topic });
      }
    });
    done();
  }

  #unsubscribe(p: IUnsubscribePacket): void {
    const codes = p.unsubscriptions.map((filter) => {
      if (!this.#subs.has(filter)) return Reason.NO_SUBSCRIPTION_EXISTED;
      this.#dropFilter(filter);
      return Reason.SUCCESS;
    });
    // UNSUBSCRIBE is answered at once: what it ends, ends here whatever the router says.
    this.#write({ cmd: 'unsuback', messageId: p.messageId!, granted: codes }); // 3.1.1 UNSUBACK has no codes: not written
  }

  #dropFilter(filter: string): void {
    for (const subscription of this.#subs.delete(filter)) {
      this.#peer!.deliver({ type: T.UNSUBSCRIBE, request: this.#request(undefined), subscription });
    }
  }

  #disconnect(p: IDisconnectPacket): void {
    if (this.#v5 && p.reasonCode === Reason.DISCONNECT_WITH_WILL) {
      // MQTT 5 3.14.2.1: leave, but publish the will, as when the connection is lost.
      return this.#end();
    }
    // A normal DISCONNECT discards the will (MQTT 3.1.2-10): a WAMP GOODBYE publishes no testament.
    this.#closeReason = Reason.SUCCESS;
    this.#peer!.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.close_realm' });
  }

  // --- WAMP events to the client ---

  #event(msg: Event): void {
    const delivery = this.#subs.delivery(msg.subscription, this.#publishing);
    if (delivery === undefined) return;
    const pending = this.#batch.get(msg.publication);
    if (pending !== undefined) {
      if (delivery.qos > pending.qos) pending.qos = delivery.qos;
      return;
    }
    if (this.#batch.size === 0) queueMicrotask(() => this.#flushEvents());
    this.#batch.set(msg.publication, { event: msg, qos: delivery.qos });
  }

  #flushEvents(): void {
    const batch = [...this.#batch.values()];
    this.#batch.clear();
    for (const { event, qos } of batch) {
      if (this.#state !== 'connected') return;
      const uri = typeof event.details.topic === 'string' ? event.details.topic : this.#subs.topicOf(event.subscription);
      const topic = uri === undefined ? undefined : uriToTopic(uri);
      const payload = wampToMqtt(event.args, event.kwargs);
      // MQTT 3.1.2-25: a message over the client's Maximum Packet Size is not sent at all.
      if (topic === undefined || payload === undefined || payload.length + topic.length + 16 > this.#clientMaxPacket) {
        this.undeliverable++;
        continue;
      }
      const message: OutboundMessage = { topic, payload, qos, retain: event.details.retained === true };
      if (qos === 0) this.#write({ cmd: 'publish', qos: 0, dup: false, retain: message.retain, topic, payload: Buffer.from(payload) });
      else this.#outbound!.push(message);
    }
  }

  // --- plumbing ---

  #request(reply: Reply | undefined): number {
    const id = this.#nextRequest;
    this.#nextRequest = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    if (reply !== undefined) this.#replies.set(id, reply);
    return id;
  }

  #unknownId(what: string): void {
    // MQTT 5 4.3: an acknowledgement of nothing is a protocol error; 3.1.1 has no word on it.
    if (this.#v5) this.#fail(Reason.PROTOCOL_ERROR, `${what} for a packet identifier not in flight`);
  }

  #write(packet: Packet): void {
    if (this.#state === 'closed') return;
    this.#transport.write(encodePacket(packet, this.#version));
  }

  /** CONNECT refused: CONNACK with the reason, then the connection ends. */
  #refuse(reason: number, message: string): void {
    this.#log.info({ peer: this.#transport.info.peer, clientId: this.#clientId, reason }, `mqtt: CONNECT refused: ${message}`);
    this.#connack(reason, message);
    this.#end();
  }

  /** The session is up but CONNECT cannot be accepted after all (its will is refused): no will, no session. */
  #refuseLate(reason: number, message: string): void {
    this.#log.info({ peer: this.#transport.info.peer, clientId: this.#clientId, reason }, `mqtt: CONNECT refused: ${message}`);
    this.#connack(reason, message);
    this.#state = 'closed';
    this.#forget();
    this.#peer?.deliver({ type: T.GOODBYE, details: {}, reason: 'wamp.close.close_realm' });
    this.#transport.end();
  }

  /** Ends the connection for a client's fault; MQTT 5 clients are told why (after CONNACK only, 4.13). */
  #fail(reason: number, message: string): void {
    if (this.#state === 'closed') return;
    this.#log.info({ peer: this.#transport.info.peer, clientId: this.#clientId, reason }, `mqtt: closing: ${message}`);
    if (this.#state === 'connected' && this.#v5) this.#write({ cmd: 'disconnect', reasonCode: reason, properties: { reasonString: message } });
    this.#end();
  }

  #end(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#forget();
    this.#peer?.lost();
    this.#transport.end();
  }

  #forget(): void {
    if (this.#registryKey !== undefined && this.#registry.get(this.#registryKey) === this) this.#registry.delete(this.#registryKey);
    this.#registryKey = undefined;
  }
}
