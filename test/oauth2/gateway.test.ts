// The HTTP gateway taking OAuth2 access tokens (Authorization: Bearer) from the token endpoint
// of the same router process: a publication with a good token, refused (401, WWW-Authenticate
// Bearer) once the token is revoked or without one.

import test from 'ava';
import { addApi, REALM, setupRealm, startGatewayRouter, type GatewayRouter } from '../gateway/support.ts';

let g: GatewayRouter;

test.before(async () => {
  g = await startGatewayRouter({
    config: {
      listeners: {
        websocket: [{ host: '127.0.0.1', port: 0, path: '/ws' }],
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        http: [{ host: '127.0.0.1', port: 0, serve: ['gateway', 'oauth2'] }],
      },
      oauth2: { realms: [{ realm: REALM }] },
    },
  });
  await setupRealm(g);
  await addApi(g, {
    name: 'bearer',
    realm: REALM,
    basePath: '/tok',
    auth: ['bearer'],
    routes: [{ method: 'POST', path: '/events/{kind}', publish: 'com.gw.feed.{path.kind}' }],
  });
});

test.after.always(async () => {
  await g?.stop();
});

test('a Bearer token from the token endpoint publishes; revoked or missing, 401', async (t) => {
  const issued = await fetch(`${g.base}/oauth2/${REALM}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'alice password 1' }),
  });
  t.is(issued.status, 200);
  const { access_token: token } = (await issued.json()) as { access_token: string };
  const publish = (headers: Record<string, string>) =>
    fetch(`${g.base}/tok/events/temp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ v: 1 }),
    });
  const ok = await publish({ authorization: `Bearer ${token}` });
  t.is(ok.status, 202, await ok.clone().text());
  t.is((await publish({})).status, 401);
  const revoked = await fetch(`${g.base}/oauth2/${REALM}/revoke`, {
    method: 'POST',
    body: new URLSearchParams({ token }),
  });
  t.is(revoked.status, 200);
  const after = await publish({ authorization: `Bearer ${token}` });
  t.is(after.status, 401);
  t.regex(after.headers.get('www-authenticate') ?? '', /^Bearer/);
});
