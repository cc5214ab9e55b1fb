// Grants through the real Router: covers, groups, anonymous/all, revocation while connected,
// the meta API, and the "covers" rule itself.

import test from 'ava';
import { covers, StoreAuthorizer } from '../../src/security/authorizer.ts';
import type { MatchPolicy } from '../../src/router/uri-table.ts';
import { authenticate, sendHello, world, type World } from './helpers.ts';

const REALM = 'com.app';
const PASSWORD = 'correct horse battery';

function setup() {
  const w = world();
  const s = w.security.store;
  s.createRealm({ uri: REALM, authmethods: ['ticket', 'anonymous'] });
  s.createGroup(REALM, { name: 'base' });
  s.createGroup(REALM, { name: 'ops', groups: ['base'] });
  s.createUser(REALM, { authid: 'alice', groups: ['ops'], password: PASSWORD });
  s.createUser(REALM, { authid: 'bob', password: PASSWORD });
  return w;
}

async function login(w: World, authid: string) {
  const c = w.connect();
  sendHello(w, c, REALM, { authmethods: ['ticket'], authid });
  const welcome = await authenticate(w, c, PASSWORD);
  if (welcome[0] !== 2) throw new Error(JSON.stringify(welcome));
  let request = 100;
  return {
    c,
    send(msg: unknown[]) {
      c.send(msg);
      return c.take();
    },
    call(procedure: string) {
      return this.send([48, ++request, {}, procedure, []])[0]!;
    },
    register(procedure: string, match: MatchPolicy = 'exact') {
      return this.send([64, ++request, match === 'exact' ? {} : { match }, procedure])[0]!;
    },
    subscribe(topic: string, match: MatchPolicy = 'exact') {
      return this.send([32, ++request, match === 'exact' ? {} : { match }, topic])[0]!;
    },
  };
}

const NOT_AUTHORIZED = 'wamp.error.not_authorized';

test('call granted on prefix com.app. but not register: register refused, call answered', async (t) => {
  const w = setup();
  const s = w.security.store;
  s.createGrant(REALM, { permissions: ['call'], uri: 'com.app.', match: 'prefix', to: ['user:alice'] });
  s.createGrant(REALM, { permissions: ['register'], uri: 'com.app.', match: 'prefix', to: ['user:bob'] });
  const bob = await login(w, 'bob');
  t.is(bob.register('com.app.echo')[0], 65);
  const alice = await login(w, 'alice');
  const refused = alice.register('com.app.other');
  t.is(refused[0], 8);
  t.is(refused[4], NOT_AUTHORIZED);
  // Alice calls, bob's callee gets the INVOCATION and answers.
  alice.c.send([48, 1, {}, 'com.app.echo', ['hi']]);
  const [invocation] = bob.c.take();
  t.is(invocation![0], 68);
  bob.c.send([70, invocation![1], {}, ['hi back']]);
  t.deepEqual(alice.c.take()[0], [50, 1, {}, ['hi back']]);
});

test('revoking a grant refuses the very next call of a connected session', async (t) => {
  const w = setup();
  const s = w.security.store;
  const grant = s.createGrant(REALM, { permissions: ['call'], uri: 'wamp.session.count', to: ['group:ops'] });
  const alice = await login(w, 'alice');
  t.is(alice.call('wamp.session.count')[0], 50);
  t.is(alice.call('wamp.session.count')[0], 50, 'cached decision');
  s.deleteGrant(REALM, grant.id);
  const after = alice.call('wamp.session.count');
  t.is(after[0], 8);
  t.is(after[4], NOT_AUTHORIZED);
});

test('meta procedures are refused to a role without grants on them', async (t) => {
  const w = setup();
  w.security.store.createGrant(REALM, { permissions: ['call'], uri: 'com.app.', match: 'prefix', to: ['all'] });
  const bob = await login(w, 'bob');
  for (const meta of [
    'wamp.session.list',
    'wamp.session.kill_all',
    'wamp.registration.list',
    'wamp.subscription.list',
  ]) {
    t.is(bob.call(meta)[4], NOT_AUTHORIZED, meta);
  }
});

test('grants reach members of nested groups; removing the nesting removes them', async (t) => {
  const w = setup();
  const s = w.security.store;
  s.createGrant(REALM, { permissions: ['subscribe'], uri: 'com.app.events.', match: 'prefix', to: ['group:base'] });
  const alice = await login(w, 'alice'); // ops ⊂ base
  t.is(alice.subscribe('com.app.events.x')[0], 33);
  t.is((await login(w, 'bob')).subscribe('com.app.events.x')[4], NOT_AUTHORIZED);
  s.updateGroup(REALM, 'ops', { groups: [] });
  t.is(alice.subscribe('com.app.events.y')[4], NOT_AUTHORIZED);
});

test('"anonymous" and "all" principals', async (t) => {
  const w = setup();
  const s = w.security.store;
  s.createGrant(REALM, { permissions: ['publish'], uri: 'com.app.public', to: ['anonymous'] });
  s.createGrant(REALM, { permissions: ['subscribe'], uri: 'com.app.public', to: ['all'] });
  const anon = w.connect();
  anon.send([1, REALM, { roles: { publisher: {}, subscriber: {} } }]);
  t.is(anon.take()[0]![0], 2);
  anon.send([16, 1, { acknowledge: true }, 'com.app.public']);
  t.is(anon.take()[0]![0], 17);
  anon.send([32, 2, {}, 'com.app.public']);
  t.is(anon.take()[0]![0], 33);
  const bob = await login(w, 'bob');
  t.is(
    bob.send([16, 3, { acknowledge: true }, 'com.app.public'])[0]![4],
    NOT_AUTHORIZED,
    '"anonymous" is not everyone',
  );
  t.is(bob.subscribe('com.app.public')[0], 33);
});

test('a realm with security disabled allows everything', async (t) => {
  const w = setup();
  const bob = await login(w, 'bob');
  t.is(bob.register('com.app.anything')[4], NOT_AUTHORIZED);
  w.security.store.updateRealm(REALM, { security_enabled: false });
  t.is(bob.register('com.app.anything')[0], 65);
  t.is(bob.call('wamp.session.count')[0], 50);
});

test('pattern registrations need a grant that covers every URI they can match', async (t) => {
  const w = setup();
  const s = w.security.store;
  s.createGrant(REALM, { permissions: ['register'], uri: 'com.app.', match: 'prefix', to: ['user:alice'] });
  s.createGrant(REALM, { permissions: ['register'], uri: 'com.app.fixed', match: 'exact', to: ['user:bob'] });
  const alice = await login(w, 'alice');
  t.is(alice.register('com.app.x', 'prefix')[0], 65);
  t.is(alice.register('com.app..y', 'wildcard')[0], 65);
  t.is(alice.register('com.', 'prefix')[4], NOT_AUTHORIZED, 'wider than the grant');
  const bob = await login(w, 'bob');
  t.is(bob.register('com.app.fixed', 'prefix')[4], NOT_AUTHORIZED, 'an exact grant never covers a prefix');
  t.is(bob.register('com.app.fixed')[0], 65);
});

test('deleting a user ends its sessions, and its grants go with it', async (t) => {
  const w = setup();
  const s = w.security.store;
  s.createGrant(REALM, { permissions: ['call'], uri: 'com.app.', match: 'prefix', to: ['user:bob'] });
  const bob = await login(w, 'bob');
  s.deleteUser(REALM, 'bob');
  t.deepEqual(bob.c.take()[0], [6, { message: "user 'bob' was deleted from realm 'com.app'" }, 'wamp.close.killed']);
  t.deepEqual(s.listGrants(REALM), []);
});

// ---------------------------------------------------------------------------------------------
// The "covers" rule, case by case.

const cases: [grant: [string, MatchPolicy], request: [string, MatchPolicy], expected: boolean][] = [
  // exact requests
  [['com.app.x', 'exact'], ['com.app.x', 'exact'], true],
  [['com.app.x', 'exact'], ['com.app.y', 'exact'], false],
  [['com.app.', 'prefix'], ['com.app.x.y', 'exact'], true],
  [['com.app', 'prefix'], ['com.apple', 'exact'], true], // string prefix, as WAMP matches
  [['com..x', 'wildcard'], ['com.app.x', 'exact'], true],
  [['com..x', 'wildcard'], ['com.app.y', 'exact'], false],
  [['com..x', 'wildcard'], ['com.a.b.x', 'exact'], false],
  // prefix requests
  [['com.app.', 'prefix'], ['com.app.x', 'prefix'], true],
  [['com.app.', 'prefix'], ['com.app.', 'prefix'], true],
  [['com.app.', 'prefix'], ['com.', 'prefix'], false],
  [['com.app.x', 'exact'], ['com.app.x', 'prefix'], false],
  [['com.app..', 'wildcard'], ['com.app.x', 'prefix'], false],
  // wildcard requests
  [['com.app.', 'prefix'], ['com.app..x', 'wildcard'], true],
  [['com.app.', 'prefix'], ['com..x', 'wildcard'], false],
  [['com.app.a', 'prefix'], ['com.app..x', 'wildcard'], false],
  [['com..', 'wildcard'], ['com.app.', 'wildcard'], true],
  [['com.app.', 'wildcard'], ['com..x', 'wildcard'], false],
  [['com..x', 'wildcard'], ['com..x', 'wildcard'], true],
  [['com..x', 'wildcard'], ['com...x', 'wildcard'], false],
  [['com.app.x', 'exact'], ['com..x', 'wildcard'], false],
  [['com.app.x', 'exact'], ['com.app.x', 'wildcard'], true], // no empty component: one URI
  [['', 'prefix'], ['.x', 'wildcard'], true],
];

for (const [[gu, gm], [ru, rm], expected] of cases) {
  test(`covers: ${gm} grant '${gu}' ${expected ? 'covers' : 'does not cover'} ${rm} '${ru}'`, (t) => {
    t.is(covers({ uri: gu, match: gm }, { uri: ru, match: rm }), expected);
  });
}

test('decision cache: per session, checked against the identity, and correct past its bound', (t) => {
  const w = setup();
  const s = w.security.store;
  s.createGrant(REALM, { permissions: ['call'], uri: 'com.app.alice', to: ['user:alice'] });
  const authorizer = new StoreAuthorizer(s, { maxCachedDecisions: 3 });
  const ask = (session: number, authid: string, uri: string): boolean =>
    authorizer.authorize({ realm: REALM, session, authid, authrole: 'user', action: 'call', uri, match: 'exact' });
  t.true(ask(1, 'alice', 'com.app.alice'));
  // The same session ID later held by another user (IDs are unique among live sessions only).
  t.false(ask(1, 'bob', 'com.app.alice'));
  t.true(ask(1, 'alice', 'com.app.alice'));
  // Many more decisions than the bound: each still right.
  for (let i = 0; i < 20; i++) {
    t.true(ask(100 + i, 'alice', 'com.app.alice'));
    t.false(ask(100 + i, 'alice', `com.app.other${i}`));
    t.false(ask(100 + i, 'bob', 'com.app.alice'));
  }
  authorizer.close();
});
