// TLS client certificates as a login: the certificate's CN names the user, and the realm and
// its sources decide whether that is enough.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup, welcomeDetails } from './authentication-realm.ts';
import { authenticate, sendHello } from './helpers.ts';

/** What the transport passes on when it verified a client certificate: its CN names the user. */
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
