// OAuth2 on the real SQLite store and the real Router with a hand-driven clock: tokens issued,
// rotated, replayed, revoked, expired, for the wrong audience, for a user disabled, deleted or
// given a new password; the same token opening a WAMP session (oauth2, and as a ticket). The
// endpoints over real HTTP (fetch, curl, python3-jwt) are in http.test.ts.

import test from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { OAuth2Service } from '../../src/oauth2/service.ts';
import { signAccessToken } from '../../src/oauth2/jwt.ts';
import { oauth2Schema } from '../../src/oauth2/settings.ts';
import type { EndpointRequest } from '../../src/oauth2/form.ts';
import { authenticate, sendHello, world, type World } from '../security/helpers.ts';

const REALM = 'com.app';
const PASSWORD = 'correct horse battery';

interface Fixture {
  w: World;
  oauth2: OAuth2Service;
}

function setup(realmSettings: Record<string, unknown> = {}): Fixture {
  const w = world();
  const s = w.security.store;
  s.createRealm({ uri: REALM, authmethods: ['ticket', 'oauth2'] });
  s.createGroup(REALM, { name: 'ops' });
  s.createUser(REALM, { authid: 'alice', password: PASSWORD, groups: ['ops'] });
  s.createUser(REALM, { authid: 'svc', password: 'service secret 1' });
  const oauth2 = new OAuth2Service({
    db: w.db,
    security: w.security,
    settings: oauth2Schema().parse({ realms: [{ realm: REALM, ...realmSettings }] }),
    nodeId: 'n1',
    now: () => w.clock.now,
  });
  return { w, oauth2 };
}

function form(fields: Record<string, string>, headers: Record<string, string> = {}): EndpointRequest {
  const h: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  return {
    method: 'POST',
    header: (n) => h[n],
    body: Buffer.from(new URLSearchParams(fields).toString()),
    peer: '10.9.8.7:5555',
  };
}

async function token(f: Fixture, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const reply = (await f.oauth2.token(REALM, form(fields, headers)))!;
  return { status: reply.status, headers: reply.headers, body: JSON.parse(reply.body) as Record<string, unknown> };
}

const login = (f: Fixture) => token(f, { grant_type: 'password', username: 'alice', password: PASSWORD });
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

test('password grant: a signed ES256 JWT with the claims, checked by jose against the JWKS', async (t) => {
  const f = setup();
  const r = await login(f);
  t.is(r.status, 200);
  t.is(r.headers['Cache-Control'], 'no-store');
  t.is(r.body.token_type, 'Bearer');
  t.is(r.body.expires_in, 900);
  t.regex(r.body.refresh_token as string, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  const jwks = JSON.parse(f.oauth2.jwks(REALM)!.body) as { keys: Record<string, unknown>[] };
  t.is(jwks.keys.length, 1);
  t.false('d' in jwks.keys[0]!, 'no private part in the JWKS');
  const { payload, protectedHeader } = await jwtVerify(
    r.body.access_token as string,
    createLocalJWKSet(jwks as never),
    {
      issuer: 'wampmesh',
      audience: REALM,
      currentDate: new Date(f.w.clock.now),
    },
  );
  t.like(protectedHeader, { alg: 'ES256', typ: 'at+jwt', kid: jwks.keys[0]!.kid });
  t.like(payload, { sub: 'alice', role: 'ops', realm: REALM });
  t.is(payload.exp! - payload.iat!, 900);
  t.regex(payload.jti!, /^[A-Za-z0-9_-]{22}$/);
  const checked = f.oauth2.check(REALM, r.body.access_token as string);
  t.true(checked.ok);
  f.w.close();
});

test('an access token expires (with 30 s leeway); a wrong audience or realm is refused', async (t) => {
  const f = setup();
  const access = (await login(f)).body.access_token as string;
  f.w.clock.now += 900_000 + 29_000;
  t.true(f.oauth2.check(REALM, access).ok, 'within the leeway');
  f.w.clock.now += 2_000;
  t.deepEqual(f.oauth2.check(REALM, access), { ok: false, reason: 'expired' });

  const signer = f.oauth2.store.signingKey('n1');
  const now = Math.floor(f.w.clock.now / 1000);
  const user = f.w.security.store.userRecord(REALM, 'alice')!;
  const { credentialStamp } = await import('../../src/oauth2/verifier.ts');
  const base = {
    iss: 'wampmesh',
    aud: REALM,
    sub: 'alice',
    realm: REALM,
    role: 'ops',
    iat: now,
    exp: now + 60,
    jti: 'abcdefabcdefabcdefabcd',
    cst: credentialStamp(user)!,
  };
  t.true(f.oauth2.check(REALM, await signAccessToken(base, signer)).ok, 'the control token passes');
  t.deepEqual(f.oauth2.check(REALM, await signAccessToken({ ...base, aud: 'com.other' }, signer)), {
    ok: false,
    reason: 'wrong audience',
  });
  t.deepEqual(f.oauth2.check(REALM, await signAccessToken({ ...base, iss: 'elsewhere' }, signer)), {
    ok: false,
    reason: 'wrong issuer',
  });
  t.deepEqual(f.oauth2.check('com.other', await signAccessToken(base, signer)), {
    ok: false,
    reason: "realm 'com.other' does not accept OAuth2 tokens",
  });
  // Tampered payload, and a token signed by a key no node published.
  const good = await signAccessToken(base, signer);
  const [h, , s] = good.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...base, sub: 'svc' })).toString('base64url')}.${s}`;
  t.deepEqual(f.oauth2.check(REALM, forged), { ok: false, reason: 'bad signature' });
  const crypto = await import('node:crypto');
  const stranger = { kid: signer.kid, key: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey };
  t.deepEqual(f.oauth2.check(REALM, await signAccessToken(base, stranger)), { ok: false, reason: 'bad signature' });
  f.w.close();
});

test('refresh tokens rotate; a rotated one presented again revokes the family and its access token', async (t) => {
  const f = setup();
  const first = await login(f);
  const r1 = first.body.refresh_token as string;
  const second = await token(f, { grant_type: 'refresh_token', refresh_token: r1 });
  t.is(second.status, 200);
  const r2 = second.body.refresh_token as string;
  t.not(r2, r1);
  t.is(r2.split('.')[0], r1.split('.')[0], 'same family');
  t.true(f.oauth2.check(REALM, second.body.access_token as string).ok);

  const replay = await token(f, { grant_type: 'refresh_token', refresh_token: r1 });
  t.is(replay.status, 400);
  t.is(replay.body.error, 'invalid_grant');
  const after = await token(f, { grant_type: 'refresh_token', refresh_token: r2 });
  t.is(after.body.error, 'invalid_grant', 'the current token of the family is revoked too');
  t.deepEqual(f.oauth2.check(REALM, second.body.access_token as string), { ok: false, reason: 'revoked' });
  // Another login is another family, unaffected.
  t.is((await login(f)).status, 200);
  f.w.close();
});

test('a refresh family ends at its expiry; each user keeps at most maxRefreshFamiliesPerUser', async (t) => {
  const f = setup({ refreshTokenTtlSec: 3600, maxRefreshFamiliesPerUser: 2 });
  const a = (await login(f)).body.refresh_token as string;
  f.w.clock.now += 1000;
  const b = (await login(f)).body.refresh_token as string;
  f.w.clock.now += 1000;
  const c = (await login(f)).body.refresh_token as string;
  t.is(
    (await token(f, { grant_type: 'refresh_token', refresh_token: a })).body.error,
    'invalid_grant',
    'oldest dropped',
  );
  const b2 = await token(f, { grant_type: 'refresh_token', refresh_token: b });
  t.is(b2.status, 200);
  f.w.clock.now += 3600_000;
  t.is((await token(f, { grant_type: 'refresh_token', refresh_token: c })).body.error, 'invalid_grant', 'expired');
  f.oauth2.store.prune();
  t.is(f.oauth2.store.userFamilies(REALM, 'alice').length, 0);
  f.w.close();
});

test('revocation (RFC 7009): an access token, a refresh token; unknown tokens answer 200 too', async (t) => {
  const f = setup();
  const r = await login(f);
  const revoke = async (tok: string) => (await f.oauth2.revoke(REALM, form({ token: tok }))!).status;
  t.is(await revoke(r.body.access_token as string), 200);
  t.deepEqual(f.oauth2.check(REALM, r.body.access_token as string), { ok: false, reason: 'revoked' });
  t.is(await revoke(r.body.refresh_token as string), 200);
  t.is(
    (await token(f, { grant_type: 'refresh_token', refresh_token: r.body.refresh_token as string })).body.error,
    'invalid_grant',
  );
  t.is(await revoke('nonsense'), 200);
  t.is(await revoke('a.b.c'), 200);
  t.is((await f.oauth2.revoke(REALM, form({}))!).status, 400);
  f.w.close();
});

test('a user disabled, deleted or given a new password: its tokens and refresh tokens are refused', async (t) => {
  const f = setup();
  const s = f.w.security.store;
  const cases = [
    { change: () => s.updateUser(REALM, 'alice', { disabled: true }), reason: 'user disabled' },
    { change: () => s.updateUser(REALM, 'alice', { password: 'a new password' }), reason: 'credentials changed' },
    { change: () => s.deleteUser(REALM, 'alice'), reason: 'user deleted' },
  ];
  for (const { change, reason } of cases) {
    if (s.getUser(REALM, 'alice') === undefined) s.createUser(REALM, { authid: 'alice', password: PASSWORD });
    else s.updateUser(REALM, 'alice', { disabled: false, password: PASSWORD });
    const r = await login(f);
    t.is(r.status, 200);
    t.true(f.oauth2.check(REALM, r.body.access_token as string).ok);
    change();
    t.deepEqual(f.oauth2.check(REALM, r.body.access_token as string), { ok: false, reason }, reason);
    const refreshed = await token(f, { grant_type: 'refresh_token', refresh_token: r.body.refresh_token as string });
    t.is(refreshed.body.error, 'invalid_grant', reason);
  }
  f.w.close();
});

test('client_credentials: a realm user with a secret, by Basic or in the body; errors per RFC 6749 5.2', async (t) => {
  const f = setup();
  const ok = await token(f, { grant_type: 'client_credentials' }, basic('svc', 'service secret 1'));
  t.is(ok.status, 200);
  t.is(ok.body.refresh_token, undefined, 'no refresh token for client_credentials (4.4.3)');
  const body = await token(f, {
    grant_type: 'client_credentials',
    client_id: 'svc',
    client_secret: 'service secret 1',
  });
  t.is(body.status, 200);
  const wrong = await token(f, { grant_type: 'client_credentials' }, basic('svc', 'wrong'));
  t.is(wrong.status, 401);
  t.is(wrong.body.error, 'invalid_client');
  t.regex(wrong.headers['WWW-Authenticate']!, /^Basic realm="com\.app"/);
  t.is((await token(f, { grant_type: 'client_credentials' })).body.error, 'invalid_client');
  t.is(
    (await token(f, { grant_type: 'client_credentials', client_id: 'svc' })).body.error,
    'invalid_client',
    'a public client (no secret) cannot use client_credentials',
  );
  // A public client naming itself on a password grant: accepted, nothing bound to it.
  const pub = await token(f, { grant_type: 'password', username: 'alice', password: PASSWORD, client_id: 'app' });
  t.is(pub.status, 200);
  t.is((await token(f, { grant_type: 'refresh_token', refresh_token: pub.body.refresh_token as string })).status, 200);
  // A confidential client's refresh token is bound to it.
  const bound = await token(
    f,
    { grant_type: 'password', username: 'alice', password: PASSWORD },
    basic('svc', 'service secret 1'),
  );
  t.is(
    (await token(f, { grant_type: 'refresh_token', refresh_token: bound.body.refresh_token as string })).body.error,
    'invalid_grant',
    'not without the client',
  );
  t.is(
    (
      await token(
        f,
        { grant_type: 'refresh_token', refresh_token: bound.body.refresh_token as string },
        basic('svc', 'service secret 1'),
      )
    ).status,
    200,
  );
  t.is((await token(f, { grant_type: 'authorization_code', code: 'x' })).body.error, 'unsupported_grant_type');
  // Section 5.2: error_description is printable ASCII without '"' and '\\'; a grant type as the
  // client spelled it is not echoed.
  const odd = await token(f, { grant_type: 'pässwörd"\\\u0001' });
  t.is(odd.body.error, 'unsupported_grant_type');
  t.regex(odd.body.error_description as string, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
  t.is((await token(f, {})).body.error, 'invalid_request');
  t.is((await token(f, { grant_type: 'password', username: 'alice' })).body.error, 'invalid_request');
  t.is((await token(f, { grant_type: 'password', username: 'alice', password: 'nope' })).body.error, 'invalid_grant');
  const repeated = (await f.oauth2.token(REALM, {
    ...form({}),
    body: Buffer.from('grant_type=password&grant_type=password'),
  }))!;
  t.is(JSON.parse(repeated.body).error, 'invalid_request');
  const json = (await f.oauth2.token(REALM, { ...form({}), header: () => 'application/json' }))!;
  t.is(JSON.parse(json.body).error, 'invalid_request');
  f.w.close();
});

test('failed attempts spend the same per-address budget as WAMP logins: 429 with Retry-After', async (t) => {
  const f = setup();
  for (let i = 0; i < 10; i++) {
    const r = await token(f, { grant_type: 'password', username: `u${i}`, password: 'wrong password' });
    t.is(r.status, 400);
  }
  const blocked = await token(f, { grant_type: 'password', username: 'alice', password: PASSWORD });
  t.is(blocked.status, 429);
  t.is(blocked.headers['Retry-After'], '6');
  t.is(blocked.body.error, 'temporarily_unavailable');
  // The WAMP side sees the same budget for this address.
  const c = f.w.connect('10.9.8.7:6000');
  const m = sendHello(f.w, c, REALM, { authmethods: ['ticket'], authid: 'alice' });
  t.is(m[0], 3);
  f.w.close();
});

test('the token opens a WAMP session: authmethod oauth2, and as a ticket', async (t) => {
  const f = setup();
  const access = (await login(f)).body.access_token as string;
  const c = f.w.connect();
  t.deepEqual(sendHello(f.w, c, REALM, { authmethods: ['oauth2'] }), [4, 'oauth2', {}]);
  const welcome = await authenticate(f.w, c, access);
  t.is(welcome[0], 2);
  t.like(welcome[2] as object, { authid: 'alice', authrole: 'ops', authmethod: 'oauth2' });

  const asTicket = f.w.connect();
  t.deepEqual(sendHello(f.w, asTicket, REALM, { authmethods: ['ticket'], authid: 'alice' }), [4, 'ticket', {}]);
  t.like((await authenticate(f.w, asTicket, access))[2] as object, { authid: 'alice', authmethod: 'ticket' });

  const other = f.w.connect();
  sendHello(f.w, other, REALM, { authmethods: ['ticket'], authid: 'svc' });
  t.is((await authenticate(f.w, other, access))[0], 3, "alice's token does not log in as svc");

  // A password that merely looks like a JWT still logs in as a ticket.
  f.w.security.store.createUser(REALM, { authid: 'dot', password: 'correct.horse.battery' });
  const dotted = f.w.connect();
  sendHello(f.w, dotted, REALM, { authmethods: ['ticket'], authid: 'dot' });
  t.like((await authenticate(f.w, dotted, 'correct.horse.battery'))[2] as object, {
    authid: 'dot',
    authmethod: 'ticket',
  });

  await f.oauth2.revoke(REALM, form({ token: access }));
  const late = f.w.connect();
  sendHello(f.w, late, REALM, { authmethods: ['oauth2'] });
  t.is((await authenticate(f.w, late, access))[0], 3, 'a revoked token opens no session');
  f.w.close();
});

test("the gateway's Bearer verifier: the identity of a good token, 401 for a bad one", async (t) => {
  const f = setup();
  const { bearerVerifier } = await import('../../src/oauth2/http.ts');
  const verify = bearerVerifier(f.oauth2);
  const access = (await login(f)).body.access_token as string;
  const ok = await verify(REALM, access);
  t.like(ok, { authid: 'alice', authrole: 'ops' });
  t.deepEqual(await verify(REALM, `${access}x`), {
    error: 'wamp.error.authentication_failed',
    status: 401,
    description: 'invalid token: bad signature',
  });
  f.w.security.store.updateUser(REALM, 'alice', { disabled: true });
  t.like(await verify(REALM, access), { status: 401, description: 'invalid token: user disabled' });
  f.w.close();
});
