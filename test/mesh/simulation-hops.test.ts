// The mesh under the deterministic simulator (sim.ts): calls and events across several hops,
// and a callee's registrations reachable from afar and gone when it leaves.

import test from 'ava';
import { SimNetwork } from './sim.ts';
import { client, converged, register, serve, subscribe } from './simulation-harness.ts';

test('chain A-B-C-D: a call from A reaches a callee on D and returns; events cross three hops', (t) => {
  const net = new SimNetwork(1);
  for (const id of ['A', 'B', 'C', 'D']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('C', 'D');
  net.run(2000);
  t.is(converged(net), undefined);
  const [a, b, d] = [client(net.nodes.get('A')!), client(net.nodes.get('B')!), client(net.nodes.get('D')!)];
  const invocations = new Map<string, number>();
  register(d, 'com.app.echo');
  serve(net, d, invocations);
  subscribe(a, 'com.app.news');
  net.run(200);
  a.send([48, 7, {}, 'com.app.echo', ['hi']]);
  net.run(200);
  t.deepEqual(
    a.take().filter((m) => m[0] === 50),
    [[50, 7, {}, ['hi']]],
  );
  d.send([16, 1, {}, 'com.app.news', ['from D']]);
  b.send([16, 1, {}, 'com.app.news', ['from B']]);
  net.run(200);
  t.deepEqual(
    a
      .take()
      .filter((m) => m[0] === 36)
      .map((m) => (m[4] as string[])[0])
      .sort(),
    ['from B', 'from D'],
  );
  t.deepEqual(net.errors, []);
});

test('a callee with several registrations is reachable through each from another node, and leaves none behind', (t) => {
  // Remote callees were proxied per session: a callee's second registration replaced its
  // first, which other nodes then answered with no_such_procedure (found while fixing what
  // test/mesh/fuzz-*.test.ts found: proxies sharing a session ID).
  const net = new SimNetwork(3);
  for (const id of ['A', 'B']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.run(2000);
  const [a, b] = [client(net.nodes.get('A')!), client(net.nodes.get('B')!)];
  register(b, 'com.app.one');
  register(b, 'com.app.two');
  register(b, 'com.app', { match: 'prefix' });
  serve(net, b, new Map());
  net.run(200);
  t.is(net.nodes.get('A')!.mesh.status().remoteCallees, 3);
  for (const [i, procedure] of ['com.app.one', 'com.app.two', 'com.app.three'].entries())
    a.send([48, i + 1, {}, procedure, [procedure]]);
  net.run(200);
  t.deepEqual(
    a.take().map((m) => [m[0], m[1], m[3]]),
    [
      [50, 1, ['com.app.one']],
      [50, 2, ['com.app.two']],
      [50, 3, ['com.app.three']],
    ],
  );
  b.handler.closed();
  net.run(200);
  t.is(net.nodes.get('A')!.mesh.status().remoteCallees, 0);
  t.is(net.nodes.get('A')!.router.realms.get('realm1')!.dealer.registrationCount, 0);
});
