// Node deaths and partitions under the deterministic simulator (sim.ts): calls in flight fail
// promptly, new ones go around the dead node, and a healed partition converges again.

import test from 'ava';
import { randomTopology, SimNetwork } from './sim.ts';
import { client, converged, register, serve, subscribe } from './simulation-harness.ts';

test('a node dying mid-call: the caller gets wamp.error.network_failure promptly, the callee runs once; the mesh heals', (t) => {
  const net = new SimNetwork(7);
  for (const id of ['A', 'B', 'C', 'D']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('C', 'D');
  net.run(2000);
  const a = client(net.nodes.get('A')!);
  const d = client(net.nodes.get('D')!);
  const invocations = new Map<string, number>();
  register(d, 'com.app.slow');
  serve(net, d, invocations, 1000);
  net.run(200);
  a.send([48, 1, {}, 'com.app.slow', ['x']]);
  net.run(100);
  const killedAt = net.clock.now;
  net.kill('C');
  let answer: unknown[] | undefined;
  for (let i = 0; i < 100 && answer === undefined; i++) {
    net.run(10);
    answer = a.take().find((m) => m[0] === 8 || m[0] === 50);
  }
  t.truthy(answer);
  t.is(answer![0], 8);
  t.is(answer![4], 'wamp.error.network_failure');
  t.true(net.clock.now - killedAt < 100, `answered ${net.clock.now - killedAt} ms after the failure`);
  net.run(2000);
  t.deepEqual([...invocations.values()], [1]);
  a.send([48, 2, {}, 'com.app.slow', ['y']]);
  net.run(100);
  t.is(
    a.take().find((m) => m[0] === 8)?.[4],
    'wamp.error.no_such_procedure',
    'with no path left, the procedure is gone',
  );
  // C comes back: a new node process with a new epoch, and the node key kept in its data folder.
  const key = net.nodes.get('C')!.trust.key;
  net.nodes.delete('C');
  net.reach.get('B')!.delete('C');
  net.reach.get('D')!.delete('C');
  net.reach.delete('C');
  net.addNode('C', { key });
  net.connectSegment('B', 'C');
  net.connectSegment('C', 'D');
  net.run(3000);
  t.is(converged(net), undefined);
  a.send([48, 3, {}, 'com.app.slow', ['z']]);
  net.run(2000);
  t.deepEqual(
    a.take().filter((m) => m[0] === 50),
    [[50, 3, {}, ['z']]],
  );
});

test('ring of six: killing a node reroutes new calls around it without errors', (t) => {
  const net = new SimNetwork(11);
  const ids = ['R0', 'R1', 'R2', 'R3', 'R4', 'R5'];
  for (const id of ids) net.addNode(id);
  for (let i = 0; i < 6; i++) net.connectSegment(ids[i]!, ids[(i + 1) % 6]!);
  net.run(3000);
  const caller = client(net.nodes.get('R0')!);
  const callee = client(net.nodes.get('R3')!);
  const invocations = new Map<string, number>();
  register(callee, 'com.app.ring');
  serve(net, callee, invocations);
  net.run(300);
  net.kill('R1');
  net.run(500);
  t.is(converged(net), undefined);
  for (let i = 1; i <= 20; i++) caller.send([48, i, {}, 'com.app.ring', [i]]);
  net.run(500);
  const answers = caller.take();
  t.is(answers.filter((m) => m[0] === 50).length, 20);
  t.is(answers.filter((m) => m[0] === 8).length, 0);
});

test('a partition heals: routes converge again and events flow across', (t) => {
  const net = new SimNetwork(3);
  const ids = randomTopology(net, 12, 4);
  net.run(3000);
  // Cut every physical path between the two halves, then restore them.
  const cut = net.links().filter(([a, b]) => ids.indexOf(a) < 6 !== ids.indexOf(b) < 6);
  const segments = [...net.reach].flatMap(([a, set]) =>
    [...set].filter((b) => a < b && ids.indexOf(a) < 6 !== ids.indexOf(b) < 6).map((b) => [a, b] as const),
  );
  for (const [a, b] of segments) net.partition(a, b);
  net.run(3000);
  t.is(converged(net), undefined, 'converged while partitioned');
  t.true(cut.length >= 0);
  for (const [a, b] of segments) net.connectSegment(a, b);
  net.run(5000);
  t.is(converged(net), undefined, 'converged after healing');
  const sub = client(net.nodes.get(ids[0]!)!);
  subscribe(sub, 'com.app.heal');
  net.run(300);
  const pub = client(net.nodes.get(ids[11]!)!);
  pub.send([16, 1, {}, 'com.app.heal', ['ok']]);
  net.run(300);
  t.is(sub.take().filter((m) => m[0] === 36).length, 1);
});
