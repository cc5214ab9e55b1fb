// Replicated records under mesh trust, in the deterministic simulator: each record carries its
// writer's signature, and a member (M, a node whose frames the test writes) cannot push realm
// and security records as if another node wrote them; a removed node's records stay, adopted by
// the others, while whatever its key signs afterwards is refused.

import test from 'ava';
import type { ReplicaRecord } from '../../src/mesh/replication/frames.ts';
import { toRecords } from '../../src/mesh/replication/records.ts';
import { Replicator } from '../../src/mesh/replication/replicator.ts';
import { recordFromText, recordSignatureHolds, signRecord } from '../../src/mesh/trust/record-signature.ts';
import { SimNetwork, type SimNode } from './sim.ts';

const records = (n: SimNode) =>
  JSON.stringify([...toRecords(n.security!.store.exportDocument())].sort(([a], [b]) => (a < b ? -1 : 1)));

/** A-B-C in a line, and M linked to A and C, each with its own replicated store; realm com.plant made on B. */
function square(seed: number): SimNetwork {
  const net = new SimNetwork(seed, {}, { replicate: true });
  for (const id of ['A', 'B', 'C', 'M']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('A', 'M');
  net.connectSegment('M', 'C');
  net.run(3000);
  net.nodes.get('B')!.security!.store.createRealm({ uri: 'com.plant', authmethods: ['ticket'] });
  net.run(500);
  return net;
}

const hlcAt = (ms: number) => `${String(ms).padStart(15, '0')}.000000`;

test("a member pushing user and grant records as another node's is refused and logged; honest records still converge", (t) => {
  const net = square(31);
  const a = net.nodes.get('A')!;
  // A genuine record of B's, as B sent it, to alter below.
  let genuine: ReplicaRecord | undefined;
  net.tap = (from, _to, frame) => {
    if (from === 'B' && frame.t === 'repl-push') genuine ??= frame.records.find((r) => r.key.startsWith('user|'));
  };
  net.nodes.get('B')!.security!.store.createUser('com.plant', { authid: 'bob', password: 'bob password' });
  net.run(500);
  net.tap = undefined;
  t.truthy(genuine?.sig, 'B signs what it writes');
  const mKey = net.nodes.get('M')!.trust.key;
  const hlc = hlcAt(net.clock.now + 1000);
  const user: ReplicaRecord = {
    key: 'user|com.plant|mallory',
    hlc,
    node: 'B',
    deleted: false,
    value: { authid: 'mallory', groups: [], pubkeys: [], meta: {}, credentials: {} },
  };
  const grant: ReplicaRecord = {
    key: 'grant|com.plant|forged',
    hlc,
    node: 'B',
    deleted: false,
    value: {
      permissions: ['call', 'register', 'publish', 'subscribe'],
      uri: '',
      match: 'prefix',
      to: ['user:mallory'],
    },
  };
  const forged: ReplicaRecord[] = [
    user, // no signature at all
    { ...grant, sig: signRecord(mKey, grant) }, // a valid signature, of the wrong key
    // B's own record and signature, with a newer version and another value.
    { ...genuine!, hlc, value: { ...genuine!.value, meta: { owned: true } } },
    // B's record deleted under B's name.
    { key: genuine!.key, hlc, node: 'B', deleted: true, sig: genuine!.sig! },
  ];
  t.is(net.inject('M', 'A', { t: 'repl-push', records: forged }), 'sent');
  net.run(500);
  const store = a.security!.store;
  t.is(store.getUser('com.plant', 'mallory'), undefined);
  t.is(store.getUser('com.plant', 'bob')?.meta.owned, undefined, "B's user is as B wrote it");
  t.false(
    store.listGrants('com.plant').some((g) => g.to.includes('user:mallory')),
    'no grant B did not write',
  );
  t.like(a.mesh.status().trust, { refused: { forgedRecord: 4 } });
  t.true(
    net.warnings.some(
      (w) => w.startsWith("A: replication: record not signed by its writer's key") && w.includes('"peer":"M"'),
    ),
    net.warnings.join('\n'),
  );
  // Honest writes on every side go on and converge, M's included (it signs its own).
  net.nodes.get('C')!.security!.store.createUser('com.plant', { authid: 'carol', password: 'carol password' });
  net.nodes.get('M')!.security!.store.createUser('com.plant', { authid: 'mike', password: 'mike password' });
  net.run(3000);
  for (const id of ['A', 'B', 'C', 'M']) {
    const s = net.nodes.get(id)!.security!.store;
    t.deepEqual(
      s
        .listUsers('com.plant')
        .map((u) => u.authid)
        .sort(),
      ['bob', 'carol', 'mike'],
      id,
    );
    t.is(records(net.nodes.get(id)!), records(a), `${id} holds the same records as A`);
  }
  t.deepEqual(net.errors, [], 'the links stay up');
});

test("a removed node's records stay, adopted by the others; what its key signs afterwards is refused", (t) => {
  const net = square(37);
  const m = net.nodes.get('M')!;
  m.security!.store.createUser('com.plant', { authid: 'made-on-m', password: 'm password' });
  net.run(1000);
  for (const id of ['A', 'B', 'C']) t.truthy(net.nodes.get(id)!.security!.store.getUser('com.plant', 'made-on-m'));
  t.is(typeof net.nodes.get('B')!.trust.remove('M'), 'object');
  net.run(3000);
  t.false(net.hasLink('A', 'M'));
  const writerOf = (id: string) => {
    const row = net.nodes
      .get(id)!
      .db!.prepare<[string], { node: string }>('SELECT node FROM replica_version WHERE key = ?')
      .get('user|com.plant|made-on-m');
    return row?.node;
  };
  for (const id of ['A', 'B', 'C']) {
    t.truthy(net.nodes.get(id)!.security!.store.getUser('com.plant', 'made-on-m'), `${id} keeps M's user`);
    t.not(writerOf(id), 'M', `${id} holds it under a member's name now`);
    t.is(writerOf(id), writerOf('A'), 'the same adopted version everywhere');
    t.is(records(net.nodes.get(id)!), records(net.nodes.get('A')!));
  }
  // M's key, still signing, in a push from a member passing it on (B, as A sees it): refused.
  const late: ReplicaRecord = {
    key: 'user|com.plant|late',
    hlc: hlcAt(net.clock.now),
    node: 'M',
    deleted: false,
    value: { authid: 'late', groups: [], pubkeys: [], meta: {}, credentials: {} },
  };
  const a = net.nodes.get('A')!;
  a.mesh.receive('B', { t: 'repl-push', records: [{ ...late, sig: signRecord(m.trust.key, late) }] });
  t.is(a.security!.store.getUser('com.plant', 'late'), undefined);
  t.like(a.mesh.status().trust, { refused: { removedWriter: 1 } });
});

test("records kept from before signing (an upgrade) are written again, signed, under the node's own name at start", (t) => {
  const net = square(41);
  net.nodes.get('A')!.security!.store.createUser('com.plant', { authid: 'ann', password: 'ann password' });
  net.run(1000);
  const b = net.nodes.get('B')!;
  const db = b.db!;
  const before = db.prepare<[], { key: string; node: string }>('SELECT key, node FROM replica_version').all();
  t.true(before.some((r) => r.node === 'A'));
  // What migration 10 leaves: versions without their written form.
  db.prepare('UPDATE replica_version SET written = NULL, sig = NULL').run();
  new Replicator({ node: 'B', db, store: b.security!.store, now: () => net.clock.now, trust: b.trust });
  const after = db
    .prepare<[], { key: string; node: string; written: string | null; sig: Uint8Array | null }>(
      'SELECT key, node, written, sig FROM replica_version ORDER BY key',
    )
    .all();
  t.deepEqual(
    after.map((r) => r.key),
    before.map((r) => r.key).sort(),
  );
  for (const row of after) {
    t.is(row.node, 'B', row.key);
    t.true(recordSignatureHolds(recordFromText(row.written!, row.sig), b.trust.key.publicKey), row.key);
  }
});

test('a pushed record whose value is not plain JSON (it could not have been signed) is a bad frame, with a reason', (t) => {
  const net = square(43);
  const a = net.nodes.get('A')!;
  const record = { key: 'user|com.plant|x', hlc: hlcAt(net.clock.now), node: 'B', deleted: false };
  for (const value of [{ n: 10n }, { bytes: new Uint8Array(3) }, { n: Number.NaN }, { deep: { a: [{ b: 1n }] } }])
    t.is(a.mesh.receive('B', { t: 'repl-push', records: [{ ...record, value }] }), 'repl-push: bad records');
  t.is(
    a.mesh.receive('B', { t: 'repl-push', records: [{ ...record, value: { meta: { a: [1, 'x', null] } } }] }),
    undefined,
  );
  t.like(a.mesh.status().trust, { refused: { forgedRecord: 1 } }, 'well formed, then refused for its signature');
});
