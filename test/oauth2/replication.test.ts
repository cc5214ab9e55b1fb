// OAuth2 records through the real Replicator between two nodes (real SQLite files, frames handed
// over in memory, one hand-driven clock): keys, refresh families and revoked tokens replicate;
// an entry past its expiry is forgotten by both nodes with its version (no tombstone left); an
// expired copy arriving late is not applied; a malformed record from a peer is not kept.

import test from 'ava';
import { Replicator, type ReplicationFrame } from '../../src/mesh/replication/replicator.ts';
import { OAuth2Service } from '../../src/oauth2/service.ts';
import { oauth2Schema } from '../../src/oauth2/settings.ts';
import { revokedKey } from '../../src/oauth2/records.ts';
import { world, type World } from '../security/helpers.ts';

const REALM = 'com.app';

interface Node {
  id: string;
  w: World;
  oauth2: OAuth2Service;
  replicator: Replicator;
}

function pair(): [Node, Node] {
  const clock = { now: 1_700_000_000_000 };
  const nodes: Node[] = [];
  for (const id of ['alpha', 'beta']) {
    const w = world();
    w.clock.now = clock.now;
    Object.defineProperty(w.clock, 'now', { get: () => clock.now, set: (v: number) => (clock.now = v) });
    const oauth2 = new OAuth2Service({
      db: w.db,
      security: w.security,
      settings: oauth2Schema().parse({ realms: [{ realm: REALM, accessTokenTtlSec: 60 }] }),
      nodeId: id,
      now: () => clock.now,
    });
    const replicator = new Replicator({
      node: id,
      db: w.db,
      store: w.security.store,
      sources: [oauth2.recordSource],
      now: () => clock.now,
      antiEntropyMs: 1000,
    });
    nodes.push({ id, w, oauth2, replicator });
  }
  const [a, b] = nodes as [Node, Node];
  const deliver = (to: Node, from: string, frame: ReplicationFrame): 'sent' => {
    // A copy, as the wire makes one.
    to.replicator.receive(from, JSON.parse(JSON.stringify(frame)) as ReplicationFrame);
    return 'sent';
  };
  a.replicator.attach({ send: (_p, f) => deliver(b, 'alpha', f), neighbours: () => ['beta'] });
  b.replicator.attach({ send: (_p, f) => deliver(a, 'beta', f), neighbours: () => ['alpha'] });
  a.replicator.linkUp('beta');
  return [a, b];
}

const versions = (n: Node, prefix: string) =>
  (n.w.db.prepare('SELECT key FROM replica_version WHERE key LIKE ?').all(`${prefix}%`) as { key: string }[]).length;

test('keys, revocations and refresh families replicate; expired entries are forgotten everywhere', async (t) => {
  const [a, b] = pair();
  t.is(b.oauth2.store.publicKeys().length, 2, 'each node has both public keys');
  a.w.security.store.createRealm({ uri: REALM, authmethods: ['oauth2'] });
  a.w.security.store.createUser(REALM, { authid: 'alice', password: 'alice password' });
  t.truthy(b.w.security.store.getUser(REALM, 'alice'));

  const reply = await a.oauth2.token(REALM, {
    method: 'POST',
    header: (n) => (n === 'content-type' ? 'application/x-www-form-urlencoded' : undefined),
    body: Buffer.from('grant_type=password&username=alice&password=alice+password'),
    peer: '10.0.0.1:1',
  });
  const body = JSON.parse(reply!.body) as { access_token: string; refresh_token: string };
  t.true(b.oauth2.check(REALM, body.access_token).ok, "alpha's token checks out on beta");
  t.is(b.oauth2.store.userFamilies(REALM, 'alice').length, 1, 'the refresh family is on beta');

  await b.oauth2.revoke(REALM, {
    method: 'POST',
    header: (n) => (n === 'content-type' ? 'application/x-www-form-urlencoded' : undefined),
    body: Buffer.from(new URLSearchParams({ token: body.access_token }).toString()),
    peer: '10.0.0.2:1',
  });
  t.deepEqual(
    a.oauth2.check(REALM, body.access_token),
    { ok: false, reason: 'revoked' },
    'revoked on beta, refused on alpha',
  );
  t.is(versions(a, 'oauth2.revoked|'), 1);

  // Past the token's expiry (60 s + 30 s leeway), both forget the entry and its version.
  a.w.clock.now += 91_000;
  for (const n of [a, b]) {
    n.replicator.tick(n.w.clock.now);
    n.replicator.sync();
  }
  for (const n of [a, b]) {
    t.is(versions(n, 'oauth2.revoked|'), 0, `${n.id}: no version, no tombstone`);
    t.is(
      (
        n.w.db.prepare("SELECT count(*) AS n FROM oauth2_record WHERE key LIKE 'oauth2.revoked|%'").get() as {
          n: number;
        }
      ).n,
      0,
    );
  }
  t.is(a.replicator.digest(), b.replicator.digest(), 'the nodes agree afterwards');

  // A late copy of the expired entry is not applied.
  const jti = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()).jti as string;
  const late = b.replicator.apply([
    {
      key: revokedKey(REALM, jti),
      hlc: `${String(a.w.clock.now).padStart(15, '0')}.000009`,
      node: 'gamma',
      deleted: false,
      value: { realm: REALM, jti, expires: a.w.clock.now - 1 },
    },
  ]);
  t.deepEqual(late, []);
  // A malformed record is not kept (its key is known, its value is not a revocation).
  b.replicator.apply([
    {
      key: revokedKey(REALM, 'x'),
      hlc: `${String(a.w.clock.now).padStart(15, '0')}.000010`,
      node: 'gamma',
      deleted: false,
      value: { realm: REALM, jti: 'x', expires: 'never' },
    },
  ]);
  t.false(b.oauth2.store.isRevoked(REALM, 'x'));
  // Another key under alpha's kid is refused, and alpha's key stays.
  const alphaKey = b.oauth2.store.publicKeys().find((k) => k.node === 'alpha')!;
  const other = b.oauth2.store.publicKeys().find((k) => k.node === 'beta')!;
  b.replicator.apply([
    {
      key: `oauth2.key|${alphaKey.kid}`,
      hlc: `${String(a.w.clock.now).padStart(15, '0')}.000011`,
      node: 'gamma',
      deleted: false,
      value: { ...alphaKey, jwk: { ...other.jwk, kid: alphaKey.kid } },
    },
  ]);
  t.deepEqual(b.oauth2.store.publicKeyRecord(alphaKey.kid), alphaKey);
  for (const n of [a, b]) n.w.close();
});

test("the security document's other kinds (the gateway's API specs) replicate beside the OAuth2 records", (t) => {
  const [a, b] = pair();
  a.w.security.store.createRealm({ uri: REALM, authmethods: ['oauth2'] });
  a.w.security.store.putApi({
    name: 'shop',
    realm: REALM,
    basePath: '/api',
    routes: [{ method: 'POST', path: '/echo', call: 'com.app.echo' }],
  });
  t.is(b.w.security.store.getApi(REALM, 'shop')?.basePath, '/api');
  a.w.security.store.deleteApi(REALM, 'shop');
  t.is(b.w.security.store.getApi(REALM, 'shop'), undefined);
  t.is(b.oauth2.store.publicKeys().length, 2);
  for (const n of [a, b]) n.w.close();
});
