// Whether an access token is good now, on this node, for one realm: signed by a key of any node
// (public keys replicate), for this realm's issuer and audience, not expired, not revoked (the
// replicated revoked-jti list), and its user still exists, is enabled and has the credential the
// token was issued on (the `cst` stamp): a user disabled, deleted or given a new password on any
// node is refused on every node as soon as that change replicates, with no clock involved.

import crypto from 'node:crypto';
import { authroleOf, type UserRecord } from '../security/records.ts';
import type { SecurityStore } from '../security/store.ts';
import { verifySignature } from './jwt.ts';
import { audienceOf, type OAuth2RealmSettings } from './settings.ts';
import type { OAuth2Store } from './store.ts';

export interface TokenIdentity {
  readonly realm: string;
  readonly authid: string;
  readonly authrole: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly clientId?: string;
}

/** `reason` is for logs and the error_description; it never says more than "invalid token" needs. */
export type TokenCheck =
  | { readonly ok: true; readonly identity: TokenIdentity }
  | { readonly ok: false; readonly reason: string };

/** The stamp of the credential tokens are issued on: changes when the password does. */
export function credentialStamp(user: UserRecord): string | undefined {
  const hash = user.credentials.ticket?.hash;
  if (hash === undefined) return undefined;
  return crypto.createHash('sha256').update(hash).digest('base64url').slice(0, 22);
}

/**
 * Tokens whose signature checked out, with their claims: an ECDSA verification costs about
 * 100-200 µs, the rest of a check a few tens, and a client sends the same token with every
 * request. Only tokens with a good signature get in (a stranger cannot fill it), and a good
 * signature stays good (keys never change under a kid); everything else is checked every time.
 */
const SIGNATURE_CACHE_SIZE = 1024;

export class TokenVerifier {
  readonly #tokens: OAuth2Store;
  readonly #verified = new Map<string, Record<string, unknown>>();
  readonly #security: SecurityStore;
  readonly #settings: (realm: string) => OAuth2RealmSettings | undefined;
  readonly #now: () => number;

  constructor(options: {
    tokens: OAuth2Store;
    security: SecurityStore;
    settings: (realm: string) => OAuth2RealmSettings | undefined;
    now?: () => number;
  }) {
    this.#tokens = options.tokens;
    this.#security = options.security;
    this.#settings = options.settings;
    this.#now = options.now ?? Date.now;
  }

  check(realm: string, token: string): TokenCheck {
    const settings = this.#settings(realm);
    if (settings === undefined) return fail(`realm '${realm}' does not accept OAuth2 tokens`);
    const c = this.#claims(token);
    if (typeof c === 'string') return fail(c);
    const now = this.#now() / 1000;
    const leeway = settings.leewaySec;
    if (c.iss !== settings.issuer) return fail('wrong issuer');
    const aud = audienceOf(settings);
    if (!(c.aud === aud || (Array.isArray(c.aud) && c.aud.includes(aud)))) return fail('wrong audience');
    if (c.realm !== realm) return fail('issued for another realm');
    if (typeof c.exp !== 'number' || c.exp + leeway <= now) return fail('expired');
    if (typeof c.iat !== 'number' || c.iat - leeway > now) return fail('issued in the future');
    if (typeof c.sub !== 'string' || typeof c.jti !== 'string' || typeof c.cst !== 'string')
      return fail('missing claims');
    if (this.#tokens.isRevoked(realm, c.jti)) return fail('revoked');
    const r = this.#security.getRealm(realm);
    if (r === undefined || !r.allow_connections) return fail('realm closed');
    const user = this.#security.userRecord(realm, c.sub);
    if (user === undefined) return fail('user deleted');
    if (user.disabled === true) return fail('user disabled');
    if (credentialStamp(user) !== c.cst) return fail('credentials changed');
    this.#remember(token, c);
    return {
      ok: true,
      identity: {
        realm,
        authid: c.sub,
        authrole: authroleOf(user),
        jti: c.jti,
        exp: c.exp,
        ...(typeof c.client_id === 'string' && { clientId: c.client_id }),
      },
    };
  }

  /** The claims of a token with a good signature, else why not. */
  #claims(token: string): Record<string, unknown> | string {
    const known = this.#verified.get(token);
    if (known !== undefined) return known;
    const decoded = verifySignature(token, (kid) => this.#tokens.publicKey(kid));
    return decoded.ok ? decoded.claims : decoded.reason;
  }

  /** Keeps a token that passed every check, most recently used last. */
  #remember(token: string, claims: Record<string, unknown>): void {
    this.#verified.delete(token);
    this.#verified.set(token, claims);
    if (this.#verified.size > SIGNATURE_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
  }
}

function fail(reason: string): TokenCheck {
  return { ok: false, reason };
}
