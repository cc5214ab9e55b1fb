// Per-realm OAuth2 settings (the config file's `oauth2.realms`), their defaults and why.
// Every node of a mesh should carry the same settings for a realm: a token issued on one node
// is checked on another against that node's issuer and audience.

import { z } from 'zod';
import { isValidUri } from '../wamp/uris.ts';

export const GRANT_TYPES = ['password', 'client_credentials', 'refresh_token'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export const oauth2Defaults = {
  // 15 minutes: how long a stolen access token works at most if nobody revokes it; short
  // enough, and a refresh costs one request.
  accessTokenTtlSec: 900,
  // 30 days: a device that stays offline for a month must log in again.
  refreshTokenTtlSec: 30 * 24 * 3600,
  // Each login starts a family of refresh tokens; a user logging in from 25 places is plenty,
  // and the oldest family goes first (a stranger with a password cannot fill the disk).
  maxRefreshFamiliesPerUser: 25,
  issuer: 'wampmesh',
  // Clock differences between nodes (and clients) tolerated on exp and iat.
  leewaySec: 30,
} as const;

function intIn(min: number, max: number) {
  const error = `expected integer ${min}..${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const oauth2RealmSchema = () =>
  z.strictObject({
    realm: z.string().refine((s) => isValidUri(s), { error: 'expected a realm URI' }),
    // All three by default; leave one out to refuse it with unsupported_grant_type.
    grants: z
      .array(z.enum(GRANT_TYPES, { error: `expected one of ${GRANT_TYPES.join(', ')}` }))
      .min(1, { error: 'expected at least one grant type' })
      .default([...GRANT_TYPES]),
    accessTokenTtlSec: intIn(10, 24 * 3600).default(oauth2Defaults.accessTokenTtlSec),
    refreshTokenTtlSec: intIn(60, 365 * 24 * 3600).default(oauth2Defaults.refreshTokenTtlSec),
    // The `aud` of access tokens, and what a token must name to be accepted; unset: the realm URI.
    audience: z.string().min(1, { error: 'expected a non-empty string' }).max(255).optional(),
    issuer: z.string().min(1, { error: 'expected a non-empty string' }).max(255).default(oauth2Defaults.issuer),
    maxRefreshFamiliesPerUser: intIn(1, 1000).default(oauth2Defaults.maxRefreshFamiliesPerUser),
    leewaySec: intIn(0, 300).default(oauth2Defaults.leewaySec),
  });

/** The "oauth2" section; built on each call, not at load (src/config/fields.ts). */
export const oauth2Schema = () =>
  z.strictObject({ realms: z.array(oauth2RealmSchema()).default([]) }).check((ctx) => {
    const seen = new Set<string>();
    ctx.value.realms.forEach((r, i) => {
      if (seen.has(r.realm))
        ctx.issues.push({ code: 'custom', message: 'realm listed twice', path: ['realms', i, 'realm'], input: r });
      seen.add(r.realm);
    });
  });

export type OAuth2RealmSettings = z.output<ReturnType<typeof oauth2RealmSchema>>;
export type OAuth2Settings = z.output<ReturnType<typeof oauth2Schema>>;

/** The audience a realm's tokens carry and must carry. */
export const audienceOf = (s: OAuth2RealmSettings): string => s.audience ?? s.realm;
