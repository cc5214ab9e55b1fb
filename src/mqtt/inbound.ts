// The messages one MQTT client publishes: PUBLISH -> WAMP PUBLISH, and their QoS state.
// Acknowledgements go out in the order the PUBLISHes came (MQTT 4.6), whenever the router
// answers each; QoS 2 identifiers are held from PUBREC to PUBREL so a resent PUBLISH is not
// published twice (MQTT 4.3.3, method B). They are session state (MQTT 4.1): a persistent
// session keeps them on disk, so a client resending after a reconnect or a router restart is
// recognised as well.

import type { IPublishPacket, Packet } from 'mqtt-packet';
import { MessageType as T, type Dict, type Message } from '../wamp/messages.ts';
import { bytesOf, mqttToWamp, type WampPayload } from './payload.ts';
import { publishOptions } from './properties.ts';
import { Reason, reasonOfError } from './reason-codes.ts';
import { topicToUri } from './topics.ts';

export interface InboundSink {
  write(packet: Packet): void;
  /** The client broke a rule: its connection ends. */
  fail(reason: number, message: string): void;
  /** A topic WAMP cannot carry (PUBACK says why, where it can). */
  refused(topic: string, message: string): void;
}

/** Where the client's publications go, and how they wait for durability. */
export interface InboundSettings {
  readonly v5: boolean;
  /** Unacknowledged QoS 1/2 PUBLISHes allowed (our Receive Maximum). */
  readonly maxInflight: number;
  readonly wamp: { publish(uri: string, payload: WampPayload, options: Dict, reply?: (m: Message) => void): void };
  /** With persistent sessions: PUBACK / PUBREC once what the publication queued for them is on disk. */
  readonly store: { afterCommit(settle: () => void): void } | undefined;
}

/** A persistent session's record of the QoS 2 identifiers it holds (kept.ts). */
export interface HeldIdentifiers {
  /** Published under `id`: on disk at the next commit, so before the PUBREC that waits for it. */
  hold(id: number): void;
  /** PUBREL for `id`: off the disk at the next commit. */
  release(id: number): void;
}

interface Pending {
  readonly id: number;
  readonly qos: 1 | 2;
  reason: number | undefined;
}

const NONE_PENDING = Object.freeze([]) as unknown as Pending[]; // never written: replaced before the first push

export class Inbound {
  readonly #sink: InboundSink;
  /** Shared and empty until the first QoS 1/2 PUBLISH (then this connection's own). */
  #pending: Pending[] = NONE_PENDING;
  // Made by the first QoS 2 PUBLISH: an idle client holds no empty Set.
  #awaitingRelease: Set<number> | undefined;
  /** Set once the session is known to be persistent. */
  #kept: HeldIdentifiers | undefined;
  /** PUBLISHes refused by the router that MQTT 3.1.1 could only acknowledge (3.3.5-2). */
  refusedSilently = 0;

  // The settings' fields, not the object: it is not kept per client.
  readonly #v5: boolean;
  readonly #maxInflight: number;
  readonly #wamp: InboundSettings['wamp'];
  readonly #store: InboundSettings['store'];

  constructor(sink: InboundSink, settings: InboundSettings) {
    this.#sink = sink;
    this.#v5 = settings.v5;
    this.#maxInflight = settings.maxInflight;
    this.#wamp = settings.wamp;
    this.#store = settings.store;
  }

  publish(topic: string, p: IPublishPacket, now: number): void {
    const id = p.messageId ?? 0;
    const max = this.#maxInflight;
    if (p.qos > 0 && !this.accept(p.qos as 1 | 2, id, max)) {
      if (p.qos === 2 && this.awaitingRelease(id)) return this.repeatPubrec(id); // a resent QoS 2 PUBLISH: not published twice
      return this.#sink.fail(Reason.RECEIVE_MAXIMUM_EXCEEDED, `more than ${max} QoS 1/2 messages unacknowledged`);
    }
    const uri = topicToUri(topic);
    if (!uri.ok) {
      this.#sink.refused(topic, uri.message);
      if (p.qos > 0) this.settle(id, uri.reason);
      return;
    }
    const qos = p.qos;
    const reply =
      qos === 0
        ? undefined
        : (reply: Message): void => {
            const reason = reply.type === T.ERROR ? reasonOfError(reply.error, false) : Reason.SUCCESS;
            const store = this.#store;
            if (store === undefined) return this.settle(id, reason);
            if (qos === 2 && reason < 0x80) this.#kept?.hold(id);
            store.afterCommit(() => this.settle(id, reason));
          };
    this.#wamp.publish(uri.value, mqttToWamp(bytesOf(p.payload)), publishOptions(p, this.#v5, now), reply);
  }

  /**
   * The session is persistent: identifiers are recorded from now on, and `held` (what it held on
   * its previous connection, or before a restart) are held again until their PUBREL.
   */
  keep(kept: HeldIdentifiers, held: readonly number[]): void {
    this.#kept = kept;
    this.resume(held);
  }

  /**
   * `held`, what the session held on its previous connection, are held again until their PUBREL:
   * also for a connection that resumes a kept session without keeping it (MQTT 5 Clean Start 0,
   * Session Expiry 0), in memory only, or a PUBLISH resent after the reconnect goes out twice.
   */
  resume(held: readonly number[]): void {
    if (held.length > 0) this.#awaitingRelease = new Set(held);
  }

  /** Whether a QoS 1/2 PUBLISH may go on: false for a QoS 2 identifier still held, or over `max` unacknowledged. */
  accept(qos: 1 | 2, id: number, max: number): boolean {
    if (qos === 2 && (this.#awaitingRelease?.has(id) === true || this.#pending.some((p) => p.id === id))) return false;
    if (this.#pending.length + (this.#awaitingRelease?.size ?? 0) >= max) return false;
    if (this.#pending === NONE_PENDING) this.#pending = [];
    this.#pending.push({ id, qos, reason: undefined });
    return true;
  }

  awaitingRelease(id: number): boolean {
    return this.#awaitingRelease?.has(id) === true || this.#pending.some((p) => p.id === id && p.qos === 2);
  }

  repeatPubrec(id: number): void {
    // Still waiting for the router's answer: the PUBREC will come when it does.
    if (this.#awaitingRelease?.has(id) === true) this.#ack(2, id, Reason.SUCCESS);
  }

  /** The router's answer to the PUBLISH with this identifier (the oldest unanswered one). */
  settle(id: number, reason: number): void {
    const entry = this.#pending.find((p) => p.id === id && p.reason === undefined);
    if (entry === undefined) return;
    entry.reason = reason;
    while (this.#pending.length > 0 && this.#pending[0]!.reason !== undefined) {
      const p = this.#pending.shift()!;
      if (p.qos === 2 && p.reason! < 0x80) (this.#awaitingRelease ??= new Set()).add(p.id);
      this.#ack(p.qos, p.id, p.reason!);
    }
  }

  pubrel(id: number): void {
    const known = this.#awaitingRelease?.delete(id) === true;
    const kept = this.#kept;
    if (!known || kept === undefined || this.#store === undefined) return this.#pubcomp(id, known);
    kept.release(id);
    // PUBCOMP frees the identifier for the client's next message: once free on disk too, so that
    // a restart in between does not take that message for a resend and drop it.
    this.#store.afterCommit(() => this.#pubcomp(id, true));
  }

  #pubcomp(id: number, known: boolean): void {
    if (this.#v5)
      this.#sink.write({
        cmd: 'pubcomp',
        messageId: id,
        reasonCode: known ? Reason.SUCCESS : Reason.PACKET_IDENTIFIER_NOT_FOUND,
      });
    else this.#sink.write({ cmd: 'pubcomp', messageId: id });
  }

  #ack(qos: 1 | 2, id: number, reason: number): void {
    const cmd = qos === 1 ? 'puback' : 'pubrec';
    if (this.#v5) return this.#sink.write({ cmd, messageId: id, reasonCode: reason });
    if (reason >= 0x80) this.refusedSilently++;
    this.#sink.write({ cmd, messageId: id });
  }
}
