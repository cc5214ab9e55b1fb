// Chunks of a progressive call whose callee, on another router, has already answered (spec
// "Progressive Call Invocations", "Continuations on Completed Calls"; src/router/ended-calls.ts):
// the caller's own router drops them, and one already on its way when the call ended is dropped
// by the callee's router, whose hop of the call is gone. No chunk starts a call anywhere.

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { MessageType as T } from '../../src/wamp/messages.ts';
import { SimNetwork } from './sim.ts';

const features = { progressive_call_invocations: true, call_canceling: true };
const PROCEDURE = 'com.app.upload';

test('a callee on B answers while the caller on A streams: later chunks reach no callee on any node, and get no answer', (t) => {
  const net = new SimNetwork(22);
  net.addNode('A');
  net.addNode('B');
  net.connectSegment('A', 'B');
  net.run(2000);
  const join = (id: string) => {
    const c = new MemoryClient(net.nodes.get(id)!.router);
    c.join('realm1', {
      roles: { caller: { features }, callee: { features: { ...features, shared_registration: true } } },
    });
    return c;
  };
  const callees = [join('B'), join('B')];
  for (const c of callees) {
    c.send({ type: T.REGISTER, request: 1, options: { invoke: 'roundrobin' }, procedure: PROCEDURE });
    t.is(c.take()[0]?.[0], T.REGISTERED);
  }
  const caller = join('A');
  net.run(200);

  caller.send({ type: T.CALL, request: 1, options: { progress: true }, procedure: PROCEDURE, args: ['c1'] });
  net.run(20);
  const chosen = callees.find((c) => c.received.length > 0)!;
  const [invocation] = chosen.take();
  t.is(invocation?.[0], T.INVOCATION);
  // The callee has enough; the caller's next chunk is already on its way.
  chosen.send({ type: T.YIELD, request: invocation![1] as number, options: {}, args: ['enough'] });
  caller.send({ type: T.CALL, request: 1, options: { progress: true }, procedure: PROCEDURE, args: ['c2'] });
  net.run(20);
  t.deepEqual(caller.take(), [[T.RESULT, 1, {}, ['enough']]]);
  // And more after the result came back, the final chunk last.
  caller.send({ type: T.CALL, request: 1, options: { progress: true }, procedure: PROCEDURE, args: ['c3'] });
  caller.send({ type: T.CALL, request: 1, options: {}, procedure: PROCEDURE, args: ['last'] });
  net.run(20);
  for (const c of callees) t.deepEqual(c.take(), [], 'no INVOCATION at either callee');
  t.deepEqual(caller.take(), [], 'no second answer');
  for (const id of ['A', 'B']) {
    const node = net.nodes.get(id)!;
    t.is(node.mesh.status().callsInFlight, 0, `${id} holds no calls`);
    t.is(node.router.realms.get('realm1')!.dealer.pendingCount, 0);
    t.is(node.router.realms.get('realm1')!.dealer.endedCount, 0, `${id} remembers nothing of the call`);
  }

  // A new call under a new request ID works, at the other callee (roundrobin moved once).
  caller.send({ type: T.CALL, request: 2, options: {}, procedure: PROCEDURE, args: ['new'] });
  net.run(20);
  const other = callees.find((c) => c !== chosen)!;
  const [next] = other.take();
  t.deepEqual(next?.[4], ['new']);
  other.send({ type: T.YIELD, request: next![1] as number, options: {}, args: ['ok'] });
  net.run(20);
  t.deepEqual(caller.take(), [[T.RESULT, 2, {}, ['ok']]]);
});
