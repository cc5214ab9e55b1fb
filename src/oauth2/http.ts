// The OAuth2 endpoints on HTTP (the `oauth2` service of an HTTP listener), per realm:
//   POST /oauth2/{realm}/token                    RFC 6749 token endpoint
//   POST /oauth2/{realm}/revoke                   RFC 7009 revocation endpoint
//   GET  /oauth2/{realm}/jwks                     the public keys (JWK Set), also at
//   GET  /oauth2/{realm}/.well-known/jwks.json
// {realm} is the realm URI, percent-encoded if need be.

import type { BearerIdentity, BearerRefusal, BearerVerifier } from '../gateway/bearer.ts';
import type { HttpReply, HttpRequest, HttpRoute } from '../transport/http-exchange.ts';
import { methodNotAllowed, notFoundReply, type OAuth2Reply } from './errors.ts';
import { MAX_FORM_BYTES } from './form.ts';
import type { OAuth2Service } from './service.ts';

export const OAUTH2_PATH = '/oauth2/';
/** A form arrives in one or two packets; a client slower than this is holding a connection. */
const BODY_READ_TIMEOUT_MS = 10_000;

type Endpoint = 'token' | 'revoke' | 'jwks';

function parsePath(path: string): { realm: string; endpoint: Endpoint } | undefined {
  const m = /^\/oauth2\/([^/]+)\/(token|revoke|jwks|\.well-known\/jwks\.json)$/.exec(path);
  if (m === null) return undefined;
  let realm: string;
  try {
    realm = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  const endpoint = m[2]!.startsWith('.well-known') ? 'jwks' : (m[2] as Endpoint);
  return { realm, endpoint };
}

export function oauth2Route(service: OAuth2Service): HttpRoute {
  return {
    match: (head) =>
      head.path.startsWith(OAUTH2_PATH) ? { maxBytes: MAX_FORM_BYTES, readTimeoutMs: BODY_READ_TIMEOUT_MS } : undefined,
    async handle(req: HttpRequest): Promise<HttpReply> {
      const target = parsePath(req.path);
      const missing = notFoundReply('no OAuth2 endpoint here');
      if (target === undefined || service.settingsFor(target.realm) === undefined) return missing;
      const want = target.endpoint === 'jwks' ? 'GET' : 'POST';
      if (req.method !== want && !(want === 'GET' && req.method === 'HEAD')) return methodNotAllowed(want);
      const request = {
        method: req.method,
        header: (name: string) => req.headers[name],
        body: req.body,
        // TransportInfo.peer style: the throttle keys on the address (IPv6 per /64).
        peer: req.remote.includes(':') ? `[${req.remote}]:0` : `${req.remote}:0`,
      };
      let reply: OAuth2Reply | undefined;
      if (target.endpoint === 'token') reply = await service.token(target.realm, request);
      else if (target.endpoint === 'revoke') reply = await service.revoke(target.realm, request);
      else reply = service.jwks(target.realm);
      return reply ?? missing;
    },
    refuse: (why) =>
      why === 'body_too_large'
        ? {
            status: 413,
            headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store' },
            body: JSON.stringify({ error: 'invalid_request', error_description: `body over ${MAX_FORM_BYTES} bytes` }),
          }
        : {
            status: 408,
            headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store' },
            body: JSON.stringify({ error: 'invalid_request', error_description: 'body too slow' }),
          },
  };
}

/** The gateway's Bearer check (src/gateway/bearer.ts) on this node's OAuth2 service. */
export function bearerVerifier(service: OAuth2Service): BearerVerifier {
  return (realm, token) => {
    const checked = service.check(realm, token);
    const answer: BearerIdentity | BearerRefusal = checked.ok
      ? {
          authid: checked.identity.authid,
          authrole: checked.identity.authrole,
          authextra: {
            jti: checked.identity.jti,
            exp: checked.identity.exp,
            ...(checked.identity.clientId !== undefined && { client_id: checked.identity.clientId }),
          },
        }
      : { error: 'wamp.error.authentication_failed', status: 401, description: `invalid token: ${checked.reason}` };
    return Promise.resolve(answer);
  };
}
