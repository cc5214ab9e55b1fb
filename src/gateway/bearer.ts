// How the gateway learns who sends `Authorization: Bearer <token>`: through a verifier that
// the token issuer (src/oauth2/) provides, so the gateway knows nothing of token formats.

/** A token that opens a session of `realm` as this identity. */
export interface BearerIdentity {
  readonly authid: string;
  readonly authrole: string;
  /** Shown to callees under caller disclosure as `caller_authextra`-like details. */
  readonly authextra?: Readonly<Record<string, unknown>>;
  /** The OAuth2 scope granted with the token, if any (informational: grants decide). */
  readonly scope?: string;
}

/**
 * A token that does not: `error` is a WAMP URI (wamp.error.not_authorized,
 * wamp.error.authentication_failed, ...), `status` the HTTP status to answer (401 for a bad or
 * expired token, 403 for a valid token without the right), `description` for the
 * WWW-Authenticate header's error_description (RFC 6750 §3).
 */
export interface BearerRefusal {
  readonly error: string;
  readonly status: 401 | 403;
  readonly description?: string;
}

export type BearerVerifier = (realm: string, token: string) => Promise<BearerIdentity | BearerRefusal>;

export function isBearerRefusal(r: BearerIdentity | BearerRefusal): r is BearerRefusal {
  return 'error' in r;
}
