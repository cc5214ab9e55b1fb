// WAMP-SCRAM logins end to end in both dialects (the spec's and Autobahn|Python's), with
// argon2id and pbkdf2, and the failures a client must not be able to tell apart.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup, welcomeDetails } from './authentication-realm.ts';
import { authenticate, scramClient, sendHello } from './helpers.ts';

test('wamp-scram (spec, argon2id): CHALLENGE fields, WELCOME with the verifier', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'carol', groups: ['ops'], password: PASSWORD });
  const client = scramClient('carol', PASSWORD, 'spec');
  const c = w.connect();
  const challenge = sendHello(w, c, REALM, {
    authmethods: ['wamp-scram'],
    authid: 'carol',
    authextra: { nonce: client.nonce, channel_binding: null },
  });
  t.is(challenge[1], 'wamp-scram');
  const extra = challenge[2] as Record<string, unknown>;
  t.deepEqual(Object.keys(extra).sort(), ['iterations', 'kdf', 'memory', 'nonce', 'salt']);
  t.like(extra, { kdf: 'argon2id13', iterations: 1, memory: 1024 });
  t.true((extra.nonce as string).startsWith(client.nonce));
  t.true((extra.nonce as string).length > client.nonce.length);
  const welcome = await authenticate(w, c, client.proof(extra), {
    nonce: extra.nonce,
    channel_binding: null,
    cbind_data: null,
  });
  t.like(welcomeDetails(welcome), {
    authid: 'carol',
    authrole: 'ops',
    authmethod: 'wamp-scram',
    authprovider: 'wampmesh',
  });
  t.deepEqual(welcomeDetails(welcome).authextra, { verifier: client.expectedServerSignature() });
});

test('scram (Autobahn|Python dialect): its name, kdf and keys, and scram_server_signature', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'carol', password: PASSWORD });
  const client = scramClient('carol', PASSWORD, 'autobahn');
  const c = w.connect();
  const challenge = sendHello(w, c, REALM, {
    authmethods: ['scram'],
    authid: 'carol',
    authextra: { nonce: client.nonce },
  });
  t.is(challenge[1], 'scram', 'Autobahn looks its authenticator up by this name');
  const extra = challenge[2] as Record<string, unknown>;
  // Autobahn 22.7.1 refuses any other key, and crashes on "memory": null.
  t.deepEqual(Object.keys(extra).sort(), ['iterations', 'kdf', 'memory', 'nonce', 'salt']);
  t.is(extra.kdf, 'argon2id-13');
  const welcome = await authenticate(w, c, client.proof(extra));
  t.like(welcomeDetails(welcome), { authid: 'carol', authmethod: 'scram' });
  t.deepEqual(welcomeDetails(welcome).authextra, { scram_server_signature: client.expectedServerSignature() });
});

test("wamp-scram with pbkdf2: memory is null in the spec dialect and absent in Autobahn's", async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, {
    authid: 'dave',
    password: PASSWORD,
    scram: { kdf: 'pbkdf2', iterations: 4096 },
  });
  for (const [name, dialect] of [
    ['wamp-scram', 'spec'],
    ['scram', 'autobahn'],
  ] as const) {
    const client = scramClient('dave', PASSWORD, dialect);
    const c = w.connect();
    const extra = sendHello(w, c, REALM, {
      authmethods: [name],
      authid: 'dave',
      authextra: { nonce: client.nonce },
    })[2] as Record<string, unknown>;
    t.is(extra.kdf, 'pbkdf2');
    t.is(extra.iterations, 4096);
    if (dialect === 'spec') t.is(extra.memory, null);
    else t.false('memory' in extra);
    t.is((await authenticate(w, c, client.proof(extra)))[0], 2);
  }
});

test('wamp-scram: wrong password, wrong nonce, unknown user (stable mock salt) all fail', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'carol', password: PASSWORD });
  const run = async (authid: string, password: string, nonceOverride?: string) => {
    const client = scramClient(authid, password, 'spec');
    const c = w.connect();
    const extra = sendHello(w, c, REALM, {
      authmethods: ['wamp-scram'],
      authid,
      authextra: { nonce: client.nonce },
    })[2] as Record<string, unknown>;
    const result = await authenticate(w, c, client.proof(extra), { nonce: nonceOverride ?? extra.nonce });
    return { result, extra };
  };
  expectFailed(t, (await run('carol', 'the wrong password')).result);
  expectFailed(t, (await run('carol', PASSWORD, 'AAAAAAAAAAAAAAAAAAAAAA==')).result);
  const a = await run('nobody', PASSWORD);
  const b = await run('nobody', PASSWORD);
  expectFailed(t, a.result);
  t.is(a.extra.salt, b.extra.salt);
  t.is(a.extra.kdf, 'argon2id13', 'the mock looks like a real argon2id user');
});
