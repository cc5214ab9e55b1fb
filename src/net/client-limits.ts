// Client limits (RawSocket and WebSocket connections, and the sessions on them) in one place,
// each default with its reason, as src/mesh/defaults.ts does for the mesh. The configuration
// (src/config/limits.ts) takes its defaults and bounds from here; the transports fall back to
// them when started without one. The session limits the core enforces are the core's own
// (src/router/limits.ts: the core imports nothing above it) and are read from there.

import { defaultLimits } from '../router/limits.ts';

/** The largest maximum a RawSocket peer can announce: 2^(9+15) octets, 16 MiB. */
export const MESSAGE_SIZE_MAX = 16 * 1024 * 1024;
/** RawSocket's smallest announceable maximum (2^9). */
export const MESSAGE_SIZE_MIN = 512;

export const clientDefaults = {
  /** The largest message in either direction: what RawSocket can announce, so both transports agree. */
  maxMessageSize: MESSAGE_SIZE_MAX,
  /**
   * Time from TCP accept to the RawSocket handshake, and to HELLO (the session's hello timeout):
   * long enough for a slow link and a challenge round, short enough that half-open connections
   * don't pile up.
   */
  handshakeTimeoutMs: defaultLimits.helloTimeoutMs,
  /**
   * The largest frame accepted before WELCOME: HELLO and AUTHENTICATE are a few hundred octets,
   * and 64 KiB leaves room for long authextra (certificates). A stranger must not make the
   * router buffer a maximal first message per connection.
   */
  preAuthMaxMessageSize: 64 * 1024,
  /**
   * Unfinished frames of all not-yet-welcomed connections together (256 stalled 64 KiB first
   * frames): a few hundred stalled strangers cannot make the router hold gigabytes.
   */
  preAuthBufferBytes: 16 * 1024 * 1024,
  /**
   * What WebSockets that have not logged in can make uWebSockets.js buffer, all together: each
   * holds its listener's maxMessageSize from upgrade to WELCOME (uWS reassembles a message
   * natively before the router sees it). Apart from preAuthBufferBytes, so a WebSocket stranger
   * cannot leave RawSocket logins without room for a HELLO that arrives in pieces. One 16 MiB
   * share: with the budget above, 200 stalled strangers per transport stay under 50 MB.
   */
  preAuthWebSocketBytes: 16 * 1024 * 1024,
  /**
   * WebSockets from one address that may be between upgrade and WELCOME at once, each holding
   * a share of preAuthWebSocketBytes (and MQTT TCP connections between accept and CONNACK, of
   * their listeners' budget): one host cannot spend all of it, and a client that
   * logs in takes milliseconds, so a few cover ordinary reconnects through one NAT.
   */
  preAuthConnectionsPerAddress: 4,
  /**
   * Retry-After (seconds) on the 503 that refuses a WebSocket upgrade when the budget is spent:
   * a login that succeeds frees its share within milliseconds, and a refusal costs the router
   * one short HTTP reply, so clients may come back soon.
   */
  preAuthRetryAfterSec: 1,
  /**
   * WebSocket upgrades that may wait for a share of that budget, all addresses together: a
   * waiting upgrade is a paused HTTP request (a socket, no frames), so a thousand cost little,
   * and a burst of honest clients waits its turn instead of being refused.
   */
  preAuthWaitingUpgrades: 1024,
  /** Of those, from one address: one host cannot fill the line for everyone else. */
  preAuthWaitingUpgradesPerAddress: 256,
  /**
   * Queued outbound bytes above which a session gets no more EVENTs (dropped, counted): one slow
   * subscriber must not make the router hold every publication for it.
   */
  outboundSoftLimitBytes: defaultLimits.outboundSoftLimitBytes,
  /** Queued outbound bytes above which a session is closed at once: memory on a small device is the hard limit. */
  outboundHardLimitBytes: defaultLimits.outboundHardLimitBytes,
  /** How long a session may stay over the soft limit before it is closed as a slow consumer. */
  slowConsumerTimeoutMs: defaultLimits.slowConsumerTimeoutMs,
  /**
   * uWebSockets.js pings idle WebSockets and closes dead ones after this; 0 disables. Its own
   * bounds: it aborts the process for values 1..7 or over 960.
   */
  wsIdleTimeoutSec: 120,
  /**
   * uWebSockets.js buffers up to this much per WebSocket before it drops the connection: above
   * the session's hard limit (which closes it first, with a reason), so it is never reached by
   * a session that the core still tracks.
   */
  wsMaxBackpressureBytes: 64 * 1024 * 1024,
  /**
   * After close() or a handshake error the RawSocket server ends its side politely; a client
   * that never hangs up its side must not pin the socket forever.
   */
  lingerMs: 5_000,
  /** TCP keepalive on RawSocket connections: a peer that vanished (power cut) is found within minutes. */
  keepAliveDelayMs: 60_000,
} as const;
