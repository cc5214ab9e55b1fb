// The revocation endpoint (RFC 7009). A refresh token revokes its family and the last access
// token issued from it (section 2.1); an access token goes on the replicated revoked list until
// it would have expired. An unknown, invalid or already revoked token is answered 200 like a
// good one (section 2.2): the answer tells a stranger nothing. Whoever holds a token may revoke
// it; a client that authenticates must get it right (invalid_client), and may revoke only
// tokens issued to it or to no client.

import type { OAuth2Reply } from './errors.ts';
import { errorReply, OAuth2ErrorCode } from './errors.ts';
import { clientCredentials, parseForm, type ClientCredentials, type EndpointRequest } from './form.ts';
import { looksLikeJwt, verifySignature } from './jwt.ts';
import type { OAuth2RealmSettings } from './settings.ts';
import type { OAuth2Store } from './store.ts';
import { parseRefreshToken } from './token.ts';

export interface RevocationDeps {
  readonly tokens: OAuth2Store;
  /** Checks client credentials as the token endpoint does (throttled); a failure to answer, or undefined. */
  readonly checkClient: (
    realm: string,
    client: ClientCredentials,
    peer: string,
  ) => Promise<{ code: OAuth2ErrorCode; description: string } | undefined>;
  readonly now: () => number;
}

const OK: OAuth2Reply = { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, body: '' };

export async function revoke(
  deps: RevocationDeps,
  settings: OAuth2RealmSettings,
  req: EndpointRequest,
): Promise<OAuth2Reply> {
  const realm = settings.realm;
  const form = parseForm(req);
  if (!form.ok) return errorReply(form.code, form.description, realm);
  const token = form.value.get('token');
  if (token === undefined) return errorReply(OAuth2ErrorCode.INVALID_REQUEST, 'token is required', realm);
  const creds = clientCredentials(req, form.value);
  if (!creds.ok) return errorReply(creds.code, creds.description, realm);
  // A client_id without a secret names a public client: nothing to check.
  const client = creds.value?.secret === undefined ? undefined : creds.value;
  if (client !== undefined) {
    const bad = await deps.checkClient(realm, client, req.peer);
    if (bad !== undefined) return errorReply(bad.code, bad.description, realm);
  }
  // The hint only says where to look first (section 2.1); both kinds are tried.
  const refresh = parseRefreshToken(token);
  if (refresh !== undefined) {
    const family = deps.tokens.family(realm, refresh.family);
    if (
      family !== undefined &&
      family.state !== 'revoked' &&
      (family.client === undefined || family.client === client?.id)
    )
      deps.tokens.revokeFamily(family);
    return OK;
  }
  if (looksLikeJwt(token)) {
    const decoded = verifySignature(token, (kid) => deps.tokens.publicKey(kid));
    if (!decoded.ok) return OK;
    const { realm: tokenRealm, jti, exp, client_id } = decoded.claims;
    if (tokenRealm !== realm || typeof jti !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(jti)) return OK;
    if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return OK;
    if (client !== undefined && client_id !== undefined && client_id !== client.id) return OK;
    // Kept a little past exp: verifiers accept a token until exp plus the leeway.
    const expires = (exp + settings.leewaySec) * 1000;
    if (expires > deps.now() && !deps.tokens.isRevoked(realm, jti))
      deps.tokens.revokeAccessToken({ realm, jti, expires });
  }
  return OK;
}
