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
