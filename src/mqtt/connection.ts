// One MQTT client connection: packets in, packets out, CONNECT and CONNACK, keep-alive, topic
// aliases and every rule about what a client may send when. What the packets mean for the
// router is the session's (session.ts), which joins the listener's realm as a WAMP session.
// MQTT 3.1.1 and 5.0 share it: `#v5` decides what each packet may carry.

import type { IConnectPacket, IDisconnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../log.ts';
import type { PeerAcceptor, TransportInfo } from '../router/peer.ts';
import type { MqttOptions } from './options.ts';
import { encodePacket, PacketError, PacketReader } from './packet-reader.ts';
import { connectReturnOf, Reason } from './reason-codes.ts';
import type { ConnectionLink } from './link.ts';
import { MqttSession, type SessionRegistry } from './session.ts';

/** The byte stream under an MQTT connection (TCP here; WebSocket could be another). */
export interface MqttTransport {
  readonly info: TransportInfo;
  write(bytes: Uint8Array): void;
  bufferedAmount(): number;
  /** Ends the connection once what was written is flushed. */
  end(): void;
  /** CONNECT accepted (CONNACK sent): what the transport held for a stranger can go. */
  connected?(): void;
}

type State = 'connecting' | 'authenticating' | 'connected' | 'closed';

const MAX_CLIENT_ID = 128;
/** MQTT 5 3.1.2.11.2: 0xFFFFFFFF asks for a session that never expires. */
const NEVER = 0xffffffff;

export class MqttConnection implements ConnectionLink {
  readonly #transport: MqttTransport;
  readonly #acceptor: PeerAcceptor;
  readonly #options: MqttOptions;
  readonly #registry: SessionRegistry;
  readonly #log: Logger;
  readonly #reader: PacketReader;
  readonly #openedAt: number;
  #state: State = 'connecting';
  #v5 = false;
  #version = 4;
  #clientId = '';
  #keepAliveMs = 0;
  /** The CONNECT asked for a session expiry (MQTT 5): a DISCONNECT may only set one then. */
  #expiryAsked = false;
  #lastPacketAt: number;
  #session: MqttSession | undefined;
  // Made on first use and dropped after: ten thousand idle clients hold none of them.
  #early: Packet[] | undefined;
  #aliases: Map<number, string> | undefined;
  #connackProperties: Record<string, unknown> | undefined;

  constructor(
    transport: MqttTransport,
    acceptor: PeerAcceptor,
    options: MqttOptions,
    registry: SessionRegistry,
    now: number,
  ) {
    this.#transport = transport;
    this.#acceptor = acceptor;
    this.#options = options;
    this.#registry = registry;
    this.#log = options.logger ?? silentLogger;
    this.#reader = new PacketReader(options.maxPacketBytes, {
      preLoginBytes: options.preAuthMaxPacketBytes,
      userProperties: { count: options.maxUserProperties, bytes: options.maxUserPropertyBytes },
    });
    this.#openedAt = now;
    this.#lastPacketAt = now;
  }

  get state(): State {
    return this.#state;
  }

  /** Bytes from the network. Never throws: bad input ends this connection only. */
  data(chunk: Buffer, now: number): void {
    if (this.#state === 'closed') return;
    this.#lastPacketAt = now;
    try {
      for (const packet of this.#reader.push(chunk)) {
        if ((this.#state as State) === 'closed') return;
        this.#packet(packet, now);
      }
    } catch (err) {
      if (err instanceof PacketError) {
        // MQTT 5 4.13.1: an error in CONNECT may be answered with a CONNACK carrying the reason.
        if (!err.v5Connect || this.#state !== 'connecting') return this.fail(err.reason, err.message);
        this.#v5 = true;
        this.#version = 5;
        return this.refused(err.reason, err.message);
      }
      this.#log.error(
        { peer: this.#transport.info.peer, err: (err as Error).message, stack: (err as Error).stack },
        'mqtt: internal error',
      );
      this.fail(Reason.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error');
    }
  }

  /** The network connection is gone: the will is due (MQTT 3.1.2.5). */
  transportClosed(now: number): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#session?.gone(true, now);
  }

  /** Connect timeout and keep-alive (MQTT 3.1.2.10: one and a half times the keep-alive). */
  tick(now: number): void {
    if (this.#state === 'connecting' && now - this.#openedAt >= this.#options.connectTimeoutMs) {
      this.#log.debug({ peer: this.#transport.info.peer }, 'mqtt: no CONNECT in time');
      return this.#end(now);
    }
    if (this.#state === 'connected' && this.#keepAliveMs > 0 && now - this.#lastPacketAt >= this.#keepAliveMs * 1.5) {
      this.fail(Reason.KEEP_ALIVE_TIMEOUT, 'keep-alive timeout');
    }
  }

  // --- ConnectionLink: what the session asks of its connection ---

  write(packet: Packet): void {
    this.tryWrite(packet);
  }

  tryWrite(packet: Packet): boolean {
    if (this.#state === 'closed') return true;
    let bytes: Buffer;
    try {
      bytes = encodePacket(packet, this.#version);
    } catch (err) {
      // Our packets are built from checked values (packet-size.ts); one that still does not
      // encode is dropped, not thrown into the router, and the caller gives up its slot.
      this.#log.error(
        { peer: this.#transport.info.peer, cmd: packet.cmd, err: (err as Error).message },
        'mqtt: packet not encodable',
      );
      return false;
    }
    this.#transport.write(bytes);
    return true;
  }

  writeEncoded(bytes: Uint8Array): void {
    if (this.#state !== 'closed') this.#transport.write(bytes);
  }

  bufferedAmount(): number {
    return this.#transport.bufferedAmount();
  }

  /** Bytes of QoS 1/2 messages its session holds in memory (metrics, tests). */
  get outboundBytes(): number {
    return this.#session?.outboundBytes ?? 0;
  }

  accepted(sessionPresent: boolean): void {
    if (this.#state !== 'authenticating') return;
    this.#state = 'connected';
    this.#reader.loggedIn();
    this.#connack(Reason.SUCCESS, undefined, sessionPresent);
    this.#transport.connected?.();
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const packet of early) {
      if (this.#state !== 'connected') return;
      this.#packet(packet, Date.now());
    }
  }

  refused(reason: number, message: string): void {
    this.#log.info(
      { peer: this.#transport.info.peer, clientId: this.#clientId, reason },
      `mqtt: CONNECT refused: ${message}`,
    );
    this.#connack(reason, message, false);
    this.#session = undefined;
    this.#end(Date.now());
  }

  /** Ends the connection for a client's fault; MQTT 5 clients are told why (after CONNACK only, 4.13). */
  fail(reason: number, message: string): void {
    if (this.#state === 'closed') return;
    this.#log.info({ peer: this.#transport.info.peer, clientId: this.#clientId, reason }, `mqtt: closing: ${message}`);
    if (this.#state === 'connected' && this.#v5)
      this.write({ cmd: 'disconnect', reasonCode: reason, properties: { reasonString: message } });
    this.#end(Date.now());
  }

  ended(reason: number): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connected' && this.#v5) this.write({ cmd: 'disconnect', reasonCode: reason });
    this.#state = 'closed';
    this.#session = undefined;
    this.#transport.end();
  }

  // --- MQTT packets from the client ---

  #packet(packet: Packet, now: number): void {
    if (this.#state === 'connecting') {
      if (packet.cmd !== 'connect') return this.#end(now); // MQTT 3.1.0-1: the first packet is CONNECT
      return this.#connect(packet);
    }
    if (packet.cmd === 'connect') return this.fail(Reason.PROTOCOL_ERROR, 'second CONNECT');
    if (this.#state === 'authenticating') {
      // Clients may send before CONNACK (MQTT 3.1.4); held, bounded, until the session is up.
      const early = (this.#early ??= []);
      if (early.length >= this.#options.maxEarlyPackets) return this.#end(now);
      early.push(packet);
      return;
    }
    const session = this.#session!;
    switch (packet.cmd) {
      case 'publish':
        return this.#publish(session, packet);
      case 'puback':
        if (!session.puback(packet.messageId!)) this.#unknownId('PUBACK');
        return;
      case 'pubrec':
        if (!session.pubrec(packet.messageId!, (packet.reasonCode ?? 0) >= 0x80)) this.#unknownId('PUBREC');
        return;
      case 'pubcomp':
        if (!session.pubcomp(packet.messageId!)) this.#unknownId('PUBCOMP');
        return;
      case 'pubrel':
        return session.pubrel(packet.messageId!);
      case 'subscribe':
        return session.subscribe(packet);
      case 'unsubscribe':
        return session.unsubscribe(packet);
      case 'pingreq':
        return this.write({ cmd: 'pingresp' });
      case 'disconnect':
        return this.#disconnect(session, packet, now);
      default:
        return this.fail(Reason.PROTOCOL_ERROR, `${packet.cmd.toUpperCase()} is not a packet a client sends`);
    }
  }

  #connect(p: IConnectPacket): void {
    const version = p.protocolVersion ?? 4;
    this.#version = version === 5 ? 5 : 4;
    this.#v5 = version === 5;
    if (version !== 4 && version !== 5)
      return this.#refuse(
        Reason.UNSUPPORTED_PROTOCOL_VERSION,
        `MQTT protocol level ${version} is not supported (3.1.1 and 5.0 are)`,
      );
    if (p.properties?.authenticationMethod !== undefined)
      return this.#refuse(Reason.BAD_AUTHENTICATION_METHOD, 'enhanced authentication is not supported');
    let clientId = p.clientId;
    if (clientId.length > MAX_CLIENT_ID)
      return this.#refuse(Reason.CLIENT_IDENTIFIER_NOT_VALID, `client identifier longer than ${MAX_CLIENT_ID}`);
    const cleanStart = p.clean !== false;
    let assigned = false;
    if (clientId.length === 0) {
      // MQTT 3.1.3-8: an empty identifier with a session to keep has nothing to key it by.
      if (!this.#v5 && !cleanStart)
        return this.#refuse(Reason.CLIENT_IDENTIFIER_NOT_VALID, 'an empty client identifier needs clean session');
      clientId = `auto-${randomBytes(9).toString('base64url')}`;
      assigned = true;
    }
    this.#clientId = clientId;
    const o = this.#options;
    const keepAlive = p.keepalive ?? 0;
    const serverKeepAlive =
      this.#v5 && (keepAlive === 0 || keepAlive > o.maxKeepAliveSec) ? o.maxKeepAliveSec : undefined;
    this.#keepAliveMs = (serverKeepAlive ?? keepAlive) * 1000;
    // MQTT 3.1.1 clean session false keeps the session for good; ours is bounded all the same.
    const requested = this.#v5 ? (p.properties?.sessionExpiryInterval ?? 0) : cleanStart ? 0 : NEVER;
    const expirySec = Math.min(requested, o.maxSessionExpirySec);
    this.#expiryAsked = requested > 0;
    const username = p.username;
    const password = p.password;
    if (password !== undefined && username === undefined)
      return this.#refuse(Reason.BAD_USER_NAME_OR_PASSWORD, 'a password needs a user name');
    this.#connackProperties = {
      ...(assigned && { assignedClientIdentifier: clientId }),
      ...(serverKeepAlive !== undefined && { serverKeepAlive }),
      ...(this.#v5 && requested > expirySec && { sessionExpiryInterval: expirySec }),
    };
    this.#state = 'authenticating';
    this.#session = new MqttSession(
      this.#acceptor,
      this.#transport.info,
      o,
      this.#registry,
      {
        clientId,
        v5: this.#v5,
        cleanStart,
        expiryMs: expirySec * 1000,
        will: p.will,
        clientMaxPacket: p.properties?.maximumPacketSize ?? Infinity,
        window: Math.min(o.maxInflight, p.properties?.receiveMaximum ?? 65535),
      },
      this,
    );
    // A verified client certificate is the realm's tls authentication (identity.ts); MQTT's user
    // name and password are its ticket authentication; a user name alone proves nothing, so such
    // a client is anonymous, where the realm allows it.
    this.#session.hello(username, password?.toString('utf8'));
  }

  #connack(reason: number, message: string | undefined, sessionPresent: boolean): void {
    const connackProperties = this.#connackProperties;
    this.#connackProperties = undefined;
    if (!this.#v5) return this.write({ cmd: 'connack', returnCode: connectReturnOf(reason), sessionPresent });
    const o = this.#options;
    const properties =
      reason !== Reason.SUCCESS
        ? message === undefined
          ? {}
          : { reasonString: message }
        : {
            ...connackProperties,
            receiveMaximum: o.maxInflight,
            maximumPacketSize: o.maxPacketBytes,
            topicAliasMaximum: o.topicAliasMaximum,
            retainAvailable: true,
            wildcardSubscriptionAvailable: true,
            sharedSubscriptionAvailable: false,
            subscriptionIdentifiersAvailable: false,
          };
    this.write({ cmd: 'connack', reasonCode: reason, sessionPresent, properties });
  }

  #publish(session: MqttSession, p: IPublishPacket): void {
    let topic = p.topic;
    const alias = this.#v5 ? p.properties?.topicAlias : undefined;
    if (alias !== undefined) {
      if (alias === 0 || alias > this.#options.topicAliasMaximum)
        return this.fail(Reason.TOPIC_ALIAS_INVALID, `topic alias ${alias} is out of range`);
      if (topic.length > 0) (this.#aliases ??= new Map()).set(alias, topic);
      else {
        const known = this.#aliases?.get(alias);
        if (known === undefined) return this.fail(Reason.PROTOCOL_ERROR, `topic alias ${alias} was never set`);
        topic = known;
      }
    }
    session.publish(topic, p);
  }

  #disconnect(session: MqttSession, p: IDisconnectPacket, now: number): void {
    // MQTT 5 3.14.2.2.2: the session is kept this long from now (0: it ends with the connection);
    // a session the CONNECT did not ask to keep cannot be kept on leaving.
    const expirySec = this.#v5 ? p.properties?.sessionExpiryInterval : undefined;
    if (expirySec !== undefined && expirySec > 0 && !this.#expiryAsked)
      return this.fail(Reason.PROTOCOL_ERROR, 'a Session Expiry Interval on DISCONNECT after none on CONNECT');
    this.#state = 'closed';
    this.#session = undefined;
    const expiryMs =
      expirySec === undefined ? undefined : Math.min(expirySec, this.#options.maxSessionExpirySec) * 1000;
    // MQTT 5 3.14.2.1: 0x04 leaves with the will published; a normal DISCONNECT discards it (3.1.2-10).
    session.gone(this.#v5 && p.reasonCode === Reason.DISCONNECT_WITH_WILL, now, expiryMs);
    this.#transport.end();
  }

  #unknownId(what: string): void {
    // MQTT 5 4.3: an acknowledgement of nothing is a protocol error; 3.1.1 has no word on it.
    if (this.#v5) this.fail(Reason.PROTOCOL_ERROR, `${what} for a packet identifier not in flight`);
  }

  /** CONNECT refused before a session exists: CONNACK with the reason, then the connection ends. */
  #refuse(reason: number, message: string): void {
    this.refused(reason, message);
  }

  #end(now: number): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const session = this.#session;
    this.#session = undefined;
    session?.gone(true, now);
    this.#transport.end();
  }
}
