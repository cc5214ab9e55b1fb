// What the core counts for /metrics. Plain numbers in typed arrays, indexed by small integers
// the hot path already has (message type code, transport index): an increment costs what a
// field write costs, and nothing is formatted until a scrape asks (src/observe/prometheus.ts).
// Every label takes its values from a fixed list here, so the series stay bounded whatever
// peers send: realm labels come from the configured realms (one RealmCounters per Realm).

import { MessageType as T, type Message } from '../wamp/messages.ts';
import type { Peer } from './peer.ts';

/** Label values of "transport"; TransportInfo.type maps onto these, anything else to "other". */
export const TRANSPORTS = ['rawsocket', 'websocket', 'memory', 'link', 'other'] as const;
const OTHER_TRANSPORT = TRANSPORTS.length - 1;

export function transportIndex(type: string): number {
  const i = (TRANSPORTS as readonly string[]).indexOf(type);
  return i < 0 ? OTHER_TRANSPORT : i;
}

/** Message type codes are below 72 (spec "Message Codes and Direction"); one row per transport. */
export const MESSAGE_CODES = 72;

/** How a call ended, as the caller saw it (RESULT, or ERROR for its CALL). */
export const CALL_OUTCOMES = [
  'ok',
  'error',
  'canceled',
  'timeout',
  'no_such_procedure',
  'not_authorized',
  'failed',
] as const;
const OUTCOME_OF: Readonly<Record<string, number>> = {
  'wamp.error.canceled': 2,
  'wamp.error.timeout': 3,
  'wamp.error.no_such_procedure': 4,
  'wamp.error.not_authorized': 5,
};

/** The outcome index of an ERROR for a CALL: the callee's own error URIs are "error". */
export function callOutcome(error: string): number {
  const known = OUTCOME_OF[error];
  if (known !== undefined) return known;
  // Other wamp.error.* are the router refusing or losing the call (invalid_argument,
  // payload_size_exceeded, network_failure, ...); anything else came from the callee.
  return error.startsWith('wamp.error.') ? 6 : 1;
}

/** Why an EVENT was not delivered. */
export const DROP_REASONS = ['slow_consumer', 'unencodable'] as const;
export const DROP_SLOW_CONSUMER = 0;
export const DROP_UNENCODABLE = 1;

/** Label values of "method" for authentication failures; an unknown method counts as "other". */
export const AUTH_METHODS = ['anonymous', 'ticket', 'wampcra', 'cryptosign', 'scram', 'tls', 'other'] as const;

export function authMethodIndex(method: string): number {
  const i = (AUTH_METHODS as readonly string[]).indexOf(method);
  return i < 0 ? AUTH_METHODS.length - 1 : i;
}

/**
 * Upper bounds (seconds) of the call-duration buckets: from a local call on loopback (tens of
 * microseconds) to calls that hit a 60 s timeout, about three buckets per decade.
 */
export const CALL_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** One call in this many of each session has its duration observed. */
export const CALL_SAMPLE_EVERY = 16;

/** The total of a row of counters (at a scrape). */
export function sum(counts: Float64Array): number {
  let n = 0;
  for (const x of counts) n += x;
  return n;
}

/** A histogram with fixed buckets; counts are per bucket, made cumulative when rendered. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1); // the last one is +Inf
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** Router-wide counters; the router counts into one only when metrics are served. */
export class RouterMetrics {
  /** Milliseconds from a monotonic clock with sub-millisecond resolution (performance.now at the edge). */
  readonly clock: () => number;
  /** [transport * MESSAGE_CODES + type] */
  readonly messagesReceived = new Float64Array(TRANSPORTS.length * MESSAGE_CODES);
  readonly messagesSent = new Float64Array(TRANSPORTS.length * MESSAGE_CODES);
  readonly bytesReceived = new Float64Array(TRANSPORTS.length);
  readonly bytesSent = new Float64Array(TRANSPORTS.length);
  slowConsumerCloses = 0;
  /** Sampled: see SessionMeter.callStarted. */
  readonly callDuration = new Histogram(CALL_BUCKETS);
  /** Sessions whose per-EVENT counts are not in the totals yet. */
  readonly live = new Set<SessionMeter>();

  constructor(clock: () => number) {
    this.clock = clock;
  }

  /** A realm is deleted: its EVENT counts stay in the router-wide totals (counters never go down). */
  realmRemoved(counters: RealmCounters): void {
    for (let t = 0; t < TRANSPORTS.length; t++)
      this.messagesSent[t * MESSAGE_CODES + T.EVENT]! += counters.eventsWritten[t]!;
  }
}

/** Per-realm counters, owned by the Realm (so a realm label exists only for a configured realm). */
export class RealmCounters {
  /** [transport]; the live count is opened - closed. */
  readonly sessionsOpened = new Float64Array(TRANSPORTS.length);
  readonly sessionsClosed = new Float64Array(TRANSPORTS.length);
  /** [CALL_OUTCOMES index] */
  readonly calls = new Float64Array(CALL_OUTCOMES.length);
  publications = 0;
  /**
   * [transport] EVENTs written to this realm's subscribers, added to by each subscriber's
   * Outbound directly: one increment per EVENT, and a scrape reads the realm's totals without
   * walking its sessions.
   */
  readonly eventsWritten = new Float64Array(TRANSPORTS.length);
  /** [DROP_REASONS index] */
  readonly eventsDropped = new Float64Array(DROP_REASONS.length);
  /** [AUTH_METHODS index] */
  readonly authFailures = new Float64Array(AUTH_METHODS.length);
}

/**
 * One session's counters. What happens per message adds to the router-wide arrays; an EVENT
 * (a fan-out writes one to each of thousands of sessions for one publication) is counted by
 * Outbound into its realm's RealmCounters.eventsWritten instead. Octets sent are not counted
 * here at all: the transport sums its frames' sizes per write batch anyway (Peer.octetsSent),
 * which a scrape reads for the live sessions and which joins the totals when a session ends.
 */
export class SessionMeter {
  readonly #m: RouterMetrics;
  readonly transport: number;
  readonly #row: number;
  readonly #peer: Peer;
  // The router-wide arrays, held directly: one load less per message.
  readonly #received: Float64Array;
  readonly #sent: Float64Array;
  readonly #bytesIn: Float64Array;
  /** The realm's counters once the session has joined one. */
  counters: RealmCounters | undefined;
  /** Calls started, for sampling their duration; the one call being timed (0: none) and its start. */
  #started = 0;
  #timedRequest = 0;
  #timedAt = 0;

  constructor(metrics: RouterMetrics, peer: Peer) {
    this.#m = metrics;
    this.#peer = peer;
    this.#received = metrics.messagesReceived;
    this.#sent = metrics.messagesSent;
    this.#bytesIn = metrics.bytesReceived;
    this.transport = transportIndex(peer.info.type);
    this.#row = this.transport * MESSAGE_CODES;
    metrics.live.add(this);
  }

  joined(counters: RealmCounters): void {
    this.counters = counters;
  }

  /** Octets of every frame sent so far, as the transport counted them (0 if it does not). */
  octetsSent(): number {
    return this.#peer.octetsSent?.() ?? 0;
  }

  /** The session is over: its octets join the totals. Idempotent. */
  closed(): void {
    if (!this.#m.live.delete(this)) return;
    this.#m.bytesSent[this.transport]! += this.octetsSent();
  }

  received(type: number, bytes: number): void {
    this.#received[this.#row + type]!++;
    this.#bytesIn[this.transport]! += bytes;
  }

  /**
   * A CALL. At most one call of a session is timed at once, and then only one in
   * CALL_SAMPLE_EVERY (the first call always): two clock reads and a table of start times per
   * call would cost more than all the rest of the counting. Later chunks of a progressive
   * invocation are not new calls (their request is the one being timed, or not sampled).
   */
  callStarted(request: number): void {
    if (this.#timedRequest !== 0 || this.#started++ % CALL_SAMPLE_EVERY !== 0) return;
    this.#timedRequest = request;
    this.#timedAt = this.#m.clock();
  }

  /** A CALL dropped without an answer (a chunk of an ended progressive call): it is not timed. */
  callDropped(request: number): void {
    if (request === this.#timedRequest) this.#timedRequest = 0;
  }

  /** A message encoded for the peer; a final RESULT or an ERROR for a CALL ends a call. */
  sent(message: Message): void {
    const type = message.type;
    this.#sent[this.#row + type]!++;
    if (type !== T.RESULT && type !== T.ERROR) return;
    if (message.type === T.RESULT) {
      if (message.details.progress !== true) this.#callEnded(message.request, 0);
    } else if (message.type === T.ERROR && message.requestType === T.CALL) {
      this.#callEnded(message.request, callOutcome(message.error));
    }
  }

  eventDropped(reason: number): void {
    if (this.counters !== undefined) this.counters.eventsDropped[reason]!++;
  }

  published(): void {
    if (this.counters !== undefined) this.counters.publications++;
  }

  slowConsumerClosed(): void {
    this.#m.slowConsumerCloses++;
  }

  #callEnded(request: number, outcome: number): void {
    if (this.counters !== undefined) this.counters.calls[outcome]!++;
    if (request !== this.#timedRequest) return;
    this.#timedRequest = 0;
    this.#m.callDuration.observe((this.#m.clock() - this.#timedAt) / 1000);
  }
}
