// Every limit and timing of the HTTP gateway in one place, each with its reason.

export const gatewayDefaults = {
  // A JSON document for a call or a publication; larger uploads are not what WAMP is for.
  maxBodyBytes: 1024 * 1024,
  // What a spec may raise maxBodyBytes to: the router's own message ceiling.
  maxBodyBytesCeiling: 16 * 1024 * 1024,
  // From the request head to the last body byte: a client this slow holds a connection and a
  // buffer for nothing (slow-loris on bodies).
  bodyReadTimeoutMs: 15_000,
  // A call nobody answers is cancelled (kill) and answered 504 after this.
  routeTimeoutMs: 10_000,
  maxRouteTimeoutMs: 600_000,
  // Requests being answered at once, over all APIs of the node; more get 503 + Retry-After.
  // Each holds a call in the router and a buffered body.
  maxInFlight: 256,
  // Open event streams at once; each is a subscription and a connection held open.
  maxStreams: 64,
  // Idle proxies close a silent connection after 60 s or so (nginx proxy_read_timeout).
  sseHeartbeatSec: 15,
  // Events or progressive results held for a stream whose client does not read; past it the
  // stream is closed (an event stream's client reconnects with Last-Event-ID; a streamed call
  // is cancelled), as a slow WebSocket subscriber is.
  sseMaxBufferedBytes: 1024 * 1024,
  // Events replayed at most for one Last-Event-ID (the realm's history rules bound it too).
  sseReplayMax: 1000,
  // Webhook senders sign a timestamp; older or newer by more than this is refused.
  webhookToleranceSec: 300,
  // Signatures seen within the tolerance window, remembered to refuse a replay.
  webhookReplayCacheSize: 10_000,
  // WAMP sessions kept per identity between requests: a pooled session skips HELLO/WELCOME
  // (and Argon2id for Basic) on every request; idle ones are closed.
  maxSessions: 1024,
  sessionIdleMs: 60_000,
  // Routes per spec: a spec is matched linearly per request.
  maxRoutes: 256,
  // Connections an HTTP listener serving the gateway holds (idle keep-alive ones included).
  maxConnections: 10_000,
  // Retry-After on 503: a callee that is away is usually back within seconds.
  retryAfterSec: 5,
} as const;
