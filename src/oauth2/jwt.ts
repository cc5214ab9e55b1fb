// Access tokens: JWTs (RFC 9068 profile, `typ: at+jwt`) signed ES256 with this node's key.
// Signing uses jose. Checking is synchronous, on node:crypto, because the WAMP authenticator
// seam (src/router/auth.ts) is synchronous and one checker must serve WAMP and HTTP alike; it
// accepts exactly what the signer makes (alg ES256, a kid, no `crit`) and nothing else.

import type { KeyObject } from 'node:crypto';
import crypto from 'node:crypto';
import { SignJWT } from 'jose';

export const TOKEN_TYPE = 'at+jwt';
/** A token larger than this is not one of ours; refused before any parsing. */
export const MAX_TOKEN_CHARS = 8192;

export interface AccessClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly realm: string;
  readonly role: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** Stamp of the credential the token was issued on (see verifier.ts). */
  readonly cst: string;
  readonly client_id?: string;
}

export function signAccessToken(claims: AccessClaims, signer: { kid: string; key: KeyObject }): Promise<string> {
  const { iss, aud, sub, iat, exp, jti, ...rest } = claims;
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: 'ES256', typ: TOKEN_TYPE, kid: signer.kid })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(signer.key);
}

export type Decoded =
  | { readonly ok: true; readonly kid: string; readonly claims: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Whether `s` has the shape of a compact JWS (three base64url parts): a cheap test, no checks. */
export function looksLikeJwt(s: string): boolean {
  const parts = s.split('.');
  return s.length <= MAX_TOKEN_CHARS && parts.length === 3 && parts.every((p) => p.length > 0 && B64URL.test(p));
}

/** Checks the signature with the key `keyFor(kid)` finds; the claims are the caller's to check. */
export function verifySignature(token: string, keyFor: (kid: string) => KeyObject | undefined): Decoded {
  if (!looksLikeJwt(token)) return { ok: false, reason: 'not a JWT' };
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = parseJson(h);
  if (header === undefined) return { ok: false, reason: 'malformed header' };
  if (header.alg !== 'ES256') return { ok: false, reason: 'unsupported alg' };
  if (header.typ !== TOKEN_TYPE) return { ok: false, reason: 'not an access token (typ)' };
  if (header.crit !== undefined) return { ok: false, reason: 'unsupported crit' };
  if (typeof header.kid !== 'string') return { ok: false, reason: 'no kid' };
  const key = keyFor(header.kid);
  if (key === undefined) return { ok: false, reason: 'unknown key' };
  const sig = Buffer.from(s, 'base64url');
  const ok =
    sig.length === 64 && crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) return { ok: false, reason: 'bad signature' };
  const claims = parseJson(p);
  if (claims === undefined) return { ok: false, reason: 'malformed claims' };
  return { ok: true, kid: header.kid, claims };
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
