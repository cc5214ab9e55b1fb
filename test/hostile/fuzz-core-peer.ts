// The peers of the core fuzz (fuzz-core.test.ts): a Peer that records what the router does to
// it, the fuzzed sessions with the IDs they have seen, and why the router may have closed one.

import type { CloseReason, Peer, PeerHandler } from '../../src/router/peer.ts';
import type { Serializer } from '../../src/serializers/index.ts';
import { ProtocolViolation } from '../../src/wamp/parse.ts';

export /** A Peer that records what the router does to it; the checks read the record after each step. */
class CorePeer implements Peer {
  readonly serializer: Serializer;
  readonly info = { type: 'memory', peer: '127.0.0.1:1', local: true };
  readonly name: string;
  handler!: PeerHandler;
  /** Every frame the router sent, and how many of them the checks have looked at. */
  readonly frames: Uint8Array[] = [];
  checked = 0;
  /** Decoded and checked messages, in order. */
  readonly messages: unknown[][] = [];
  closedBy: CloseReason | undefined;
  /** The step in which the router closed us, and what kind of step it was. */
  closedIn: string | undefined;
  closeExplained = false;
  /** We told the core the transport is gone (deferred to after the step, as real transports do). */
  transportGone = false;
  sendsAfterClose = 0;
  buffered = 0;
  /** The last message this peer sent, as the core parsed it. */
  lastSent: unknown;
  #step: () => string;

  constructor(serializer: Serializer, name: string, step: () => string) {
    this.serializer = serializer;
    this.name = name;
    this.#step = step;
  }

  send(frame: Uint8Array): void {
    if (this.closedBy !== undefined) {
      this.sendsAfterClose++;
      return;
    }
    // Our own copy, whatever the router does with its buffer afterwards.
    this.frames.push(Uint8Array.from(frame));
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  close(reason: CloseReason = 'normal'): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = reason;
    this.closedIn = this.#step();
  }
}

export /** A session under fuzz, and the IDs it has seen (so mutations also hit live state). */
interface FuzzSession {
  readonly peer: CorePeer;
  /** How often it sends a broken frame rather than a valid one: some sessions live long enough to build up state. */
  readonly hostility: number;
  welcomed: boolean;
  nextRequest: number;
  readonly ids: number[];
  readonly invocations: number[];
  readonly registrations: number[];
  readonly subscriptions: number[];
  readonly calls: number[];
}

export function remember(list: number[], id: unknown, max = 40): void {
  if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
    list.push(id);
    if (list.length > max) list.shift();
  }
}

/** The core's contract (peer.ts CloseReason, session.ts): why may the router have closed it? */
export function closeExplained(peer: CorePeer): boolean {
  if (peer.messages.some((m) => m[0] === 3 || m[0] === 6)) return true; // told: ABORT, or GOODBYE
  if (peer.closedBy === 'slow_consumer') return peer.buffered > 1 << 20;
  // The client's own ABORT ends the session silently (spec: no reply to ABORT).
  if (!(peer.lastSent instanceof ProtocolViolation) && (peer.lastSent as { type?: number } | undefined)?.type === 3)
    return true;
  // No HELLO (or no AUTHENTICATE) in time: the transport is just closed.
  return (peer.closedIn ?? '').endsWith(' tick') && !peer.messages.some((m) => m[0] === 2);
}
