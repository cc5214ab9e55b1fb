// A session's outbound flow control (session.ts): what the router writes to a peer that is not
// reading. Explicit and typed: EVENTs may be dropped over the soft limit (counted), RPC messages
// never are; a peer over the hard limit, or over the soft one for too long, is a slow consumer
// and its session is closed.

import type { Logger } from '../log.ts';
import type { Limits } from './limits.ts';
import { DROP_SLOW_CONSUMER, type SessionMeter } from './metrics.ts';
import type { Peer } from './peer.ts';
import type { Message } from '../wamp/messages.ts';

const SEND = 0;
const DROPPED = 1;
const KILLED = 2;

/** The session's counters, kept on the session itself. */
export interface OutboundTally {
  readonly id: number;
  /** EVENTs not sent because the peer was not reading fast enough. */
  droppedEvents: number;
}

export class Outbound {
  readonly #ctx: { readonly limits: Limits; readonly logger: Logger; now(): number };
  readonly #peer: Peer;
  readonly #tally: OutboundTally;
  readonly #meter: SessionMeter | undefined;
  readonly #kill: (why: string) => void;
  #overSoftLimitSince: number | undefined;
  /** Where EVENTs written are counted, once the session is in a realm and metrics are served. */
  #events: Float64Array | undefined;
  #eventsAt = 0;

  constructor(
    ctx: { readonly limits: Limits; readonly logger: Logger; now(): number },
    peer: Peer,
    tally: OutboundTally,
    meter: SessionMeter | undefined,
    kill: (why: string) => void,
  ) {
    this.#ctx = ctx;
    this.#peer = peer;
    this.#tally = tally;
    this.#meter = meter;
    this.#kill = kill;
  }

  /** Counts each EVENT written from now on at `counts[index]` (RealmCounters.eventsWritten). */
  countEvents(counts: Float64Array, index: number): void {
    this.#events = counts;
    this.#eventsAt = index;
  }

  /**
   * Writes the frame (an array: its parts, for a Peer with sendParts), or drops it (`droppable`,
   * over the soft limit); false once the session is killed.
   */
  write(frame: Uint8Array | readonly Uint8Array[], droppable: boolean): boolean {
    const admitted = this.#admit(droppable);
    if (admitted !== SEND) return admitted === DROPPED;
    if (Array.isArray(frame)) this.#peer.sendParts!(frame);
    else this.#peer.send(frame as Uint8Array);
    this.#sent(droppable);
    return true;
  }

  /** write() for an in-process peer (Peer.sendMessage): the message itself, under the same rules. */
  pass(message: Message, droppable: boolean): boolean {
    const admitted = this.#admit(droppable);
    if (admitted !== SEND) return admitted === DROPPED;
    this.#peer.sendMessage!(message);
    this.#sent(droppable);
    return true;
  }

  #admit(droppable: boolean): typeof SEND | typeof DROPPED | typeof KILLED {
    const { limits } = this.#ctx;
    const buffered = this.#peer.bufferedAmount();
    if (buffered > limits.outboundHardLimitBytes) {
      this.#kill('slow consumer: outbound buffer over the hard limit');
      return KILLED;
    }
    if (droppable && buffered > limits.outboundSoftLimitBytes) {
      this.#tally.droppedEvents++;
      this.#meter?.eventDropped(DROP_SLOW_CONSUMER);
      this.#overSoftLimitSince ??= this.#ctx.now();
      return DROPPED;
    }
    return SEND;
  }

  #sent(droppable: boolean): void {
    // Other messages are counted where they are encoded (SessionMeter.sent), the octets of all
    // by the transport.
    if (droppable && this.#events !== undefined) this.#events[this.#eventsAt]!++;
  }

  /** The periodic check of an established session: over the soft limit for too long is a slow consumer. */
  tick(now: number): void {
    const { limits, logger } = this.#ctx;
    const tally = this.#tally;
    if (this.#peer.bufferedAmount() <= limits.outboundSoftLimitBytes) {
      if (this.#overSoftLimitSince !== undefined && tally.droppedEvents > 0) {
        logger.info(
          { session: tally.id, dropped: tally.droppedEvents },
          'slow consumer caught up; events were dropped',
        );
      }
      this.#overSoftLimitSince = undefined;
      return;
    }
    this.#overSoftLimitSince ??= now;
    if (now - this.#overSoftLimitSince >= limits.slowConsumerTimeoutMs)
      this.#kill('slow consumer: outbound buffer stayed over the soft limit');
  }
}
