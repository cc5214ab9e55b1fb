// Replicated realm and security state under the simulator: changes made on any node reach
// every node; concurrent changes on both sides of a partition resolve the same way everywhere
// once it heals; a node that was away catches up.

import test from 'ava';
import { toRecords } from '../../src/mesh/replication/records.ts';
import { SimNetwork, type SimNode } from './sim.ts';

const records = (n: SimNode) =>
  JSON.stringify([...toRecords(n.security!.store.exportDocument())].sort(([a], [b]) => (a < b ? -1 : 1)));

function allEqual(net: SimNetwork): string | undefined {
  const alive = [...net.nodes.values()].filter((n) => n.alive);
  const first = records(alive[0]!);
  const odd = alive.find((n) => records(n) !== first);
  return odd === undefined ? undefined : `${odd.id} differs from ${alive[0]!.id}`;
}

function chain(net: SimNetwork, ids: string[]): void {
  for (const id of ids) net.addNode(id);
  for (let i = 1; i < ids.length; i++) net.connectSegment(ids[i - 1]!, ids[i]!);
}

test('a realm and user created on one node reach every node of a chain', (t) => {
  const net = new SimNetwork(5, {}, { replicate: true });
  const ids = ['A', 'B', 'C', 'D', 'E', 'F'];
  chain(net, ids);
  net.run(3000);
  const a = net.nodes.get('A')!.security!.store;
  a.createRealm({ uri: 'com.shop', authmethods: ['ticket'] });
  a.createUser('com.shop', { authid: 'alice', password: 'alice password' });
  net.run(500);
  const f = net.nodes.get('F')!.security!.store;
  t.is(f.getUser('com.shop', 'alice')?.authid, 'alice');
  t.deepEqual(
    f.userRecord('com.shop', 'alice')?.credentials,
    a.userRecord('com.shop', 'alice')?.credentials,
    'the same salted hashes, never the password',
  );
  t.truthy(net.nodes.get('F')!.router.realms.get('com.shop'), 'the realm is live on the far node');
  a.deleteUser('com.shop', 'alice');
  net.run(500);
  t.is(f.getUser('com.shop', 'alice'), undefined, 'deletions replicate (tombstones)');
  t.is(allEqual(net), undefined);
});

test('concurrent changes across a partition converge deterministically after it heals', (t) => {
  const net = new SimNetwork(9, {}, { replicate: true });
  const ids = ['P0', 'P1', 'P2', 'Q0', 'Q1', 'Q2'];
  chain(net, ids);
  net.run(3000);
  const store = (id: string) => net.nodes.get(id)!.security!.store;
  store('P0').createRealm({ uri: 'com.plant', authmethods: ['ticket', 'wampcra'] });
  store('P0').createGroup('com.plant', { name: 'ops' });
  net.run(500);
  t.is(allEqual(net), undefined);
  net.partition('P2', 'Q0');
  net.run(1000);
  // Both sides edit: the same user differently, a group deleted on one side and used on the other.
  store('P1').createUser('com.plant', { authid: 'bob', password: 'bob password P', meta: { side: 'P' } });
  net.run(5);
  store('Q2').createUser('com.plant', {
    authid: 'bob',
    password: 'bob password Q',
    meta: { side: 'Q' },
    groups: ['ops'],
  });
  store('P2').deleteGroup('com.plant', 'ops');
  store('Q1').createUser('com.plant', { authid: 'carol', password: 'carol password', groups: ['ops'] });
  store('Q1').createGrant('com.plant', {
    permissions: ['call'],
    uri: 'com.plant.',
    match: 'prefix',
    to: ['group:ops', 'user:carol'],
  });
  net.run(1000);
  t.not(records(net.nodes.get('P0')!), records(net.nodes.get('Q0')!), 'the two sides differ while partitioned');
  net.connectSegment('P2', 'Q0');
  net.run(6000);
  t.is(allEqual(net), undefined, 'every node holds the same records');
  const bob = store('P0').getUser('com.plant', 'bob');
  t.deepEqual(bob?.meta, { side: 'Q' }, 'the later write wins');
  t.is(store('Q0').getGroup('com.plant', 'ops'), undefined, 'the deletion wins over the older group record');
  t.deepEqual(
    store('P0').getUser('com.plant', 'carol')?.groups,
    [],
    'a reference to the deleted group is dropped everywhere',
  );
  for (const n of net.nodes.values()) t.is(n.db!.pragma('integrity_check', { simple: true }), 'ok');
});

test('a node that was away catches up when it returns', (t) => {
  const net = new SimNetwork(13, {}, { replicate: true });
  chain(net, ['A', 'B', 'C']);
  net.run(3000);
  net.partition('B', 'C');
  net.run(500);
  const a = net.nodes.get('A')!.security!.store;
  a.createRealm({ uri: 'com.later', authmethods: ['ticket'] });
  for (let i = 0; i < 20; i++) a.createUser('com.later', { authid: `u${i}`, password: `password ${i}` });
  net.run((24 * 3600 * 1000) / 1000); // time passes (scaled)
  net.connectSegment('B', 'C');
  net.run(5000);
  t.is(net.nodes.get('C')!.security!.store.listUsers('com.later').length, 20);
  t.is(allEqual(net), undefined);
});

test('a store too big for one frame still reaches every node, live and after an absence', (t) => {
  const net = new SimNetwork(17, {}, { replicate: true });
  chain(net, ['A', 'B', 'C']);
  // 8 KiB, below the 64 KiB a config allows, so that a few hundred users make the point: every
  // apply re-imports the whole store, which makes thousands slow to simulate.
  for (const id of ['A', 'B', 'C']) net.maxFrameBytes.set(id, 8_192);
  net.run(3000);
  net.partition('B', 'C');
  net.run(500);
  const a = net.nodes.get('A')!.security!.store;
  a.createRealm({ uri: 'com.big', authmethods: ['ticket'] });
  // 300 users (no password: hashing is not what this is about): their records (~150 octets
  // each) and their version list (~300 x 50 octets) are each larger than one frame.
  // One import, so one sync pushes them all at once.
  const doc = a.exportDocument();
  const big = doc.realms.find((r) => r.uri === 'com.big')!;
  (big.users as unknown[]).push(
    ...Array.from({ length: 300 }, (_, i) => ({ authid: `user-${i}`, meta: { note: 'x'.repeat(100) } })),
  );
  a.importDocument(doc);
  net.run(2000);
  t.is(net.nodes.get('B')!.security!.store.listUsers('com.big').length, 300, 'pushed live to B in parts');
  t.is(net.nodes.get('C')!.security!.store.getRealm('com.big'), undefined, 'C is away');
  net.connectSegment('B', 'C');
  net.run(5000);
  t.is(
    net.nodes.get('C')!.security!.store.listUsers('com.big').length,
    300,
    'C catches up by anti-entropy, the version list in parts',
  );
  t.is(allEqual(net), undefined);
  t.true(
    net.oversize.some((f) => f.endsWith(':repl-push')),
    'a whole push did not fit, so the test did test splitting',
  );
  t.true(
    net.oversize.some((f) => f.endsWith(':repl-versions')),
    'nor did a whole version list',
  );
});

for (const seed of [21, 4242]) {
  test(`50 nodes, random topology, seed ${seed}: random edits on both sides of a partition converge once it heals`, (t) => {
    const net = new SimNetwork(seed, {}, { replicate: true });
    const ids = Array.from({ length: 50 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    for (const id of ids) net.addNode(id);
    for (let i = 1; i < ids.length; i++) net.connectSegment(ids[i]!, ids[Math.floor(net.random() * i)]!);
    for (let e = 0; e < 20; e++) {
      const a = ids[Math.floor(net.random() * 50)]!;
      const b = ids[Math.floor(net.random() * 50)]!;
      if (a !== b) net.connectSegment(a, b);
    }
    net.run(5000);
    net.nodes.get(ids[0]!)!.security!.store.createRealm({ uri: 'com.fleet', authmethods: ['ticket'] });
    net.run(2000);
    try {
      if (allEqual(net) !== undefined) throw new Error(`not converged before the partition: ${allEqual(net)}`);
      // Cut the physical network between the first half and the second half of the IDs.
      const side = (id: string) => ids.indexOf(id) < 25;
      const cut = [...net.reach].flatMap(([a, set]) =>
        [...set].filter((b) => a < b && side(a) !== side(b)).map((b) => [a, b] as const),
      );
      for (const [a, b] of cut) net.partition(a, b);
      net.run(2000);
      const edit = (i: number) => {
        const node = net.nodes.get(ids[Math.floor(net.random() * 50)]!)!;
        const store = node.security!.store;
        const users = store.listUsers('com.fleet').map((u) => u.authid);
        const r = net.random();
        const authid = `u${i % 15}-${node.id}`;
        // A name this side made already (the draw is random) is edited instead.
        if ((r < 0.5 || users.length === 0) && !users.includes(authid))
          store.createUser('com.fleet', { authid, password: `password ${i}`, meta: { i } });
        else if (users.length === 0) return;
        else if (r < 0.8)
          store.updateUser('com.fleet', users[Math.floor(net.random() * users.length)]!, {
            meta: { edited: i, by: node.id },
          });
        else store.deleteUser('com.fleet', users[Math.floor(net.random() * users.length)]!);
      };
      for (let i = 0; i < 60; i++) {
        edit(i);
        net.run(20);
      }
      for (const [a, b] of cut) net.connectSegment(a, b);
      net.run(8000);
      const problem = allEqual(net);
      if (problem !== undefined) throw new Error(`replicas differ after healing: ${problem}`);
      t.pass();
    } catch (err) {
      t.fail(`seed ${seed} (replay by editing the seed list): ${(err as Error).message}`);
    }
  });
}
