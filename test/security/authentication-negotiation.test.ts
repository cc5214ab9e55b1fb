// Which method a HELLO gets: the realm's methods in the client's order, anonymous, trust by
// source address, and sources that narrow the methods by address and by user.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup, welcomeDetails } from './authentication-realm.ts';
import { authenticate, sendHello, wampcraSign } from './helpers.ts';

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
