// Ticket logins end to end (the real Router, the SQLite store, raw HELLO/AUTHENTICATE), and the
// identity a WELCOME carries: the role a user gets from its groups.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup, welcomeDetails } from './authentication-realm.ts';
import { authenticate, FAILURE_DELAY, sendHello } from './helpers.ts';

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
