// Sessions end when what let them in stops working: a replaced or removed credential, a
// disabled user, whether the change comes from the admin API or an import (the path mesh
// replication takes). Changes that only add a way in, or touch groups, grants or other users,
// end nothing. Real SQLite store, the Router over in-memory peers.

import test from 'ava';
import type { KeyObject } from 'node:crypto';
import type { MemoryClient } from '../helpers/memory-peer.ts';
import { adminSession, authenticate, cryptosignSign, ed25519Keys, sendHello, world, type World } from './helpers.ts';

const REALM = 'com.rev';
const killed = (why: string) => [6, { message: why }, 'wamp.close.killed'];

function setup() {
  const w = world();
  const admin = adminSession(w);
  const ok = (procedure: string, args: unknown[]) => {
    const r = admin.call(procedure, args);
    if (r[0] !== 50) throw new Error(`${procedure}: ${JSON.stringify(r)}`);
    return (r[3] as unknown[] | undefined)?.[0];
  };
  ok('wampmesh.realm.create', [{ uri: REALM, authmethods: ['ticket', 'cryptosign'] }]);
  ok('wampmesh.user.create', [REALM, { authid: 'alice', password: 'alice password 1' }]);
  ok('wampmesh.user.create', [REALM, { authid: 'bob', password: 'bob password 1' }]);
  return { w, ok };
}

async function ticketLogin(w: World, authid: string, password: string): Promise<MemoryClient | unknown[]> {
  const c = w.connect();
  const challenge = sendHello(w, c, REALM, { authmethods: ['ticket'], authid });
  if (challenge[0] !== 4) return challenge;
  const reply = await authenticate(w, c, password);
  return reply[0] === 2 ? c : reply;
}

async function cryptosignLogin(w: World, privateKey: KeyObject, pubkey: string): Promise<MemoryClient> {
  const c = w.connect();
  const challenge = sendHello(w, c, REALM, { authmethods: ['cryptosign'], authextra: { pubkey } });
  const reply = await authenticate(w, c, cryptosignSign(privateKey, challenge[2] as Record<string, unknown>));
  if (reply[0] !== 2) throw new Error(`cryptosign login failed: ${JSON.stringify(reply)}`);
  return c;
}

const session = (c: MemoryClient | unknown[]) => {
  if (Array.isArray(c)) throw new Error(`login failed: ${JSON.stringify(c)}`);
  return c;
};

/** Alive: nothing pending, and a CALL gets an answer (an ERROR will do: no grants here). */
function alive(c: MemoryClient): boolean {
  if (c.closed || c.take().length > 0) return false;
  c.send([48, 99, {}, 'com.rev.nothing', []]);
  const answer = c.take();
  return answer.length === 1 && answer[0]![0] === 8;
}

test('a new password ends every session of that user, and only those; unrelated changes end none', async (t) => {
  const { w, ok } = setup();
  const alice1 = session(await ticketLogin(w, 'alice', 'alice password 1'));
  const alice2 = session(await ticketLogin(w, 'alice', 'alice password 1'));
  const bob = session(await ticketLogin(w, 'bob', 'bob password 1'));

  ok('wampmesh.user.update', [REALM, 'bob', { meta: { team: 'b' } }]);
  ok('wampmesh.user.update', [REALM, 'alice', { meta: { team: 'a' } }]);
  ok('wampmesh.group.create', [REALM, { name: 'ops' }]);
  ok('wampmesh.user.update', [REALM, 'alice', { groups: ['ops'] }]);
  ok('wampmesh.grant.create', [REALM, { permissions: ['call'], uri: 'com.rev.', match: 'prefix', to: ['group:ops'] }]);
  t.true(alive(alice1), 'meta, groups and grants end nothing');

  ok('wampmesh.user.update', [REALM, 'alice', { password: 'alice password 2' }]);
  const why = "credentials changed for user 'alice' in realm 'com.rev'";
  t.deepEqual(alice1.take(), [killed(why)]);
  t.deepEqual(alice2.take(), [killed(why)]);
  t.true(alive(bob), "another user's sessions stay");

  // The client that answers GOODBYE is closed at once; one that does not, after goodbyeTimeoutMs.
  alice1.send([6, {}, 'wamp.close.goodbye_and_out']);
  t.true(alice1.closed);
  w.router.tick(w.clock.now + 1999);
  t.false(alice2.closed);
  w.router.tick(w.clock.now + 2000);
  t.true(alice2.closed);

  t.is(
    ((await ticketLogin(w, 'alice', 'alice password 1')) as unknown[])[2],
    'wamp.error.authentication_failed',
    'the old password is refused',
  );
  t.true(alive(session(await ticketLogin(w, 'alice', 'alice password 2'))), 'the new one works');
});

test('public keys: adding one or a first password ends nothing; removing the key in use ends the session', async (t) => {
  const { w, ok } = setup();
  const k1 = ed25519Keys();
  const k2 = ed25519Keys();
  ok('wampmesh.user.create', [REALM, { authid: 'carol', pubkeys: [k1.pubkey] }]);
  const carol = await cryptosignLogin(w, k1.privateKey, k1.pubkey);
  ok('wampmesh.user.update', [REALM, 'carol', { pubkeys: [k1.pubkey, k2.pubkey] }]);
  ok('wampmesh.user.update', [REALM, 'carol', { password: 'carol password 1' }]);
  t.true(alive(carol), 'nothing that let carol in stopped working');
  ok('wampmesh.user.update', [REALM, 'carol', { pubkeys: [k2.pubkey] }]);
  t.deepEqual(carol.take(), [killed("credentials changed for user 'carol' in realm 'com.rev'")]);
  t.true(alive(await cryptosignLogin(w, k2.privateKey, k2.pubkey)));
});

test('disabling a user ends their sessions as a kill does (testaments published) and refuses logins until enabled', async (t) => {
  const { w, ok } = setup();
  ok('wampmesh.grant.create', [
    REALM,
    { permissions: ['call'], uri: 'wamp.session.add_testament', to: ['user:alice'] },
  ]);
  // A testament is a deferred PUBLISH: it needs the publish grant on its topic.
  ok('wampmesh.grant.create', [REALM, { permissions: ['publish'], uri: 'com.rev.gone', to: ['user:alice'] }]);
  ok('wampmesh.grant.create', [REALM, { permissions: ['subscribe'], uri: 'com.rev.gone', to: ['user:bob'] }]);
  const alice = session(await ticketLogin(w, 'alice', 'alice password 1'));
  alice.send([48, 1, {}, 'wamp.session.add_testament', ['com.rev.gone', ['alice left']]]);
  t.is(alice.take()[0]![0], 50);
  const bob = session(await ticketLogin(w, 'bob', 'bob password 1'));
  bob.send([32, 1, {}, 'com.rev.gone']);
  t.is(bob.take()[0]![0], 33);

  t.like(ok('wampmesh.user.update', [REALM, 'alice', { disabled: true }]), { authid: 'alice', disabled: true });
  t.deepEqual(alice.take(), [killed("user 'alice' was disabled in realm 'com.rev'")]);
  const event = bob.take()[0]!;
  t.is(event[0], 36);
  t.deepEqual(event[4], ['alice left'], 'the testament is published');
  t.is(
    ((await ticketLogin(w, 'alice', 'alice password 1')) as unknown[])[2],
    'wamp.error.authentication_failed',
    'a disabled user cannot log in',
  );

  ok('wampmesh.user.update', [REALM, 'alice', { disabled: false }]);
  t.is((ok('wampmesh.user.get', [REALM, 'alice']) as { disabled?: boolean }).disabled, undefined);
  t.true(alive(session(await ticketLogin(w, 'alice', 'alice password 1'))), 'enabled again, with the same password');
});

test('an import ends the sessions of users whose credentials it replaces; re-importing the same document ends none', async (t) => {
  const { w, ok } = setup();
  const alice = session(await ticketLogin(w, 'alice', 'alice password 1'));
  const bob = session(await ticketLogin(w, 'bob', 'bob password 1'));
  const doc = ok('wampmesh.security.export', []) as {
    realms: { uri: string; users: { authid: string; credentials: unknown; disabled?: boolean }[] }[];
  };
  ok('wampmesh.security.import', [doc]);
  t.true(alive(alice));
  t.true(alive(bob));

  const users = doc.realms.find((r) => r.uri === REALM)!.users;
  users.find((u) => u.authid === 'alice')!.credentials = users.find((u) => u.authid === 'bob')!.credentials;
  users.find((u) => u.authid === 'bob')!.disabled = true;
  ok('wampmesh.security.import', [doc]);
  t.deepEqual(alice.take(), [killed("credentials changed for user 'alice' in realm 'com.rev'")]);
  t.deepEqual(bob.take(), [killed("user 'bob' was disabled in realm 'com.rev'")]);
  t.true(alive(session(await ticketLogin(w, 'alice', 'bob password 1'))));
});

test('an administrator changing their own password gets the result, then GOODBYE', (t) => {
  const w = world();
  const c = w.connect('unix:/run/wampmesh.sock');
  t.is(sendHello(w, c, w.security.adminRealm, { authmethods: ['trust'], authid: 'admin' })[0], 2);
  c.send([48, 1, {}, 'wampmesh.user.update', [w.security.adminRealm, 'admin', { password: 'admin password 1' }]]);
  t.is(c.take()[0]![0], 50, 'a first password ends nothing');
  c.send([48, 2, {}, 'wampmesh.user.update', [w.security.adminRealm, 'admin', { password: 'admin password 2' }]]);
  const [result, goodbye] = c.take();
  t.is(result![0], 50);
  t.deepEqual(goodbye, killed("credentials changed for user 'admin' in realm 'wampmesh.admin'"));
});
