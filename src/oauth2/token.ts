// The token endpoint (RFC 6749 section 3.2) and its three grants: password (section 4.3: a realm
// user's password, checked against its ticket hash), client_credentials (section 4.4: the client
// is a realm user, its secret that user's password) and refresh_token (section 6: refresh tokens
// rotate on every use; a replayed one revokes its whole family, OAuth 2.0 Security BCP 4.14.2).
//
// Failed attempts spend the same per-address and per-account budgets as WAMP logins (the
// authenticator's FailureThrottle and AccountGuard), so HTTP is no way around them.
// Everything between reading a refresh token's family and writing its rotation is synchronous:
// two requests with the same token cannot both pass.

import crypto from 'node:crypto';
import type { Logger } from '../log.ts';
import { parsePeer, throttleKey } from '../security/address.ts';
import { dummyTicketHash, verifyTicket } from '../security/hash.ts';
import { authroleOf, type UserRecord } from '../security/records.ts';
import type { SecurityStore } from '../security/store.ts';
import type { AccountGuard, FailureThrottle } from '../security/throttle.ts';
import { errorReply, jsonReply, OAuth2ErrorCode, type OAuth2Reply } from './errors.ts';
import { clientCredentials, parseForm, type ClientCredentials, type EndpointRequest } from './form.ts';
import { signAccessToken, type AccessClaims } from './jwt.ts';
import type { RefreshRecord } from './records.ts';
import { audienceOf, GRANT_TYPES, type GrantType, type OAuth2RealmSettings } from './settings.ts';
import type { OAuth2Store } from './store.ts';
import { credentialStamp } from './verifier.ts';

export interface TokenEndpointDeps {
  readonly security: SecurityStore;
  readonly tokens: OAuth2Store;
  readonly throttle: FailureThrottle;
  readonly accounts: AccountGuard;
  readonly signer: () => { kid: string; key: crypto.KeyObject };
  readonly now: () => number;
  readonly logger: Logger;
}

/** A refresh token: "<family>.<secret>", 16 and 32 random bytes in base64url. */
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('base64url');
const randomId = (bytes: number) => crypto.randomBytes(bytes).toString('base64url');

type Failure = { code: OAuth2ErrorCode; description: string };
const failure = (code: OAuth2ErrorCode, description: string): Failure => ({ code, description });

export function parseRefreshToken(token: string): { family: string; hash: string } | undefined {
  const m = REFRESH_TOKEN.exec(token);
  return m === null ? undefined : { family: m[1]!, hash: sha256(m[2]!) };
}

export class TokenEndpoint {
  readonly #d: TokenEndpointDeps;
  #dummyHash: string | undefined;

  constructor(deps: TokenEndpointDeps) {
    this.#d = deps;
  }

  async handle(settings: OAuth2RealmSettings, req: EndpointRequest): Promise<OAuth2Reply> {
    const realm = settings.realm;
    const out = await this.#handle(settings, req);
    if ('code' in out) return errorReply(out.code, out.description, realm);
    const token = await signAccessToken(out.claims, this.#d.signer());
    return jsonReply(200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: out.claims.exp - out.claims.iat,
      ...(out.refresh !== undefined && { refresh_token: out.refresh }),
    });
  }

  async #handle(
    settings: OAuth2RealmSettings,
    req: EndpointRequest,
  ): Promise<Failure | { claims: AccessClaims; refresh?: string }> {
    const form = parseForm(req);
    if (!form.ok) return form;
    const grant = form.value.get('grant_type');
    if (grant === undefined) return failure(OAuth2ErrorCode.INVALID_REQUEST, 'grant_type is required');
    if (!(GRANT_TYPES as readonly string[]).includes(grant) || !settings.grants.includes(grant as GrantType))
      return failure(
        OAuth2ErrorCode.UNSUPPORTED_GRANT_TYPE,
        // Named only when it is one of ours (turned off in this realm): the client's own
        // spelling may hold what section 5.2 keeps out of error_description.
        (GRANT_TYPES as readonly string[]).includes(grant)
          ? `grant_type ${grant} is not supported in this realm`
          : 'this grant_type is not supported',
      );
    const realmRecord = this.#d.security.getRealm(settings.realm);
    if (realmRecord === undefined || !realmRecord.allow_connections)
      return failure(OAuth2ErrorCode.INVALID_GRANT, `realm '${settings.realm}' does not accept new sessions`);
    const key = throttleKey(parsePeer(req.peer), req.peer);
    if (!this.#d.throttle.allowed(key))
      return failure(
        OAuth2ErrorCode.TEMPORARILY_UNAVAILABLE,
        'too many failed attempts from this address; try again later',
      );
    const creds = clientCredentials(req, form.value);
    if (!creds.ok) return creds;
    // A client_id without a secret is a public client naming itself (section 3.2.1): nothing
    // to check, and nothing it is given is bound to it.
    const client = creds.value?.secret === undefined ? undefined : creds.value;
    if (client !== undefined) {
      const bad = await this.#checkClient(settings.realm, client, key);
      if (bad !== undefined) return bad;
    }
    switch (grant as GrantType) {
      case 'password':
        return this.#password(settings, form.value, client, key);
      case 'client_credentials':
        if (client === undefined)
          return failure(OAuth2ErrorCode.INVALID_CLIENT, 'client_credentials needs client authentication');
        return this.#issue(settings, this.#d.security.userRecord(settings.realm, client.id)!, client, false);
      case 'refresh_token':
        return this.#refresh(settings, form.value, client, key);
    }
  }

  /** Client authentication for the revocation endpoint: the same checks and budgets. */
  async checkClient(realm: string, client: ClientCredentials, peer: string): Promise<Failure | undefined> {
    const key = throttleKey(parsePeer(peer), peer);
    if (!this.#d.throttle.allowed(key))
      return failure(
        OAuth2ErrorCode.TEMPORARILY_UNAVAILABLE,
        'too many failed attempts from this address; try again later',
      );
    return this.#checkClient(realm, client, key);
  }

  /** A client is a realm user: its id the authid, its secret that user's password. */
  async #checkClient(realm: string, client: ClientCredentials, key: string): Promise<Failure | undefined> {
    if (!this.#d.accounts.allowed(realm, client.id, key))
      return failure(
        OAuth2ErrorCode.TEMPORARILY_UNAVAILABLE,
        'too many failed attempts for this account; try again later',
      );
    if (client.secret === undefined) return failure(OAuth2ErrorCode.INVALID_CLIENT, 'client_secret is required');
    const ok = await this.#passwordOk(realm, client.id, client.secret, key);
    if (ok !== true) return ok || failure(OAuth2ErrorCode.INVALID_CLIENT, 'client authentication failed');
    this.#d.accounts.succeeded(realm, client.id, key);
    return undefined;
  }

  async #password(
    settings: OAuth2RealmSettings,
    form: ReadonlyMap<string, string>,
    client: ClientCredentials | undefined,
    key: string,
  ): Promise<Failure | { claims: AccessClaims; refresh?: string }> {
    const username = form.get('username');
    const password = form.get('password');
    if (username === undefined || password === undefined)
      return failure(OAuth2ErrorCode.INVALID_REQUEST, 'username and password are required');
    if (!this.#d.accounts.allowed(settings.realm, username, key))
      return failure(
        OAuth2ErrorCode.TEMPORARILY_UNAVAILABLE,
        'too many failed attempts for this account; try again later',
      );
    const ok = await this.#passwordOk(settings.realm, username, password, key);
    if (ok !== true) return ok || failure(OAuth2ErrorCode.INVALID_GRANT, 'invalid username or password');
    this.#d.accounts.succeeded(settings.realm, username, key);
    const user = this.#d.security.userRecord(settings.realm, username)!;
    return this.#issue(settings, user, client, settings.grants.includes('refresh_token'));
  }

  #refresh(
    settings: OAuth2RealmSettings,
    form: ReadonlyMap<string, string>,
    client: ClientCredentials | undefined,
    key: string,
  ): Failure | { claims: AccessClaims; refresh?: string } {
    const realm = settings.realm;
    const presented = form.get('refresh_token');
    if (presented === undefined) return failure(OAuth2ErrorCode.INVALID_REQUEST, 'refresh_token is required');
    const parsed = parseRefreshToken(presented);
    const family = parsed === undefined ? undefined : this.#d.tokens.family(realm, parsed.family);
    if (parsed === undefined || family === undefined) {
      this.#d.throttle.failed(key);
      return failure(OAuth2ErrorCode.INVALID_GRANT, 'unknown or expired refresh token');
    }
    if (family.state === 'revoked') return failure(OAuth2ErrorCode.INVALID_GRANT, 'the refresh token was revoked');
    if (family.client !== undefined && family.client !== client?.id)
      return failure(OAuth2ErrorCode.INVALID_GRANT, 'the refresh token was issued to another client');
    if (parsed.hash !== family.current) {
      // A token of the family that was already exchanged: whoever holds the current one and
      // whoever replays this one cannot be told apart, so neither keeps access.
      this.#d.tokens.revokeFamily(family);
      this.#d.logger.warn(
        { realm, authid: family.authid, family: family.family },
        'oauth2: a rotated refresh token was presented again; its family is revoked',
      );
      return failure(OAuth2ErrorCode.INVALID_GRANT, 'the refresh token was already used; its family is revoked');
    }
    const user = this.#d.security.userRecord(realm, family.authid);
    if (user === undefined || user.disabled === true || credentialStamp(user) !== family.cst) {
      this.#d.tokens.revokeFamily(family);
      return failure(OAuth2ErrorCode.INVALID_GRANT, 'the user was deleted, disabled or changed password');
    }
    return this.#issue(settings, user, client, true, family);
  }

  /** Claims for a new access token, and the refresh token (a new family, or the next of `rotate`). */
  #issue(
    settings: OAuth2RealmSettings,
    user: UserRecord,
    client: ClientCredentials | undefined,
    withRefresh: boolean,
    rotate?: RefreshRecord,
  ): Failure | { claims: AccessClaims; refresh?: string } {
    const cst = credentialStamp(user);
    if (cst === undefined) return failure(OAuth2ErrorCode.INVALID_GRANT, 'the user has no password');
    const now = this.#d.now();
    const iat = Math.floor(now / 1000);
    const claims: AccessClaims = {
      iss: settings.issuer,
      aud: audienceOf(settings),
      sub: user.authid,
      realm: settings.realm,
      role: authroleOf(user),
      iat,
      exp: iat + settings.accessTokenTtlSec,
      jti: randomId(16),
      cst,
      ...(client !== undefined && { client_id: client.id }),
    };
    if (!withRefresh) return { claims };
    const secret = randomId(32);
    const familyId = rotate?.family ?? randomId(16);
    const record: RefreshRecord = {
      realm: settings.realm,
      authid: user.authid,
      ...(rotate?.client !== undefined
        ? { client: rotate.client }
        : client !== undefined && rotate === undefined && { client: client.id }),
      family: familyId,
      current: sha256(secret),
      generation: rotate === undefined ? 0 : rotate.generation + 1,
      state: 'active',
      cst,
      issued: rotate?.issued ?? now,
      expires: rotate?.expires ?? now + settings.refreshTokenTtlSec * 1000,
      jti: claims.jti,
      jtiExpires: claims.exp * 1000,
    };
    let drop: RefreshRecord[] = [];
    if (rotate === undefined) {
      const families = this.#d.tokens.userFamilies(settings.realm, user.authid);
      drop = families.slice(0, Math.max(0, families.length - settings.maxRefreshFamiliesPerUser + 1));
    }
    this.#d.tokens.putFamily(record, drop);
    return { claims, refresh: `${familyId}.${secret}` };
  }

  /**
   * The password checked off the event loop, in the address's turn (FailureThrottle.inTurn);
   * a wrong one counted as a failure (false); refused unchecked when failures counted while it
   * waited spent the budget. The same Argon2id cost for unknown users, so timing tells nothing
   * about which exist.
   */
  #passwordOk(realm: string, authid: string, password: string, key: string): Promise<boolean | Failure> {
    return this.#d.throttle.inTurn(key, async () => {
      if (!this.#d.throttle.allowed(key) || !this.#d.accounts.allowed(realm, authid, key))
        return failure(OAuth2ErrorCode.TEMPORARILY_UNAVAILABLE, 'too many failed attempts; try again later');
      const user = this.#d.security.userRecord(realm, authid);
      const hash = user?.credentials.ticket?.hash;
      this.#dummyHash ??= dummyTicketHash(this.#d.security.hashing.ticket);
      const ok = (await verifyTicket(password, hash ?? this.#dummyHash)) && hash !== undefined;
      // Read again: the user may have been disabled while the hash was computed.
      if (ok && this.#d.security.userRecord(realm, authid)?.disabled !== true) return true;
      this.#failed(realm, authid, key);
      return false;
    });
  }

  #failed(realm: string, authid: string, key: string): void {
    this.#d.throttle.failed(key);
    this.#d.accounts.failed(realm, authid);
  }
}
