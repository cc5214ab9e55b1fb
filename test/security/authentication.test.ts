// Every authentication method end to end: the real Router, the SQLite store, MemoryClient
// sending raw HELLO/AUTHENTICATE arrays, and client proofs computed as client libraries do.

import crypto from 'node:crypto';
import test from 'ava';
import { verifyCryptosign } from '../../src/security/hash.ts';
import {
  authenticate,
  cryptosignSign,
  ed25519Keys,
  FAILURE_DELAY,
  scramClient,
  sendHello,
  wampcraSign,
  world,
} from './helpers.ts';

const REALM = 'com.example';
const PASSWORD = 'correct horse battery';

function setup(
  authmethods: string[] = ['ticket', 'wampcra', 'cryptosign', 'wamp-scram', 'anonymous'],
  options: Parameters<typeof world>[0] = {},
) {
  const w = world(options);
  const s = w.security.store;
  s.createRealm({ uri: REALM, authmethods });
  s.createGroup(REALM, { name: 'ops' });
  s.createGroup(REALM, { name: 'staff' });
  return w;
}

const welcomeDetails = (m: unknown[]) => m[2] as Record<string, unknown>;

function expectFailed(t: import('ava').ExecutionContext, m: unknown[], message = 'authentication failed') {
  t.is(m[0], 3, `expected ABORT, got ${JSON.stringify(m)}`);
  t.is(m[2], 'wamp.error.authentication_failed');
  t.deepEqual(m[1], { message });
}

// ---------------------------------------------------------------------------------------------
// ticket

test('ticket: CHALLENGE, the right ticket is WELCOMEd with the full identity', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'alice', groups: ['staff', 'ops'], password: PASSWORD });
  const c = w.connect();
  t.deepEqual(sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'alice' }), [4, 'ticket', {}]);
  const welcome = await authenticate(w, c, PASSWORD);
  t.is(welcome[0], 2);
  t.like(welcomeDetails(welcome), {
    realm: REALM,
    authid: 'alice',
    authrole: 'staff',
    authmethod: 'ticket',
    authprovider: 'wampmesh',
  });
});

test('ticket: a wrong ticket and an unknown user fail alike, after the delay', async (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'alice', password: PASSWORD });
  const wrong = w.connect();
  t.deepEqual(sendHello(w, wrong, REALM, { authmethods: ['ticket'], authid: 'alice' }), [4, 'ticket', {}]);
  wrong.send([5, 'not the password', {}]);
  // The ticket is checked off the event loop; its failure is counted when the check is done.
  const deadline = Date.now() + 10_000;
  while (w.security.authenticator.throttle.size === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 1));
  t.deepEqual(wrong.take(), [], 'nothing before the failure delay');
  w.scheduler.advance(FAILURE_DELAY);
  expectFailed(t, wrong.take()[0]!);
  t.true(wrong.closed);

  const unknown = w.connect();
  t.deepEqual(
    sendHello(w, unknown, REALM, { authmethods: ['ticket'], authid: 'mallory' }),
    [4, 'ticket', {}],
    'an unknown user is challenged too',
  );
  expectFailed(t, await authenticate(w, unknown, PASSWORD));
});

// ---------------------------------------------------------------------------------------------
// wampcra

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

// ---------------------------------------------------------------------------------------------
// cryptosign

test('cryptosign: the key holder is WELCOMEd, with or without authid, with or without the echoed challenge', async (t) => {
  const w = setup();
  const { privateKey, pubkey } = ed25519Keys();
  w.security.store.createUser(REALM, { authid: 'device-7', groups: ['ops'], pubkeys: [pubkey] });
  for (const [details, withMessage] of [
    [{ authid: 'device-7' }, true],
    [{}, true],
    [{}, false],
  ] as const) {
    const c = w.connect();
    const challenge = sendHello(w, c, REALM, { authmethods: ['cryptosign'], ...details, authextra: { pubkey } });
    t.is(challenge[1], 'cryptosign');
    const extra = challenge[2] as Record<string, unknown>;
    t.regex(extra.challenge as string, /^[0-9a-f]{64}$/);
    t.is(extra.channel_binding, null);
    const welcome = await authenticate(w, c, cryptosignSign(privateKey, extra, withMessage));
    t.like(welcomeDetails(welcome), {
      authid: 'device-7',
      authrole: 'ops',
      authmethod: 'cryptosign',
      authprovider: 'wampmesh',
    });
  }
});

test("cryptosign: a wrong key, an unknown key and another user's key all fail", async (t) => {
  const w = setup();
  const alice = ed25519Keys();
  const bob = ed25519Keys();
  const stranger = ed25519Keys();
  w.security.store.createUser(REALM, { authid: 'alice', pubkeys: [alice.pubkey] });
  w.security.store.createUser(REALM, { authid: 'bob', pubkeys: [bob.pubkey] });
  const cases: [Record<string, unknown>, typeof alice][] = [
    [{ authid: 'alice', authextra: { pubkey: alice.pubkey } }, stranger], // signed with the wrong private key
    [{ authextra: { pubkey: stranger.pubkey } }, stranger], // key unknown to the realm
    [{ authid: 'alice', authextra: { pubkey: bob.pubkey } }, bob], // bob's key, claiming to be alice
  ];
  for (const [details, signer] of cases) {
    const c = w.connect();
    const challenge = sendHello(w, c, REALM, { authmethods: ['cryptosign'], ...details });
    t.is(challenge[0], 4, 'challenged whatever the key');
    expectFailed(
      t,
      await authenticate(w, c, cryptosignSign(signer.privateKey, challenge[2] as Record<string, unknown>)),
    );
  }
});

test('cryptosign: the spec test vector verifies', (t) => {
  // rfc/text/advanced/ap_35_authentication_cryptosign.md, test_vectors_1[1]
  const seed = Buffer.from('d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd', 'hex');
  const challenge = 'b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d';
  const expected =
    'd4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660f' +
    challenge;
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  t.is(cryptosignSign(privateKey, { challenge }), expected);
  const pubkey = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url').toString(
    'hex',
  );
  t.true(verifyCryptosign(pubkey, Buffer.from(challenge, 'hex'), expected));
  t.false(verifyCryptosign(pubkey, Buffer.from(challenge, 'hex'), expected.replace(/^d4/, 'd5')));
});

// ---------------------------------------------------------------------------------------------
// wamp-scram

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

// ---------------------------------------------------------------------------------------------
// negotiation, anonymous, trust, sources

test('a method the realm does not enable is skipped; none acceptable is no_auth_method (at once)', (t) => {
  const w = setup(['ticket']);
  w.security.store.createUser(REALM, { authid: 'alice', password: PASSWORD });
  const c = w.connect();
  c.send([1, REALM, { roles: { caller: {} }, authmethods: ['wampcra', 'cryptosign'], authid: 'alice' }]);
  const [abort] = c.take();
  t.is(abort![0], 3);
  t.is(abort![2], 'wamp.error.no_auth_method');
  const d = w.connect();
  d.send([1, REALM, { roles: { caller: {} } }]);
  t.is(
    d.take()[0]![2],
    'wamp.error.no_auth_method',
    'no authmethods means anonymous, which this realm does not enable',
  );
  const e = w.connect();
  t.deepEqual(sendHello(w, e, REALM, { authmethods: ['wampcra', 'ticket'], authid: 'alice' }), [4, 'ticket', {}]);
});

test("the client's order decides; a method the HELLO cannot perform is skipped", (t) => {
  const w = setup();
  w.security.store.createUser(REALM, { authid: 'alice', password: PASSWORD });
  const c = w.connect();
  t.is(sendHello(w, c, REALM, { authmethods: ['wampcra', 'ticket'], authid: 'alice' })[1], 'wampcra');
  const d = w.connect();
  // cryptosign without authextra.pubkey, scram without a nonce: ticket is next.
  t.is(sendHello(w, d, REALM, { authmethods: ['cryptosign', 'wamp-scram', 'ticket'], authid: 'alice' })[1], 'ticket');
});

test('anonymous, where the realm enables it', (t) => {
  const w = setup(['anonymous', 'ticket']);
  const c = w.connect();
  c.send([1, REALM, { roles: { subscriber: {} } }]);
  const [welcome] = c.take();
  t.is(welcome![0], 2);
  const d = welcomeDetails(welcome!);
  t.like(d, { authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'wampmesh' });
  t.regex(d.authid as string, /^anonymous-[0-9a-f]{16}$/);
});

test('trust by source: the Unix socket and loopback for the group, nobody else', async (t) => {
  const w = setup(['trust', 'ticket']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'svc', groups: ['ops'] });
  s.createUser(REALM, { authid: 'eve', groups: ['staff'], password: PASSWORD });
  s.createSource(REALM, { cidr: 'unix', authmethods: ['trust'], to: ['group:ops'] });
  s.createSource(REALM, { cidr: '127.0.0.0/8', authmethods: ['trust'], to: ['group:ops'] });
  s.createSource(REALM, { cidr: 'any', authmethods: ['ticket'], to: ['all'] });

  for (const peer of ['unix:/run/wampmesh.sock', '127.0.0.1:5555']) {
    const c = w.connect(peer);
    const welcome = sendHello(w, c, REALM, { authmethods: ['trust'], authid: 'svc' });
    t.like(welcomeDetails(welcome), { authid: 'svc', authrole: 'ops', authmethod: 'trust', authprovider: 'wampmesh' });
  }
  const remote = w.connect('10.9.9.9:1234');
  t.is(
    sendHello(w, remote, REALM, { authmethods: ['trust'], authid: 'svc' })[2],
    'wamp.error.no_auth_method',
    'no trust from a remote address',
  );
  expectFailed(
    t,
    sendHello(w, w.connect('unix:/run/wampmesh.sock'), REALM, { authmethods: ['trust'], authid: 'eve' }),
    'authentication failed',
  );
  expectFailed(
    t,
    sendHello(w, w.connect('unix:/run/wampmesh.sock'), REALM, { authmethods: ['trust'], authid: 'ghost' }),
  );
  // The remote client falls through to ticket.
  const c = w.connect('10.9.9.9:1234');
  t.deepEqual(sendHello(w, c, REALM, { authmethods: ['trust', 'ticket'], authid: 'eve' }), [4, 'ticket', {}]);
  t.is((await authenticate(w, c, PASSWORD))[0], 2);
});

test('without sources, trust is never on offer', (t) => {
  const w = setup(['trust']);
  w.security.store.createUser(REALM, { authid: 'svc' });
  t.is(
    sendHello(w, w.connect('unix:/x'), REALM, { authmethods: ['trust'], authid: 'svc' })[2],
    'wamp.error.no_auth_method',
  );
});

test('sources narrow methods by address and by user', async (t) => {
  const w = setup(['ticket', 'wampcra']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'alice', groups: ['ops'], password: PASSWORD });
  s.createUser(REALM, { authid: 'bob', groups: ['staff'], password: PASSWORD });
  s.createSource(REALM, { cidr: '10.0.0.0/8', authmethods: ['ticket'], to: ['group:ops'] });
  s.createSource(REALM, { cidr: '2001:db8::/32', authmethods: ['wampcra'], to: ['all'] });
  // Not from 192.168/16 at all.
  t.is(
    sendHello(w, w.connect('192.168.1.1:9'), REALM, { authmethods: ['ticket'], authid: 'alice' })[2],
    'wamp.error.no_auth_method',
  );
  // From 10/8, ticket is offered; alice (ops) gets in, bob (staff) fails at the end.
  const a = w.connect('10.1.1.1:9');
  sendHello(w, a, REALM, { authmethods: ['ticket'], authid: 'alice' });
  t.is((await authenticate(w, a, PASSWORD))[0], 2);
  const b = w.connect('10.1.1.1:9');
  t.deepEqual(
    sendHello(w, b, REALM, { authmethods: ['ticket'], authid: 'bob' }),
    [4, 'ticket', {}],
    'bob is challenged like anyone',
  );
  expectFailed(t, await authenticate(w, b, PASSWORD));
  // IPv6 block, bracketed peer form.
  const v6 = w.connect('[2001:db8::5]:443');
  const extra = sendHello(w, v6, REALM, { authmethods: ['ticket', 'wampcra'], authid: 'bob' })[2] as Record<
    string,
    unknown
  >;
  t.is((await authenticate(w, v6, wampcraSign(PASSWORD, extra)))[0], 2);
});

// ---------------------------------------------------------------------------------------------
// tls (the transport verified a client certificate; its CN names the user)

const certified = (cn: string | undefined) => ({ tls: true, certificate: { cn, fingerprint: 'AB:CD' } });

test('tls: the certificate user is WELCOMEd at once; a HELLO authid must be that user', async (t) => {
  const w = setup(['tls', 'ticket']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'alice', groups: ['ops'] });
  s.createUser(REALM, { authid: 'bob', password: PASSWORD });
  const welcome = sendHello(w, w.connect(undefined, certified('alice')), REALM, { authmethods: ['tls'] });
  t.like(welcomeDetails(welcome), { authid: 'alice', authrole: 'ops', authmethod: 'tls', authprovider: 'wampmesh' });
  const same = sendHello(w, w.connect(undefined, certified('alice')), REALM, { authmethods: ['tls'], authid: 'alice' });
  t.is(same[0], 2);
  expectFailed(
    t,
    sendHello(w, w.connect(undefined, certified('alice')), REALM, { authmethods: ['tls'], authid: 'bob' }),
  );
  // Without a certificate the method cannot be performed: the next one is used, or none.
  t.is(sendHello(w, w.connect(), REALM, { authmethods: ['tls'] })[2], 'wamp.error.no_auth_method');
  const c = w.connect();
  t.deepEqual(sendHello(w, c, REALM, { authmethods: ['tls', 'ticket'], authid: 'bob' }), [4, 'ticket', {}]);
  t.is((await authenticate(w, c, PASSWORD))[0], 2);
});

test('tls: unknown, disabled, nameless; a realm without tls; sources narrow it to a group', (t) => {
  const w = setup(['tls']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'alice', groups: ['ops'] });
  s.createUser(REALM, { authid: 'bob', groups: ['staff'] });
  s.createUser(REALM, { authid: 'carol', disabled: true });
  for (const cn of ['mallory', 'carol', undefined])
    expectFailed(t, sendHello(w, w.connect(undefined, certified(cn)), REALM, { authmethods: ['tls'] }));
  s.createSource(REALM, { cidr: 'any', authmethods: ['tls'], to: ['group:ops'] });
  t.is(sendHello(w, w.connect(undefined, certified('alice')), REALM, { authmethods: ['tls'] })[0], 2);
  expectFailed(t, sendHello(w, w.connect(undefined, certified('bob')), REALM, { authmethods: ['tls'] }));
  s.updateRealm(REALM, { authmethods: ['ticket'] });
  const off = sendHello(w, w.connect(undefined, certified('alice')), REALM, { authmethods: ['tls'] });
  t.is(off[2], 'wamp.error.no_auth_method');
});

test('authrole: the explicit role, else the first group, else "user"', async (t) => {
  const w = setup(['ticket']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'r1', groups: ['staff', 'ops'], role: 'ops', password: PASSWORD });
  s.createUser(REALM, { authid: 'r2', groups: ['staff', 'ops'], password: PASSWORD });
  s.createUser(REALM, { authid: 'r3', password: PASSWORD });
  for (const [authid, role] of [
    ['r1', 'ops'],
    ['r2', 'staff'],
    ['r3', 'user'],
  ]) {
    const c = w.connect();
    sendHello(w, c, REALM, { authmethods: ['ticket'], authid });
    t.is(welcomeDetails(await authenticate(w, c, PASSWORD)).authrole, role);
  }
});

// ---------------------------------------------------------------------------------------------
// throttling, deadlines, closed realms

test('guesses sent at once over many connections are checked one at a time: those past the budget are refused unchecked', async (t) => {
  const w = setup(['ticket']);
  w.security.store.createUser(REALM, { authid: 'alice', password: PASSWORD });
  // All challenged before any failure is counted, then all answered at once.
  const clients = Array.from({ length: 13 }, (_, i) => w.connect(`203.0.113.9:${1000 + i}`));
  for (const c of clients)
    t.is(sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'alice' })[0], 4, 'challenged');
  const answers = await Promise.all(clients.map((c, i) => authenticate(w, c, `guess-${i}`)));
  const messages = answers.map((a) => (a[1] as { message: string }).message);
  t.deepEqual(
    messages,
    [
      ...Array<string>(10).fill('authentication failed'),
      ...Array<string>(3).fill('too many failed attempts from this address; try again later'),
    ],
    'the burst of 10 is checked, the rest refused with the throttle message',
  );
  for (const a of answers) t.is(a[2], 'wamp.error.authentication_failed');
});

test('a burst of failures from one address is throttled; other addresses are not; tokens come back', async (t) => {
  const w = setup(['ticket']);
  w.security.store.createUser(REALM, { authid: 'alice', password: PASSWORD });
  const attacker = '203.0.113.7:1000';
  for (let i = 0; i < 10; i++) {
    const c = w.connect(attacker.replace('1000', String(1000 + i)));
    t.is(sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'alice' })[0], 4, `attempt ${i + 1} is challenged`);
    expectFailed(t, await authenticate(w, c, `guess-${i}`));
  }
  const blocked = w.connect('203.0.113.7:2000');
  blocked.send([1, REALM, { roles: { caller: {} }, authmethods: ['ticket'], authid: 'alice' }]);
  t.deepEqual(blocked.take(), [], 'no CHALLENGE: refused at HELLO');
  w.scheduler.advance(FAILURE_DELAY);
  expectFailed(t, blocked.take()[0]!, 'too many failed attempts from this address; try again later');
  // Even the right password waits.
  const right = w.connect('203.0.113.7:2001');
  expectFailed(
    t,
    sendHello(w, right, REALM, { authmethods: ['ticket'], authid: 'alice' }),
    'too many failed attempts from this address; try again later',
  );
  // Someone else is not affected.
  const other = w.connect('198.51.100.1:1');
  sendHello(w, other, REALM, { authmethods: ['ticket'], authid: 'alice' });
  t.is((await authenticate(w, other, PASSWORD))[0], 2);
  // One token back after 6 s.
  w.clock.now += 6_000;
  const again = w.connect('203.0.113.7:2002');
  t.is(sendHello(w, again, REALM, { authmethods: ['ticket'], authid: 'alice' })[0], 4);
  t.is((await authenticate(w, again, PASSWORD))[0], 2);
});

test('guesses for one account from many addresses are refused beyond its budget; the owner still gets in', async (t) => {
  const w = setup(['ticket']);
  w.security.store.createUser(REALM, { authid: 'alice', password: PASSWORD });
  w.security.store.createUser(REALM, { authid: 'bob', password: PASSWORD });
  // The owner logged in from home before the attack.
  const home = '192.0.2.10:5000';
  sendHello(w, w.connect(home), REALM, { authmethods: ['ticket'], authid: 'alice' });
  const first = w.connect(home);
  sendHello(w, first, REALM, { authmethods: ['ticket'], authid: 'alice' });
  t.is((await authenticate(w, first, PASSWORD))[0], 2);
  // 200 addresses, one guess each: every one is under the per-address budget.
  const refusedAt: number[] = [];
  for (let i = 0; i < 200; i++) {
    const c = w.connect(`198.18.${i >> 8}.${i & 255}:40000`);
    const reply = sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'alice' });
    if (reply[0] === 4) expectFailed(t, await authenticate(w, c, `guess-${i}`));
    else {
      expectFailed(t, reply, 'too many failed attempts for this account; try again later');
      refusedAt.push(i);
    }
  }
  t.is(refusedAt.length, 180, 'after a burst of 20 the account is refused at HELLO: no password check');
  t.is(refusedAt[0], 20);
  // The answer is the same for a name that does not exist: it tells nothing about users.
  for (let i = 0; i < 21; i++) {
    const c = w.connect(`198.19.0.${i}:1`);
    if (sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'nobody' })[0] === 4) await authenticate(w, c, 'x');
  }
  expectFailed(
    t,
    sendHello(w, w.connect('198.19.1.1:1'), REALM, { authmethods: ['ticket'], authid: 'nobody' }),
    'too many failed attempts for this account; try again later',
  );
  // Other accounts are not affected.
  const b = w.connect('198.18.0.1:40001');
  sendHello(w, b, REALM, { authmethods: ['ticket'], authid: 'bob' });
  t.is((await authenticate(w, b, PASSWORD))[0], 2);
  // During the attack the owner logs in from an address that succeeded before.
  const during = w.connect('192.0.2.10:5001');
  t.is(sendHello(w, during, REALM, { authmethods: ['ticket'], authid: 'alice' })[0], 4);
  t.is((await authenticate(w, during, PASSWORD))[0], 2);
  // From a new address the owner waits for the window: one attempt per 30 s comes back, so the
  // account is slowed, never locked for good.
  expectFailed(
    t,
    sendHello(w, w.connect('203.0.113.50:1'), REALM, { authmethods: ['ticket'], authid: 'alice' }),
    'too many failed attempts for this account; try again later',
  );
  w.clock.now += 30_000;
  const later = w.connect('203.0.113.50:2');
  t.is(sendHello(w, later, REALM, { authmethods: ['ticket'], authid: 'alice' })[0], 4, 'after 30 s one attempt passes');
  t.is((await authenticate(w, later, PASSWORD))[0], 2);
});

test('IPv6 clients are throttled per /64', async (t) => {
  const w = setup(['ticket']);
  for (let i = 0; i < 10; i++) {
    const c = w.connect(`[2001:db8:1:2::${(i + 1).toString(16)}]:1`);
    sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'x' });
    expectFailed(t, await authenticate(w, c, 'nope'));
  }
  expectFailed(
    t,
    sendHello(w, w.connect('[2001:db8:1:2:ffff::1]:1'), REALM, { authmethods: ['ticket'], authid: 'x' }),
    'too many failed attempts from this address; try again later',
  );
  t.is(sendHello(w, w.connect('[2001:db8:1:3::1]:1'), REALM, { authmethods: ['ticket'], authid: 'x' })[0], 4);
});

test('an AUTHENTICATE after the deadline fails; so does one for a user deleted meanwhile', async (t) => {
  const w = setup(['ticket']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'alice', password: PASSWORD });
  const late = w.connect();
  sendHello(w, late, REALM, { authmethods: ['ticket'], authid: 'alice' });
  w.clock.now += 60_001;
  expectFailed(t, await authenticate(w, late, PASSWORD));
  const c = w.connect();
  sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'alice' });
  s.deleteUser(REALM, 'alice');
  expectFailed(t, await authenticate(w, c, PASSWORD));
});

test('allow_connections: false refuses new sessions and keeps the established ones', async (t) => {
  const w = setup(['ticket']);
  const s = w.security.store;
  s.createUser(REALM, { authid: 'alice', password: PASSWORD });
  const c = w.connect();
  sendHello(w, c, REALM, { authmethods: ['ticket'], authid: 'alice' });
  t.is((await authenticate(w, c, PASSWORD))[0], 2);
  s.updateRealm(REALM, { allow_connections: false });
  const d = w.connect();
  const abort = sendHello(w, d, REALM, { authmethods: ['ticket'], authid: 'alice' });
  t.is(abort[2], 'wamp.error.not_authorized');
  t.false(c.closed);
});

test('a realm the store does not know is refused unless a fallback is given', (t) => {
  const w = setup();
  w.router.addRealm({ uri: 'legacy', anonymous: true });
  const c = w.connect();
  c.send([1, 'legacy', { roles: { caller: {} } }]);
  t.is(c.take()[0]![2], 'wamp.error.no_auth_method');
});
