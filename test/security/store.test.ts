// The store itself: validation errors name the field, references and cycles, cascades,
// persistence across reopening, no secret in clear on disk, export -> wipe -> import.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { openDatabase } from '../../src/store/database.ts';
import {
  SecurityError,
  SecurityStore,
  ADMIN_REALM,
  ensureAdminRealm,
  type SecurityDocument,
} from '../../src/security/index.ts';
import { verifyTicket, verifyWampcra } from '../../src/security/hash.ts';
import { testHashing, tmpDir } from './helpers.ts';

const PASSWORD = 'correct horse battery';

function open(dir = tmpDir()) {
  const db = openDatabase(dir);
  const store = new SecurityStore(db, { hashing: testHashing, protectedRealms: [ADMIN_REALM] });
  return { dir, db, store };
}

function error(t: import('ava').ExecutionContext, fn: () => unknown): SecurityError {
  const err = t.throws(fn, { instanceOf: SecurityError });
  return err!;
}

function populate(store: SecurityStore) {
  ensureAdminRealm(store);
  store.createRealm({
    uri: 'com.example',
    description: 'the example',
    authmethods: ['ticket', 'wampcra', 'wamp-scram', 'cryptosign', 'trust'],
  });
  store.createGroup('com.example', { name: 'base', meta: { level: 1 } });
  store.createGroup('com.example', { name: 'ops', groups: ['base'], description: 'operators' });
  store.createUser('com.example', {
    authid: 'alice',
    groups: ['ops', 'base'],
    role: 'base',
    password: PASSWORD,
    meta: { email: 'alice@example.com' },
  });
  store.createUser('com.example', { authid: 'device', pubkeys: ['ab'.repeat(32)] });
  store.createGrant('com.example', {
    permissions: ['call', 'subscribe'],
    uri: 'com.example.',
    match: 'prefix',
    to: ['group:ops', 'user:device'],
  });
  store.createSource('com.example', { cidr: 'unix', authmethods: ['trust'], to: ['group:ops'] });
  store.createSource('com.example', { cidr: '10.0.0.0/8', authmethods: ['ticket', 'wampcra'], to: ['all'] });
}

test('validation errors are typed, carry a WAMP URI and name the field', (t) => {
  const { store } = open();
  store.createRealm({ uri: 'r', authmethods: ['ticket'] });
  let e = error(t, () => store.createUser('r', { authid: 'a', password: 'short' }));
  t.is(e.uri, 'wamp.error.invalid_argument');
  t.is(e.field, 'password');
  t.is(e.message, 'password: must be at least 8 characters');
  e = error(t, () => store.createRealm({ uri: 'bad uri', authmethods: ['ticket'] }));
  t.is(e.field, 'uri');
  e = error(t, () => store.createRealm({ uri: 'r2', authmethods: ['ticket', 'kerberos'] }));
  t.is(
    e.message,
    'authmethods[1]: expected one of anonymous, ticket, wampcra, cryptosign, wamp-scram, trust, oauth2, tls',
  );
  e = error(t, () => store.createRealm({ uri: 'r3' }));
  t.is(e.message, 'authmethods: required');
  e = error(t, () => store.createUser('r', { authid: 'a', groups: ['nope'] }));
  t.is(e.uri, 'wampmesh.error.not_found');
  t.is(e.message, "groups[0]: no group 'nope' in realm 'r'");
  e = error(t, () => store.createGrant('r', { permissions: ['call', 'delete'], uri: 'x', to: ['all'] }));
  t.is(e.field, 'permissions[1]');
  e = error(t, () => store.createGrant('r', { permissions: ['call'], uri: 'x', to: ['user:ghost'] }));
  t.is(e.message, "to[0]: no user 'ghost' in realm 'r'");
  e = error(t, () => store.createSource('r', { cidr: '10.0.0.0/40', authmethods: ['ticket'], to: ['all'] }));
  t.is(e.field, 'cidr');
  e = error(t, () => store.createSource('r', { cidr: '0.0.0.0/0', authmethods: ['trust'], to: ['all'] }));
  t.is(e.field, 'authmethods');
  e = error(t, () => store.createUser('r', { authid: 'a', pubkeys: ['xyz'] }));
  t.is(e.field, 'pubkeys[0]');
  e = error(t, () => store.createUser('r', { authid: 'a', unknown: 1 }));
  t.is(e.message, 'unknown: unknown field');
  e = error(t, () => store.createUser('nowhere', { authid: 'a' }));
  t.is(e.message, "realm: no realm 'nowhere'");
  store.createGroup('r', { name: 'g' });
  e = error(t, () => store.createUser('r', { authid: 'a', groups: ['g'], role: 'other' }));
  t.is(e.field, 'role');
  e = error(t, () => store.createGroup('r', { name: 'all' }));
  t.is(e.message, 'name: "all" and "anonymous" are reserved');
  store.createUser('r', { authid: 'a' });
  e = error(t, () => store.createUser('r', { authid: 'a' }));
  t.is(e.uri, 'wampmesh.error.already_exists');
  t.deepEqual(
    store.listUsers('r').map((u) => u.authid),
    ['a'],
    'failed writes changed nothing',
  );
});

test('nested groups: a cycle is refused and named', (t) => {
  const { store } = open();
  store.createRealm({ uri: 'r', authmethods: ['ticket'] });
  store.createGroup('r', { name: 'a' });
  store.createGroup('r', { name: 'b', groups: ['a'] });
  store.createGroup('r', { name: 'c', groups: ['b'] });
  const e = error(t, () => store.updateGroup('r', 'a', { groups: ['c'] }));
  t.is(e.message, 'groups: nesting would make a cycle: a -> c -> b -> a');
  t.is(error(t, () => store.updateGroup('r', 'a', { groups: ['a'] })).field, 'groups');
  t.deepEqual(store.groupClosure('r', ['c']), ['c', 'b', 'a']);
});

test('deleting a group cascades to memberships, nesting, roles, grants and sources', (t) => {
  const { store } = open();
  populate(store);
  store.deleteGroup('com.example', 'base');
  const alice = store.getUser('com.example', 'alice')!;
  t.deepEqual(alice.groups, ['ops']);
  t.is(alice.role, undefined, 'the role naming it is cleared');
  t.is(alice.authrole, 'ops');
  t.deepEqual(store.getGroup('com.example', 'ops')!.groups, []);
  store.deleteGroup('com.example', 'ops');
  t.deepEqual(
    store.listGrants('com.example').map((g) => g.to),
    [['user:device']],
    'the principal goes, the grant stays while it has one',
  );
  t.deepEqual(
    store.listSources('com.example').map((s) => s.cidr),
    ['10.0.0.0/8'],
    'a source left with no principal goes',
  );
});

test('secrets are stored only as salted hashes and derived keys', async (t) => {
  const { dir, db, store } = open();
  populate(store);
  const user = store.userRecord('com.example', 'alice')!;
  t.regex(user.credentials.ticket!.hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  t.true(await verifyTicket(PASSWORD, user.credentials.ticket!.hash));
  t.false(await verifyTicket('wrong password', user.credentials.ticket!.hash));
  const cra = user.credentials.wampcra!;
  t.like(cra, { iterations: 1000, keylen: 32 });
  t.is(
    cra.key,
    crypto.pbkdf2Sync(PASSWORD, cra.salt, 1000, 32, 'sha256').toString('base64'),
    'the WAMP-CRA derived key, salt as UTF-8',
  );
  t.true(
    verifyWampcra(cra.key, 'challenge', crypto.createHmac('sha256', cra.key).update('challenge').digest('base64')),
  );
  t.like(user.credentials['wamp-scram']!, { kdf: 'argon2id', iterations: 1, memory: 1024 });
  // get/list show which methods, never the material.
  const view = store.getUser('com.example', 'alice')!;
  t.deepEqual(view.authmethods, ['ticket', 'wampcra', 'wamp-scram']);
  t.false(JSON.stringify(view).includes(cra.key));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  for (const file of fs.readdirSync(dir)) {
    const bytes = fs.readFileSync(path.join(dir, file));
    t.false(bytes.includes(Buffer.from(PASSWORD)), `${file} holds the password`);
  }
});

test('a password change replaces every password credential', (t) => {
  const { store } = open();
  populate(store);
  const before = store.userRecord('com.example', 'alice')!;
  store.updateUser('com.example', 'alice', { password: 'another password', password_methods: ['ticket'] });
  const after = store.userRecord('com.example', 'alice')!;
  t.deepEqual(Object.keys(after.credentials), ['ticket'], 'no credential keeps the old password');
  t.not(after.credentials.ticket!.hash, before.credentials.ticket!.hash);
  t.deepEqual(after.groups, ['ops', 'base'], 'other fields kept');
  t.is(after.role, 'base');
});

test('everything configured survives reopening; integrity_check is ok', (t) => {
  const first = open();
  populate(first.store);
  const exported = first.store.exportDocument();
  first.db.close();
  const again = open(first.dir);
  t.deepEqual(again.store.exportDocument(), exported);
  t.is(again.store.getUser('com.example', 'alice')!.authrole, 'base');
  t.is(again.store.userByPubkey('com.example', 'AB'.repeat(32)), 'device');
  t.is(again.db.pragma('integrity_check', { simple: true }), 'ok');
  t.deepEqual(again.db.pragma('foreign_key_check'), []);
  again.db.close();
});

test('export -> wipe -> import gives the same configuration', async (t) => {
  const a = open();
  populate(a.store);
  const exported = JSON.parse(JSON.stringify(a.store.exportDocument())) as SecurityDocument;
  const b = open();
  ensureAdminRealm(b.store);
  b.store.createRealm({ uri: 'com.leftover', authmethods: ['ticket'] });
  b.store.importDocument(exported);
  t.deepEqual(b.store.exportDocument(), exported);
  t.is(b.store.getRealm('com.leftover'), undefined, 'import replaces the whole configuration');
  // The imported hashes still verify.
  t.true(await verifyTicket(PASSWORD, b.store.userRecord('com.example', 'alice')!.credentials.ticket!.hash));
  // Importing into the same store (wipe and re-create) is also a no-op.
  a.store.importDocument(exported);
  t.deepEqual(a.store.exportDocument(), exported);
  t.is(b.db.pragma('integrity_check', { simple: true }), 'ok');
});

test('an import may carry clear passwords; they are derived on the way in', async (t) => {
  const { store } = open();
  ensureAdminRealm(store);
  const admin = store.exportDocument().realms[0]!;
  store.importDocument({
    version: 1,
    realms: [
      admin,
      {
        uri: 'com.new',
        authmethods: ['ticket'],
        groups: [{ name: 'g' }],
        users: [{ authid: 'u', groups: ['g'], password: PASSWORD }],
      },
    ],
  });
  t.true(await verifyTicket(PASSWORD, store.userRecord('com.new', 'u')!.credentials.ticket!.hash));
});

test('an invalid import changes nothing and names the field', (t) => {
  const { db, store } = open();
  populate(store);
  const before = store.exportDocument();
  const doc = JSON.parse(JSON.stringify(before)) as { realms: Record<string, unknown>[] };
  const broken = (mutate: (d: typeof doc) => void) => {
    const d = JSON.parse(JSON.stringify(doc)) as typeof doc;
    mutate(d);
    return d;
  };
  const realm = (d: typeof doc) =>
    d.realms[0] as {
      users: Record<string, unknown>[];
      groups: Record<string, unknown>[];
      grants: Record<string, unknown>[];
    };
  const cases: [typeof doc, string][] = [
    [
      broken((d) => {
        realm(d).users.push({ authid: 'x', password: 'short' });
      }),
      'realms[0].users[2].password: must be at least 8 characters',
    ],
    [
      broken((d) => {
        realm(d).users[0]!.groups = ['ghost'];
      }),
      "realms[0].users[0].groups[0]: no group 'ghost' in realm 'com.example'",
    ],
    [
      broken((d) => {
        realm(d).groups[0]!.groups = ['ops'];
      }),
      'realms[0].groups[0].groups: nesting makes a cycle: base -> ops -> base',
    ],
    [
      broken((d) => {
        realm(d).grants[0]!.to = ['user:ghost'];
      }),
      "realms[0].grants[0].to[0]: no user 'ghost' in realm 'com.example'",
    ],
    [
      broken((d) => {
        d.realms.push({ ...d.realms[0]! });
      }),
      "realms[2].uri: duplicate realm 'com.example'",
    ],
    [
      broken((d) => {
        d.realms.pop();
      }),
      "realms: the import must keep the protected realm 'wampmesh.admin' (the admin realm)",
    ],
    [
      broken((d) => {
        (d as Record<string, unknown>).version = 2;
      }),
      'version: expected 1',
    ],
  ];
  for (const [document, message] of cases) {
    const e = error(t, () => store.importDocument(document));
    t.is(e.message, message);
  }
  t.deepEqual(store.exportDocument(), before);
  const dupe = broken((d) => {
    (d.realms[1] as { grants: { id: number }[] }).grants[0]!.id = realm(d).grants[0]!.id as number;
  });
  t.regex(error(t, () => store.importDocument(dupe)).message, /^realms\[1\]\.grants\[0\]\.id: duplicate grant id \d+$/);
  t.deepEqual(store.exportDocument(), before);
  // A failure half way through the writes (injected by a trigger, as a full disk would be)
  // rolls the whole import back: the wipe included.
  db.exec(
    "CREATE TEMP TRIGGER boom BEFORE INSERT ON security_user WHEN NEW.authid = 'boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
  );
  const late = broken((d) => {
    (d.realms[1] as { users: unknown[] }).users.push({ authid: 'boom' });
  });
  t.throws(() => store.importDocument(late), { message: /injected failure/ });
  t.deepEqual(store.exportDocument(), before);
  db.exec('DROP TRIGGER boom');
  t.is(db.pragma('integrity_check', { simple: true }), 'ok');
});

test('the admin realm cannot be deleted; a batch is all or nothing', (t) => {
  const { store } = open();
  ensureAdminRealm(store);
  t.is(error(t, () => store.deleteRealm(ADMIN_REALM)).uri, 'wampmesh.error.not_allowed');
  const heard: string[] = [];
  store.subscribe((c) => heard.push(c.kind));
  t.throws(
    () =>
      store.batch(() => {
        store.createRealm({ uri: 'com.half', authmethods: ['ticket'] });
        store.createUser('com.half', { authid: 'x', groups: ['missing'] });
      }),
    { instanceOf: SecurityError },
  );
  t.is(store.getRealm('com.half'), undefined);
  t.deepEqual(heard, [], 'nothing announced for a rolled-back batch');
  store.batch(() => {
    store.createRealm({ uri: 'com.whole', authmethods: ['ticket'] });
    store.createUser('com.whole', { authid: 'x' });
    t.deepEqual(heard, [], 'announced only at commit');
  });
  t.deepEqual(heard, ['realm.created', 'user.created']);
});
