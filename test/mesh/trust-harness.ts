// Shared by the trust-*.test.ts files: networks of simulated nodes (sim.ts) with a member M whose
// frames the tests write, and a call made from a fresh session.

import { MemoryClient } from '../helpers/memory-peer.ts';
import type { Authorizer } from '../../src/router/auth.ts';
import { SimNetwork } from './sim.ts';

/** Calls `procedure` from a new session on `node`; the answer (RESULT or ERROR) once it comes. */
export function call(net: SimNetwork, node: string, procedure: string): unknown[] | undefined {
  const c = new MemoryClient(net.nodes.get(node)!.router);
  c.join('realm1');
  c.send([48, 7, {}, procedure, ['hi']]);
  for (let i = 0; i < 100; i++) {
    net.run(10);
    const answer = c.take().find((m) => m[0] === 50 || m[0] === 8);
    if (answer !== undefined) return answer;
  }
  return undefined;
}

/** A-B-C in a line; M linked to B only (a member on no path between A and C). */
export function line(options: { authorizer?: Authorizer } = {}): SimNetwork {
  const net = new SimNetwork(13);
  net.addNode('A');
  net.addNode('B');
  net.addNode('C', options);
  net.addNode('M');
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.connectSegment('B', 'M');
  net.run(2000);
  return net;
}
