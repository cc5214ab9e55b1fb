// The OAuth2 state every node shares, as replicated records (key -> JSON value), and the schemas
// that check them: records come from other nodes too, so each is checked before it is kept.
//
//   oauth2.key|<kid>                          a node's public signing key (JWK)
//   oauth2.refresh|<realm>|<family>          a refresh token family: the current token's SHA-256, never a secret
//   oauth2.revoked|<realm>|<jti>              a revoked access token, until it would have expired

import crypto from 'node:crypto';
import { z } from 'zod';

export const KEY_PREFIX = 'oauth2.key|';
export const REFRESH_PREFIX = 'oauth2.refresh|';
export const REVOKED_PREFIX = 'oauth2.revoked|';

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/);

export const publicKeySchema = z.strictObject({
  kid: b64url.max(64),
  node: z.string().max(64),
  created: z.int(),
  jwk: z.strictObject({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: b64url.length(43),
    y: b64url.length(43),
    alg: z.literal('ES256'),
    use: z.literal('sig'),
    kid: b64url.max(64),
  }),
});

/**
 * One record per family (one login): rotation replaces `current` and counts `generation`, so a
 * family costs one record however often it is refreshed. A token of the family that is not the
 * current one is a replay (or a node that lost a concurrent rotation): the family is revoked.
 */
export const refreshSchema = z.strictObject({
  realm: z.string().max(1024),
  authid: z.string().max(255),
  client: z.string().max(255).optional(),
  family: b64url.max(64),
  /** SHA-256 (base64url) of the current token's secret. */
  current: b64url.max(64),
  generation: z.int().min(0),
  state: z.enum(['active', 'revoked']),
  /** Stamp of the credential the family was started with (verifier.ts credentialStamp). */
  cst: b64url.max(64),
  issued: z.int(),
  /** ms since the epoch; the family's end (rotation does not extend it). */
  expires: z.int(),
  /** The last access token issued from the family, revoked with it (RFC 7009 section 2.1). */
  jti: b64url.max(64).optional(),
  jtiExpires: z.int().optional(),
});

export const revokedSchema = z.strictObject({
  realm: z.string().max(1024),
  jti: b64url.max(64),
  /** When the access token expires anyway (ms since the epoch): the entry is forgotten then. */
  expires: z.int(),
});

export type PublicKeyRecord = z.output<typeof publicKeySchema>;
export type RefreshRecord = z.output<typeof refreshSchema>;
export type RevokedRecord = z.output<typeof revokedSchema>;

export const keyKey = (kid: string) => `${KEY_PREFIX}${kid}`;
export const refreshKey = (realm: string, family: string) => `${REFRESH_PREFIX}${realm}|${family}`;
export const revokedKey = (realm: string, jti: string) => `${REVOKED_PREFIX}${realm}|${jti}`;

/** The record's value if it is well formed for its key, else undefined. */
export function checkRecord(key: string, value: unknown): Record<string, unknown> | undefined {
  if (key.startsWith(KEY_PREFIX)) {
    const r = publicKeySchema.safeParse(value);
    // The kid is the key's thumbprint: a record cannot put another key under a known kid.
    return r.success &&
      keyKey(r.data.kid) === key &&
      r.data.jwk.kid === r.data.kid &&
      thumbprint(r.data.jwk) === r.data.kid
      ? r.data
      : undefined;
  }
  if (key.startsWith(REFRESH_PREFIX)) {
    const r = refreshSchema.safeParse(value);
    return r.success && refreshKey(r.data.realm, r.data.family) === key ? r.data : undefined;
  }
  if (key.startsWith(REVOKED_PREFIX)) {
    const r = revokedSchema.safeParse(value);
    return r.success && revokedKey(r.data.realm, r.data.jti) === key ? r.data : undefined;
  }
  return undefined;
}

/** When a record can be forgotten (ms since the epoch); public keys never expire by themselves. */
export function expiryOf(value: Record<string, unknown>): number | undefined {
  return typeof value.expires === 'number' ? value.expires : undefined;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC public key: the key's `kid`. */
export function thumbprint(jwk: { crv?: string; kty?: string; x?: string; y?: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}
