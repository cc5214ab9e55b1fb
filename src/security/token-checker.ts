// The seam between the authenticator and OAuth2 (src/oauth2/verifier.ts), which is built on top
// of security and so cannot be imported here: the authenticator is handed a checker instead.

/** Checks an OAuth2 access token for a realm; synchronous, like the authenticator seam. */
export interface TokenChecker {
  check(realm: string, token: string): { ok: true; identity: { authid: string } } | { ok: false; reason: string };
}

/** Whether a ticket is shaped like a JWT (three base64url parts): then it is tried as a token first. */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
