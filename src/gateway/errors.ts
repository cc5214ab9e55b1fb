// The gateway's one table from what went wrong to an HTTP status. Every error answer is built
// here, with the body {"error": uri, "args": [...], "kwargs": {...}} whatever the cause, so the
// mapping cannot drift between two copies (Bondy's has two, and they disagree).

import { gatewayDefaults as gd } from './defaults.ts';

/** Errors the gateway itself raises (the others are the router's or a callee's). */
export const GatewayErrorUri = {
  /** No API serves this path, or no route of it this method and path. */
  NO_SUCH_ROUTE: 'wampmesh.error.no_such_route',
  /** The path exists, with other methods. */
  METHOD_NOT_ALLOWED: 'wampmesh.error.method_not_allowed',
  /** The request body is larger than the API's maxBodyBytes. */
  PAYLOAD_TOO_LARGE: 'wampmesh.error.payload_too_large',
  /** The body did not arrive within the read time. */
  REQUEST_TIMEOUT: 'wampmesh.error.request_timeout',
  /** Too many failed authentications from this address. */
  TOO_MANY_REQUESTS: 'wampmesh.error.too_many_requests',
  /** The node is at its in-flight or stream limit, or stopping. */
  UNAVAILABLE: 'wampmesh.error.unavailable',
  /** The route's timeout passed before the answer (the call was cancelled). */
  TIMEOUT: 'wamp.error.timeout',
  /** A webhook request whose signature was accepted before (a replay). */
  REPLAYED: 'wampmesh.error.replayed',
  /** The body's Content-Type is not JSON, CBOR or MessagePack. */
  UNSUPPORTED_MEDIA_TYPE: 'wampmesh.error.unsupported_media_type',
  /** No credentials, and anonymous access is not open to this client. */
  NOT_AUTHENTICATED: 'wampmesh.error.not_authenticated',
  /**
   * The callee's answer cannot be written in the format the client asked for (an integer
   * beyond 64 bits as MessagePack, a value nested too deep for the encoder).
   */
  UNENCODABLE: 'wampmesh.error.unencodable',
} as const;

export interface ErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly error: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
}

/** How an answer says who may try again (401) or when (429, 503). */
export interface ErrorContext {
  /** For WWW-Authenticate on 401: the API's realm and its ways in. */
  readonly challenge?: { readonly realm: string; readonly auth: readonly string[]; readonly bearerError?: string };
  /** statusCodes of the route, then of the API: first match wins. */
  readonly statusCodes?: readonly Readonly<Record<string, number>>[];
  readonly retryAfterSec?: number;
}

/** The table: an error URI to its status. Anything not here and not configured is 500. */
export const STATUS_BY_URI: Readonly<Record<string, number>> = {
  'wamp.error.invalid_argument': 400,
  'wamp.error.invalid_uri': 400,
  'wamp.error.option_not_allowed': 400,
  [GatewayErrorUri.NOT_AUTHENTICATED]: 401,
  'wamp.error.authentication_failed': 401,
  'wamp.error.no_auth_method': 401,
  'wamp.error.not_authorized': 403,
  [GatewayErrorUri.NO_SUCH_ROUTE]: 404,
  [GatewayErrorUri.METHOD_NOT_ALLOWED]: 405,
  [GatewayErrorUri.REQUEST_TIMEOUT]: 408,
  [GatewayErrorUri.REPLAYED]: 409,
  [GatewayErrorUri.PAYLOAD_TOO_LARGE]: 413,
  [GatewayErrorUri.UNSUPPORTED_MEDIA_TYPE]: 415,
  [GatewayErrorUri.TOO_MANY_REQUESTS]: 429,
  // A mesh hop lost, or an answer too large to carry back: the far side failed, not us.
  'wamp.error.network_failure': 502,
  'wamp.error.payload_size_exceeded': 502,
  // What the callee answered is valid WAMP but cannot reach this client: the upstream's answer.
  [GatewayErrorUri.UNENCODABLE]: 502,
  // The router's answer when the callee left mid-call. Not the route's timeout: that call is
  // abandoned with wamp.error.timeout (call.ts) before any answer to its CANCEL comes back.
  'wamp.error.canceled': 502,
  // Nobody registered (yet): a callee that reconnects, or a spec whose realm has not
  // replicated here, is usually back soon, hence Retry-After.
  'wamp.error.no_such_procedure': 503,
  'wamp.error.no_such_realm': 503,
  [GatewayErrorUri.UNAVAILABLE]: 503,
  'wampmesh.error.limit_exceeded': 503,
  [GatewayErrorUri.TIMEOUT]: 504,
};

export function statusOf(uri: string, configured: ErrorContext['statusCodes'] = []): number {
  for (const table of configured) {
    const s = table[uri];
    if (s !== undefined) return s;
  }
  return STATUS_BY_URI[uri] ?? 500;
}

export function errorReply(
  uri: string,
  args: readonly unknown[] = [],
  kwargs: Readonly<Record<string, unknown>> = {},
  ctx: ErrorContext = {},
): ErrorReply {
  const status = statusOf(uri, ctx.statusCodes);
  const headers: Record<string, string> = {};
  if (status === 401 && ctx.challenge !== undefined) {
    const { realm, auth, bearerError } = ctx.challenge;
    const quoted = realm.replace(/["\\]/g, '');
    const ways: string[] = [];
    // RFC 6750 §3: error="invalid_token" when a token was sent and refused.
    if (auth.includes('bearer'))
      ways.push(`Bearer realm="${quoted}"${bearerError !== undefined ? `, error="${bearerError}"` : ''}`);
    if (auth.includes('basic')) ways.push(`Basic realm="${quoted}", charset="UTF-8"`);
    if (ways.length > 0) headers['WWW-Authenticate'] = ways.join(', ');
  }
  if (status === 429 || status === 503) headers['Retry-After'] = String(ctx.retryAfterSec ?? gd.retryAfterSec);
  return { status, headers, error: uri, args, kwargs };
}
