// A session's WAMP side as the MQTT adapter uses it: requests with their request IDs and the
// callbacks waiting for their answers, PUBLISH (marking the client's own publications for No
// Local), and the meta calls of the will.

import { MessageType as T, type Dict, type Message } from '../wamp/messages.ts';
import type { WampPayload } from './payload.ts';
import type { WampRequests } from './subscribe.ts';
import type { WampPeer } from './wamp-peer.ts';
import type { WillWamp } from './will.ts';

export type Reply = (message: Message) => void;

export class WampSide implements WampRequests, WillWamp {
  readonly #peer: WampPeer;
  #replies: Map<number, Reply> | undefined; // made on first use
  #nextRequest = 1;
  /** Set while the client's own PUBLISH is in the router: EVENTs meanwhile are its own (No Local). */
  publishing = false;

  constructor(peer: WampPeer) {
    this.#peer = peer;
  }

  request(reply: Reply | undefined): number {
    const id = this.#nextRequest;
    this.#nextRequest = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    if (reply !== undefined) (this.#replies ??= new Map()).set(id, reply);
    return id;
  }

  deliver(message: Message): void {
    this.#peer.deliver(message);
  }

  call(procedure: string, args: unknown[], kwargs: Dict, reply: Reply): void {
    this.deliver({ type: T.CALL, request: this.request(reply), options: {}, procedure, args, kwargs });
  }

  publish(topic: string, payload: WampPayload, options: Dict, reply?: Reply): void {
    const request = this.request(reply);
    this.publishing = true;
    try {
      this.deliver({ type: T.PUBLISH, request, options, topic, ...payload });
    } finally {
      this.publishing = false;
    }
  }

  /** An answer from the router (PUBLISHED, SUBSCRIBED, UNSUBSCRIBED, RESULT, ERROR) to its request. */
  answer(message: Message & { request: number }): void {
    const reply = this.#replies?.get(message.request);
    if (reply === undefined) return;
    this.#replies!.delete(message.request);
    reply(message);
  }
}
