// WAMP-CRA logins end to end: the spec's challenge fields, the signature client libraries
// compute, and an unknown user told apart from a real one by nothing.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup, welcomeDetails } from './authentication-realm.ts';
import { authenticate, sendHello, wampcraSign } from './helpers.ts';

test('wampcra: salted challenge with the spec fields; the right signature is WELCOMEd', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'bob', groups: ['ops'], password: PASSWORD });
  const c = w.connect();
  const challenge = sendHello(w, c, REALM, { authmethods: ['wampcra'], authid: 'bob' });
  t.is(challenge[0], 4);
  t.is(challenge[1], 'wampcra');
  const extra = challenge[2] as Record<string, unknown>;
  t.deepEqual(Object.keys(extra).sort(), ['challenge', 'iterations', 'keylen', 'salt']);
  t.is(extra.iterations, 1000);
  t.is(extra.keylen, 32);
  const inner = JSON.parse(extra.challenge as string) as Record<string, unknown>;
  t.like(inner, {
    authid: 'bob',
    authrole: 'ops',
    authmethod: 'wampcra',
    authprovider: 'wampmesh',
    timestamp: new Date(w.clock.now).toISOString(),
  });
  t.regex(inner.nonce as string, /^[A-Za-z0-9+/]{32}$/);
  const welcome = await authenticate(w, c, wampcraSign(PASSWORD, extra));
  t.like(welcomeDetails(welcome), { authid: 'bob', authrole: 'ops', authmethod: 'wampcra', authprovider: 'wampmesh' });
});

test('wampcra: wrong password fails; an unknown user gets a mock challenge with a stable salt', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'bob', password: PASSWORD });
  const c = w.connect();
  const extra = sendHello(w, c, REALM, { authmethods: ['wampcra'], authid: 'bob' })[2] as Record<string, unknown>;
  expectFailed(t, await authenticate(w, c, wampcraSign('wrong password', extra)));

  const salts = [];
  for (let i = 0; i < 2; i++) {
    const u = w.connect();
    const x = sendHello(w, u, REALM, { authmethods: ['wampcra'], authid: 'nobody' })[2] as Record<string, unknown>;
    t.deepEqual(Object.keys(x).sort(), ['challenge', 'iterations', 'keylen', 'salt']);
    expectFailed(t, await authenticate(w, u, wampcraSign(PASSWORD, x)));
    salts.push(x.salt);
  }
  t.is(salts[0], salts[1], 'same salt for the same unknown name: nothing tells it from a real user');
});
