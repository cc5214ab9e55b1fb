// Per-session limits. Each default says why it is what it is.
export interface Limits {
  /** A client that opened a transport but sent no HELLO holds a slot; 10 s is ample on a slow link. */
  helloTimeoutMs: number;
  /** Above this many unwritten bytes, EVENTs to the session are dropped and counted (RPC is kept). */
  outboundSoftLimitBytes: number;
  /** Above this many unwritten bytes the session is closed at once: memory stays bounded. */
  outboundHardLimitBytes: number;
  /** A session that stays above the soft limit this long is closed as a slow consumer. */
  slowConsumerTimeoutMs: number;
  /** After the router's GOODBYE (kill, shutdown), how long the peer has to answer before the transport is closed. */
  goodbyeTimeoutMs: number;
}

export const defaultLimits: Limits = {
  helloTimeoutMs: 10_000,
  // 1 MiB is a few seconds of events for a Pi-class client; more only delays the drop.
  outboundSoftLimitBytes: 1 << 20,
  // 16 MiB: room for one maximal message on top of the soft limit.
  outboundHardLimitBytes: 16 << 20,
  slowConsumerTimeoutMs: 10_000,
  // As long as a shutdown waits: a well-behaved client answers at once, a killed one that
  // ignores GOODBYE must not keep its connection.
  goodbyeTimeoutMs: 2_000,
};

/**
 * What one session, and one realm, may make the router hold. Beyond a limit the request is
 * refused with ERROR `wampmesh.error.limit_exceeded` (the spec defines no URI for this, and
 * `wamp.` is the spec's namespace), logged at most once per 10 s per realm and kind, and
 * counted (Realm.limitCounts). Configurable per realm (config file `realms[].limits`).
 */
export interface RealmLimits {
  /** Calls a session has made that are not answered yet. */
  maxPendingCallsPerSession: number;
  /** Unanswered calls in the whole realm: what a callee that never answers can make the router hold. */
  maxPendingCalls: number;
  /** Subscriptions one session holds. */
  maxSubscriptionsPerSession: number;
  /** Registrations one session holds. */
  maxRegistrationsPerSession: number;
  /**
   * Topics a session may newly give a retained event (each is a row in SQLite until replaced).
   * A retained testament counts as one such topic from the moment it is added.
   */
  maxRetainedTopicsPerSession: number;
  /** Testaments one session holds, both scopes together (wamp.session.add_testament, MQTT wills). */
  maxTestamentsPerSession: number;
}

export const defaultRealmLimits: RealmLimits = {
  // Real clients keep a few to a few dozen calls open; 1000 leaves room for bursty batch
  // clients and stops a loop that never waits (about 0.5 KiB each: 0.5 MiB per session).
  maxPendingCallsPerSession: 1000,
  // 20 000 x about 0.5 KiB = 10 MiB: small next to the 512 MiB a Pi unit is given, yet far
  // above what a working realm has open at once.
  maxPendingCalls: 20_000,
  // A table entry is a few hundred bytes; 10 000 covers per-device topic and procedure
  // schemes, and stops a runaway loop at a few MiB.
  maxSubscriptionsPerSession: 10_000,
  maxRegistrationsPerSession: 10_000,
  // Each retained topic is kept on disk (up to maxMessageSize each) until overwritten: on an SD
  // card that is the limit that matters; 1000 topics of state per session is generous.
  maxRetainedTopicsPerSession: 1000,
  // A session needs a handful (its status topic, an MQTT will: one); 64 leaves room for a client
  // announcing the state of several resources. Each is kept until the session ends and holds up
  // to a message's size (limits.maxMessageSize) in memory, so the count is what bounds what one
  // session can make the router hold.
  maxTestamentsPerSession: 64,
};

export const LIMIT_EXCEEDED = 'wampmesh.error.limit_exceeded';
export type LimitKind = keyof RealmLimits;

const LIMIT_MESSAGES: Record<LimitKind, (n: number) => string> = {
  maxPendingCallsPerSession: (n) =>
    `this session has ${n} calls waiting for an answer, the most the realm allows; wait for some to finish`,
  maxPendingCalls: (n) => `the realm has ${n} calls waiting for an answer, the most it allows; try again later`,
  maxRegistrationsPerSession: (n) => `this session holds ${n} registrations, the most the realm allows`,
  maxSubscriptionsPerSession: (n) => `this session holds ${n} subscriptions, the most the realm allows`,
  maxRetainedTopicsPerSession: (n) =>
    `this session gave ${n} topics a retained event (retained testaments included), the most the realm allows`,
  maxTestamentsPerSession: (n) =>
    `this session holds ${n} testaments, the most the realm allows; flush_testaments makes room`,
};

/** The ERROR text for a request refused by a limit of `n`. */
export function limitMessage(kind: LimitKind, n: number): string {
  return LIMIT_MESSAGES[kind](n);
}
