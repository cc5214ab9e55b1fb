// The admin API as local procedures of the admin realm, called over WAMP through the Router:
// live effects (new realm served, deleted user/realm sessions ended), error shape, access.

import test from 'ava';
import { adminSession, authenticate, sendHello, world } from './helpers.ts';

const PASSWORD = 'correct horse battery';

test('an administrator creates a realm, a user and a grant; a client uses them at once', async (t) => {
  const w = world();
  const admin = adminSession(w);
  const realm = admin.call('wampmesh.realm.create', [{ uri: 'com.live', authmethods: ['ticket'] }]);
  t.deepEqual(realm, [
    50,
    1,
    {},
    [{ uri: 'com.live', description: '', authmethods: ['ticket'], security_enabled: true, allow_connections: true }],
  ]);
  t.true(w.router.realms.has('com.live'), 'the router serves the new realm');
  t.is(admin.call('wampmesh.group.create', ['com.live', { name: 'app' }])[0], 50);
  // The object argument may come as kwargs.
  const user = admin.call('wampmesh.user.create', ['com.live'], {
    authid: 'alice',
    groups: ['app'],
    password: PASSWORD,
  });
  t.deepEqual((user[3] as unknown[])[0], {
    authid: 'alice',
    groups: ['app'],
    authrole: 'app',
    pubkeys: [],
    meta: {},
    authmethods: ['ticket'],
  });
  const grant = admin.call('wampmesh.grant.create', [
    'com.live',
    { permissions: ['call'], uri: 'wamp.session.count', to: ['group:app'] },
  ]);
  const grantId = ((grant[3] as unknown[])[0] as { id: number }).id;

  const c = w.connect();
  sendHello(w, c, 'com.live', { authmethods: ['ticket'], authid: 'alice' });
  t.is((await authenticate(w, c, PASSWORD))[0], 2);
  c.send([48, 7, {}, 'wamp.session.count', []]);
  t.deepEqual(c.take()[0], [50, 7, {}, [1]]);

  t.deepEqual(admin.call('wampmesh.grant.delete', ['com.live', grantId]), [50, 5, {}]);
  c.send([48, 8, {}, 'wamp.session.count', []]);
  t.is(c.take()[0]![4], 'wamp.error.not_authorized', 'revoked for the very next call');

  t.is(admin.call('wampmesh.user.delete', ['com.live', 'alice'])[0], 50);
  t.deepEqual(c.take()[0], [6, { message: "user 'alice' was deleted from realm 'com.live'" }, 'wamp.close.killed']);
});

test('deleting a realm ends its sessions and stops serving it', (t) => {
  const w = world();
  const admin = adminSession(w);
  admin.call('wampmesh.realm.create', [{ uri: 'com.gone', authmethods: ['anonymous'] }]);
  const c = w.connect();
  c.send([1, 'com.gone', { roles: { caller: {} } }]);
  t.is(c.take()[0]![0], 2);
  t.is(admin.call('wampmesh.realm.delete', ['com.gone'])[0], 50);
  t.deepEqual(c.take()[0], [6, { message: "realm 'com.gone' was deleted" }, 'wamp.close.close_realm']);
  t.false(w.router.realms.has('com.gone'));
});

test('validation errors come back as WAMP errors naming the field', (t) => {
  const w = world();
  const admin = adminSession(w);
  admin.call('wampmesh.realm.create', [{ uri: 'com.x', authmethods: ['ticket'] }]);
  const err = admin.call('wampmesh.user.create', ['com.x', { authid: 'bob', password: 'short' }]);
  t.deepEqual(err, [
    8,
    48,
    2,
    {},
    'wamp.error.invalid_argument',
    ['password: must be at least 8 characters', { field: 'password', problem: 'must be at least 8 characters' }],
  ]);
  t.is(admin.call('wampmesh.user.get', ['com.x', 'nobody'])[4], 'wampmesh.error.not_found');
  t.deepEqual((admin.call('wampmesh.user.get', ['com.x'])[5] as unknown[])[0], 'args[1]: required: the authid');
  t.deepEqual(admin.call('wampmesh.realm.delete', ['wampmesh.admin']).slice(4, 5), ['wampmesh.error.not_allowed']);
  const doc = (admin.call('wampmesh.security.export')[3] as unknown[])[0] as {
    realms: { uri: string; users: unknown[] }[];
  };
  doc.realms.find((r) => r.uri === 'com.x')!.users.push({ authid: 'x', password: 'short' });
  const imported = admin.call('wampmesh.security.import', [doc]);
  t.is(imported[4], 'wamp.error.invalid_argument');
  t.is((imported[5] as unknown[])[0], 'realms[0].users[0].password: must be at least 8 characters');
  t.deepEqual(w.security.store.listUsers('com.x'), [], 'nothing imported');
});

test('only the admin group may call the admin API; the trust source is the Unix socket', async (t) => {
  const w = world();
  const s = w.security.store;
  s.createUser('wampmesh.admin', { authid: 'viewer', password: PASSWORD });
  // The admin realm's sources admit only group admin; without this one viewer could not log in.
  s.createSource('wampmesh.admin', { cidr: '192.0.2.0/24', authmethods: ['ticket'], to: ['user:viewer'] });
  const c = w.connect('192.0.2.1:5000');
  sendHello(w, c, 'wampmesh.admin', { authmethods: ['ticket'], authid: 'viewer' });
  t.is((await authenticate(w, c, PASSWORD))[0], 2);
  c.send([48, 1, {}, 'wampmesh.realm.list', []]);
  t.is(c.take()[0]![4], 'wamp.error.not_authorized');
  c.send([48, 2, {}, 'wamp.session.list', []]);
  t.is(c.take()[0]![4], 'wamp.error.not_authorized');
  // No trust from the network for "admin".
  const d = w.connect('192.0.2.1:5001');
  t.is(sendHello(w, d, 'wampmesh.admin', { authmethods: ['trust'], authid: 'admin' })[2], 'wamp.error.no_auth_method');
  // A client may not take over an admin procedure by registering it.
  s.createGrant('wampmesh.admin', {
    permissions: ['register'],
    uri: 'wampmesh.',
    match: 'prefix',
    to: ['user:viewer'],
  });
  c.send([64, 3, {}, 'wampmesh.realm.list']);
  t.is(c.take()[0]![0], 65);
  const admin = adminSession(w);
  const list = admin.call('wampmesh.realm.list');
  t.is(list[0], 50, "the router's own procedure still answers");
  t.deepEqual(
    ((list[3] as unknown[])[0] as { uri: string }[]).map((r) => r.uri),
    ['wampmesh.admin'],
  );
});

test('import through the API replaces the configuration and takes effect live', (t) => {
  const w = world();
  const admin = adminSession(w);
  admin.call('wampmesh.realm.create', [{ uri: 'com.old', authmethods: ['anonymous'] }]);
  const c = w.connect();
  c.send([1, 'com.old', { roles: { caller: {} } }]);
  t.is(c.take()[0]![0], 2);
  const doc = (admin.call('wampmesh.security.export')[3] as unknown[])[0] as { realms: { uri: string }[] };
  doc.realms = doc.realms.filter((r) => r.uri !== 'com.old');
  doc.realms.push({ uri: 'com.new', authmethods: ['anonymous'] } as { uri: string });
  t.is(admin.call('wampmesh.security.import', [doc])[0], 50);
  t.deepEqual(c.take()[0], [6, { message: "realm 'com.old' was deleted" }, 'wamp.close.close_realm']);
  t.true(w.router.realms.has('com.new'));
  t.false(w.router.realms.has('com.old'));
});

test('admin API: a change taking a way into the admin realm away answers wampmesh.error.not_allowed unless the kwarg force; the last way never goes', (t) => {
  const w = world();
  const admin = adminSession(w);
  const realm = w.security.adminRealm;
  const refused = admin.call('wampmesh.user.update', [realm, 'admin', { disabled: true }]);
  t.is(refused[0], 8);
  t.is(refused[4], 'wampmesh.error.not_allowed');
  t.regex(
    String((refused[5] as unknown[])[0]),
    /^refused: this change would leave no way into the admin realm 'wampmesh\.admin' \(it takes away: admin by trust from unix\)/,
  );
  t.is(
    admin.call('wampmesh.user.update', [realm, 'admin', { disabled: true }], { force: true })[4],
    'wampmesh.error.not_allowed',
    'not even with force',
  );
  t.is(
    admin.call('wampmesh.user.delete', [realm, 'admin'], { force: 'yes' })[4],
    'wamp.error.invalid_argument',
    'force must be a boolean',
  );
  // A second administrator by cryptosign key: now force may remove the first.
  t.is(
    admin.call('wampmesh.user.create', [realm], { authid: 'ops', groups: ['admin'], pubkeys: ['ab'.repeat(32)] })[0],
    50,
  );
  const needsForce = admin.call('wampmesh.user.delete', [realm, 'admin']);
  t.is(needsForce[4], 'wampmesh.error.not_allowed');
  t.regex(
    String((needsForce[5] as unknown[])[0]),
    /repeat with --force \(admin API: kwarg force: true\).*what would remain: ops by cryptosign from any/,
  );
  // The object argument may still come as kwargs next to force.
  t.is(admin.call('wampmesh.realm.update', [realm], { description: 'ours', force: false })[0], 50);
  t.is(admin.call('wampmesh.user.delete', [realm, 'admin'], { force: true })[0], 50);
  t.is(w.security.store.getUser(realm, 'admin'), undefined);
});
