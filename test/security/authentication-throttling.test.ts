// Password guessing is throttled: per address (per /64 for IPv6), per account across addresses,
// and checked one at a time, while the owner still gets in.

import test from 'ava';
import { expectFailed, PASSWORD, REALM, setup } from './authentication-realm.ts';
import { authenticate, FAILURE_DELAY, sendHello } from './helpers.ts';

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
