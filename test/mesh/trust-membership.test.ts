// Mesh membership under the deterministic simulator: a malicious member forging advertisements
// and admissions is refused; a removed node loses its links and routes everywhere and cannot come
// back, not even with the cluster secret; without secretJoin only an administrator admits a node.

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import type { Lsa } from '../../src/mesh/routing/frames.ts';
import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import { signLsa } from '../../src/mesh/trust/lsa-signature.ts';
import { signStatement } from '../../src/mesh/trust/statements.ts';
import { SimNetwork } from './sim.ts';
import { call } from './trust-harness.ts';

/** A session on `node` that registers `procedure` and answers each call with its args. */
function echo(net: SimNetwork, node: string, procedure: string): MemoryClient {
  const c = new MemoryClient(net.nodes.get(node)!.router);
  c.join('realm1');
  c.send([64, 1, {}, procedure]);
  const loop = () => {
    for (const m of c.take()) if (m[0] === 68) c.send([70, m[1], {}, m[4]]);
    net.clock.setTimeout(loop, 1);
  };
  loop();
  return c;
}

/** A-B-C in a line, and M (the malicious member) linked to A and C. */
function square(): SimNetwork {
  const net = new SimNetwork(11);
  for (const id of ['A', 'B', 'C', 'M']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('A', 'M');
  net.connectSegment('M', 'C');
  net.run(2000);
  return net;
}

test('a member forging advertisements of other nodes is refused and logged; honest calls go on', (t) => {
  const net = square();
  echo(net, 'C', 'com.app.echo');
  net.run(500);
  const a = net.nodes.get('A')!;
  const c = a.mesh.lsdb.get('C')!;
  const b = a.mesh.lsdb.get('B')!;
  // C's links rewritten to pull routes through M, and a registration B does not serve put in
  // B's advertisement: newer numbers, so only the signature gives them away.
  const forgedC: Lsa = { ...c, seq: c.seq + 1000, links: ['M'] };
  const forgedB: Lsa = {
    ...b,
    seq: b.seq + 1000,
    realms: {
      realm1: {
        registrations: [
          { procedure: 'com.app.steal', match: 'exact', invoke: 'single', callees: [{ session: 1, features: [] }] },
        ],
        subscriptions: [],
      },
    },
  };
  // Signed by M: a valid signature, of the wrong key.
  const mKey = net.nodes.get('M')!.trust.key;
  t.is(net.inject('M', 'A', forgedC), 'sent');
  t.is(net.inject('M', 'A', signLsa(mKey, { ...forgedB, sig: undefined } as Lsa)), 'sent');
  net.run(100);
  t.like(a.mesh.status().trust, { refused: { forgedLsa: 2 } });
  t.is(a.mesh.lsdb.get('C')!.seq < c.seq + 1000, true, "C's advertisement is C's own");
  t.is(a.mesh.lsdb.get('B')!.seq < b.seq + 1000, true);
  t.true(
    net.warnings.some(
      (w) => w.startsWith('A: mesh: advertisement not signed by its origin') && w.includes('"peer":"M"'),
    ),
    net.warnings.join('\n'),
  );
  t.deepEqual(call(net, 'A', 'com.app.echo'), [50, 7, {}, ['hi']]);
  t.is(call(net, 'A', 'com.app.steal')?.[4], 'wamp.error.no_such_procedure');
  t.deepEqual(net.errors, [], 'the links stay up: honest traffic is not disturbed');
});

test('a node cannot admit itself: a stranger admitting its own key (flooded by a member) stays out', (t) => {
  const net = square();
  const stranger = NodeKey.generate();
  const selfAdmission = signStatement(stranger, 'X', 'admit', 'X', stranger.publicKey, net.clock.now);
  t.is(net.inject('M', 'A', selfAdmission), 'sent');
  const lsa = signLsa(stranger, { t: 'lsa', origin: 'X', epoch: 1, seq: 1, links: ['M'], realms: {} });
  t.is(net.inject('M', 'A', lsa), 'sent');
  net.run(500);
  for (const id of ['A', 'B', 'C']) {
    const n = net.nodes.get(id)!;
    t.is(n.trust.keyOf('X'), undefined, `${id} does not count X a member`);
    t.is(n.mesh.lsdb.get('X'), undefined);
  }
  t.like(net.nodes.get('A')!.mesh.status().trust, { refused: { unknownOrigin: 1 } });
});

test('a removed node: its links close, its routes vanish everywhere, and it cannot rejoin with the cluster secret', (t) => {
  const net = square();
  echo(net, 'M', 'com.m.echo');
  net.run(500);
  t.deepEqual(call(net, 'B', 'com.m.echo'), [50, 7, {}, ['hi']]);
  const mKey = net.nodes.get('M')!.trust.key;
  const removal = net.nodes.get('B')!.trust.remove('M');
  t.is(typeof removal, 'object');
  net.run(1000);
  t.false(net.hasLink('A', 'M'));
  t.false(net.hasLink('C', 'M'));
  for (const id of ['A', 'B', 'C']) {
    const n = net.nodes.get(id)!;
    t.false(n.mesh.lsdb.routes().has('M'), `${id} has no route to M`);
    t.is(n.mesh.lsdb.get('M'), undefined, `${id} dropped M's advertisement`);
    t.deepEqual(n.trust.status().removed, ['M']);
  }
  t.is(call(net, 'B', 'com.m.echo')?.[4], 'wamp.error.no_such_procedure');
  // M goes on dialing with the secret (every node here admits with it): refused every time.
  net.run(3000);
  t.false(net.hasLink('A', 'M'));
  t.true(net.refusals.some((r) => /M->[AC]: removed/.test(r)) || net.refusals.some((r) => /->M: removed/.test(r)));
  // Restarted, with its key or with a new one: still out.
  for (const key of [mKey, NodeKey.generate()]) {
    net.kill('M');
    net.nodes.delete('M');
    for (const id of ['A', 'C']) net.reach.get(id)!.delete('M');
    net.reach.delete('M');
    net.addNode('M', { key });
    net.connectSegment('A', 'M');
    net.connectSegment('M', 'C');
    net.run(3000);
    t.false(net.hasLink('A', 'M'));
    t.false(net.hasLink('C', 'M'));
    for (const id of ['A', 'B', 'C']) t.false(net.nodes.get(id)!.mesh.lsdb.routes().has('M'));
  }
  t.true(net.refusals.filter((r) => r.includes('removed')).length > 0);
});

test('removing the member that admitted a node first leaves that node a member: each node vouches for its neighbours', (t) => {
  const net = new SimNetwork(17);
  for (const id of ['A', 'M', 'C']) net.addNode(id);
  // C's first contact is M: M admits it (with the secret); A learns of C through M.
  net.connectSegment('A', 'M');
  net.connectSegment('M', 'C');
  net.run(2000);
  net.connectSegment('A', 'C');
  net.run(2000);
  t.true(net.hasLink('A', 'C'));
  // No admitting anew with the secret after a cut: the memberships must simply hold.
  for (const n of net.nodes.values()) n.trust.secretJoin = false;
  t.is(typeof net.nodes.get('A')!.trust.remove('M'), 'object');
  net.run(1000);
  for (const [id, other] of [
    ['A', 'C'],
    ['C', 'A'],
  ] as const) {
    const n = net.nodes.get(id)!;
    t.deepEqual(n.trust.status().removed, ['M'], id);
    t.deepEqual(Object.keys(n.trust.status().members), [other], `${id} still counts ${other} a member`);
    t.true(n.mesh.lsdb.routes().has(other));
  }
  t.true(net.hasLink('A', 'C'));
});

test('with secretJoin off, a new node is refused until an administrator admits it', (t) => {
  const net = new SimNetwork(5);
  for (const id of ['A', 'B']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.run(1000);
  t.true(net.hasLink('A', 'B'));
  net.nodes.get('A')!.trust.secretJoin = false;
  net.nodes.get('B')!.trust.secretJoin = false;
  net.addNode('N');
  net.connectSegment('A', 'N');
  net.run(2000);
  t.false(net.hasLink('A', 'N'));
  t.true(net.refusals.some((r) => r.includes('not-admitted')));
  const a = net.nodes.get('A')!;
  t.deepEqual(Object.keys(a.trust.status().pending), ['N']);
  t.is(typeof a.trust.admit('N'), 'object');
  net.run(2000);
  t.true(net.hasLink('A', 'N'));
  t.true(net.nodes.get('B')!.mesh.lsdb.routes().has('N'), 'B learned the admission and routes to N');
});
