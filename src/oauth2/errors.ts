// OAuth2 error responses (RFC 6749 section 5.2, RFC 7009 section 2.2.1) and the reply shape of
// the endpoints. Every reply carries Cache-Control: no-store (tokens and their errors must never
// be cached, section 5.1).

export const OAuth2ErrorCode = {
  /** A parameter is missing, repeated, malformed or unsupported, or the body is not a form. */
  INVALID_REQUEST: 'invalid_request',
  /** Client authentication failed (unknown client, wrong secret, disabled). 401. */
  INVALID_CLIENT: 'invalid_client',
  /** The password, or the refresh token, is invalid, expired, revoked or was issued to another client. */
  INVALID_GRANT: 'invalid_grant',
  /** This client may not use this grant type (client_credentials without client authentication). */
  UNAUTHORIZED_CLIENT: 'unauthorized_client',
  /** The grant type is unknown or not enabled for the realm. */
  UNSUPPORTED_GRANT_TYPE: 'unsupported_grant_type',
  /** A scope was asked for; wampmesh grants none (permissions come from the realm's grants). */
  INVALID_SCOPE: 'invalid_scope',
  /** RFC 7009: the token_type_hint names a type this server cannot revoke. */
  UNSUPPORTED_TOKEN_TYPE: 'unsupported_token_type',
  /** Too many failed attempts from this address or for this account (429, Retry-After). */
  TEMPORARILY_UNAVAILABLE: 'temporarily_unavailable',
} as const;
export type OAuth2ErrorCode = (typeof OAuth2ErrorCode)[keyof typeof OAuth2ErrorCode];

export interface OAuth2Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): OAuth2Reply {
  return {
    status,
    headers: { 'Content-Type': 'application/json;charset=UTF-8', ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}

/** Retry-After for throttled attempts: one token of the per-address bucket comes back in 6 s. */
const RETRY_AFTER_SEC = '6';

export function errorReply(code: OAuth2ErrorCode, description: string, realm: string): OAuth2Reply {
  const body = { error: code, error_description: describable(description) };
  switch (code) {
    case OAuth2ErrorCode.INVALID_CLIENT:
      // Section 5.2: 401 with the scheme the client may authenticate with.
      return jsonReply(401, body, { 'WWW-Authenticate': `Basic realm="${quoted(realm)}", charset="UTF-8"` });
    case OAuth2ErrorCode.TEMPORARILY_UNAVAILABLE:
      return jsonReply(429, body, { 'Retry-After': RETRY_AFTER_SEC });
    default:
      return jsonReply(400, body);
  }
}

export function notFoundReply(what: string): OAuth2Reply {
  return jsonReply(404, { error: 'not_found', error_description: what });
}

export function methodNotAllowed(allow: string): OAuth2Reply {
  return jsonReply(405, { error: 'method_not_allowed', error_description: `use ${allow}` }, { Allow: allow });
}

/**
 * Section 5.2: error_description holds %x20-21 / %x23-5B / %x5D-7E only (printable ASCII
 * without '"' and '\\'). Descriptions are ours, but some name what a client sent.
 */
function describable(s: string): string {
  return s.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?');
}

/** A realm URI inside a quoted-string: no quote or backslash can break out of it. */
function quoted(s: string): string {
  return s.replace(/["\\]/g, '_');
}
