// The bearer seam (src/gateway/bearer.ts, asserted.ts) over real HTTP against an in-process
// router: a token the BearerVerifier accepts becomes the session's authid and authrole (grants
// apply to it, and the callee sees it), refused tokens get 401 with RFC 6750's
// WWW-Authenticate or 403, and no client from outside can log in with the asserted method.
// The verifier here stands in for the OAuth2 issuer, which implements the same type.

import test from 'ava';
import { Gateway } from '../../src/gateway/gateway.ts';
import { withAssertedIdentities } from '../../src/gateway/asserted.ts';
import { parseApiSpec } from '../../src/gateway/spec.ts';
import type { BearerVerifier } from '../../src/gateway/bearer.ts';
import { anonymousAuthenticator, type Authorizer } from '../../src/router/auth.ts';
import { Router } from '../../src/router/router.ts';
import { listenHttp } from '../../src/transport/http-server.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const verifier: BearerVerifier = async (realm, token) => {
  if (realm !== 'com.b')
    return { error: 'wamp.error.authentication_failed', status: 401, description: 'wrong audience' };
  if (token === 'good') return { authid: 'tok-user', authrole: 'reader' };
  if (token === 'weak') return { error: 'wamp.error.not_authorized', status: 403, description: 'scope too narrow' };
  return { error: 'wamp.error.authentication_failed', status: 401, description: 'expired' };
};

// Calls only for the token's identity; anyone may register.
const authorizer: Authorizer = { authorize: (r) => r.action === 'register' || r.authid === 'tok-user' };

async function setup(t: { teardown(fn: () => unknown): void }) {
  const router = new Router({
    realms: [{ uri: 'com.b', anonymous: true }],
    authenticator: withAssertedIdentities(anonymousAuthenticator),
    authorizer,
  });
  const spec = parseApiSpec({
    name: 'b',
    realm: 'com.b',
    basePath: '/b',
    routes: [{ method: 'GET', path: '/who', call: 'com.b.who', options: { disclose_me: true } }],
  });
  const gateway = new Gateway({ acceptor: router, specs: () => ({ version: 1, specs: [spec] }), bearer: verifier });
  const http = await listenHttp({ host: '127.0.0.1', port: 0 }, () => ({ status: 404, headers: {}, body: '' }), {
    routes: [gateway.route],
  });
  const callee = new MemoryClient(router);
  callee.join('com.b');
  callee.send([64, 1, {}, 'com.b.who']);
  // The callee answers every INVOCATION with who called.
  const answering = setInterval(() => {
    for (const m of callee.take())
      if (m[0] === 68) {
        const d = m[3] as Record<string, unknown>;
        callee.send([70, m[1], {}, [d.caller_authid ?? null, d.caller_authrole ?? null]]);
      }
  }, 5);
  t.teardown(async () => {
    clearInterval(answering);
    gateway.stop();
    await http.close();
  });
  return { router, base: `http://127.0.0.1:${http.port}` };
}

test('a verified token is the session: its authid and authrole reach the callee, grants apply to it', async (t) => {
  const { base } = await setup(t);
  const ok = await fetch(`${base}/b/who`, { headers: { authorization: 'Bearer good' } });
  t.is(ok.status, 200);
  t.deepEqual(await ok.json(), { args: ['tok-user', 'reader'], kwargs: {} });
  // Anonymous is a session too, without the grant.
  const anon = await fetch(`${base}/b/who`);
  t.is(anon.status, 403);
});

test('refused tokens: 401 with WWW-Authenticate error="invalid_token", or 403', async (t) => {
  const { base } = await setup(t);
  const bad = await fetch(`${base}/b/who`, { headers: { authorization: 'Bearer expired-one' } });
  t.is(bad.status, 401);
  t.regex(bad.headers.get('www-authenticate') ?? '', /^Bearer realm="com\.b", error="invalid_token"/);
  t.deepEqual(await bad.json(), { error: 'wamp.error.authentication_failed', args: ['expired'], kwargs: {} });
  const weak = await fetch(`${base}/b/who`, { headers: { authorization: 'Bearer weak' } });
  t.is(weak.status, 403);
});

test('no client from outside logs in with the asserted method', async (t) => {
  const { router } = await setup(t);
  const c = new MemoryClient(router);
  c.send([1, 'com.b', { roles: { caller: {} }, authmethods: ['wampmesh-gateway'], authid: 'tok-user' }]);
  const answer = c.take()[0]!;
  t.is(answer[0], 3);
  t.is(answer[2], 'wamp.error.no_auth_method');
});
