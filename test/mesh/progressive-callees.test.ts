// Progressive results from a callee on another router that announces progressive_call_results
// but not call_canceling (Autobahn|JS): both routers apply the same rule as a stand-alone one
// (README "Where the router departs from the letter of the spec").

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { MessageType as T } from '../../src/wamp/messages.ts';
import { SimNetwork } from './sim.ts';

const autobahnJsCallee = { callee: { features: { caller_identification: true, progressive_call_results: true } } };
const caller = { caller: { features: { call_canceling: true, progressive_call_results: true } } };

test('a callee on B without call_canceling streams to a caller on A; a CANCEL from A is skip: no INTERRUPT crosses the mesh', (t) => {
  const net = new SimNetwork(21);
  net.addNode('A');
  net.addNode('B');
  net.connectSegment('A', 'B');
  net.run(2000);
  const join = (id: string, roles: Record<string, unknown>) => {
    const c = new MemoryClient(net.nodes.get(id)!.router);
    c.join('realm1', { roles });
    return c;
  };
  const b = join('B', autobahnJsCallee);
  const a = join('A', caller);
  b.send({ type: T.REGISTER, request: 1, options: {}, procedure: 'com.app.stream' });
  t.is(b.take()[0]?.[0], T.REGISTERED);
  net.run(200);

  a.send({ type: T.CALL, request: 1, options: { receive_progress: true }, procedure: 'com.app.stream' });
  net.run(20);
  const [invocation] = b.take();
  t.is(invocation?.[0], T.INVOCATION);
  t.is(
    (invocation![3] as Record<string, unknown>).receive_progress,
    true,
    'the INVOCATION on B carries receive_progress',
  );
  const request = invocation![1] as number;
  b.send({ type: T.YIELD, request, options: { progress: true }, args: [1] });
  b.send({ type: T.YIELD, request, options: { progress: true }, args: [2] });
  net.run(20);
  t.deepEqual(a.take(), [
    [T.RESULT, 1, { progress: true }, [1]],
    [T.RESULT, 1, { progress: true }, [2]],
  ]);

  a.send({ type: T.CANCEL, request: 1, options: { mode: 'killnowait' } });
  t.deepEqual(
    a.take().map((m) => [m[0], m[4]]),
    [[T.ERROR, 'wamp.error.canceled']],
    'A answers the caller at once',
  );
  net.run(20);
  t.deepEqual(b.take(), [], 'no INTERRUPT reaches the callee');
  b.send({ type: T.YIELD, request, options: { progress: true }, args: [3] });
  b.send({ type: T.YIELD, request, options: {}, args: ['done'] });
  net.run(20);
  t.deepEqual(a.take(), [], "the callee's later YIELDs are discarded");
  for (const id of ['A', 'B']) t.is(net.nodes.get(id)!.mesh.status().callsInFlight, 0, `${id} holds no calls`);
});
