// Logins refused whatever the proof: an AUTHENTICATE after the deadline or for a user deleted
// meanwhile, a realm that allows no connections, a realm the store does not know.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup } from './authentication-realm.ts';
import { authenticate, sendHello } from './helpers.ts';

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
