// A caller's identity on a call forwarded through the mesh, under the deterministic simulator:
// bound by the caller's node, disclosed only as the callee's realm says, checked against its
// grants, and refused when a member forges or alters it.

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { PassedFrame, type CallFrame } from '../../src/mesh/routing/frames.ts';
import type { Authorizer } from '../../src/router/auth.ts';
import type { SimNetwork } from './sim.ts';
import { call, line } from './trust-harness.ts';

/** A callee on `node` registered for `procedure` that answers with the INVOCATION's details. */
function detailsEcho(net: SimNetwork, node: string, procedure: string): { invocations: unknown[][] } {
  const c = new MemoryClient(net.nodes.get(node)!.router);
  c.join('realm1');
  c.send([64, 1, {}, procedure]);
  const seen = { invocations: [] as unknown[][] };
  const loop = () => {
    for (const m of c.take())
      if (m[0] === 68) {
        seen.invocations.push(m);
        c.send([70, m[1], {}, [m[3]]]);
      }
    net.clock.setTimeout(loop, 1);
  };
  loop();
  return seen;
}

test("a forwarded call carries its caller's identity as the caller's node bound it; the callee's node hands it on only if disclosed", (t) => {
  const net = line();
  detailsEcho(net, 'C', 'com.app.who');
  net.run(500);
  const caller = new MemoryClient(net.nodes.get('A')!.router);
  const session = caller.join('realm1');
  caller.send([48, 1, {}, 'com.app.who', []]);
  caller.send([48, 2, { disclose_me: true }, 'com.app.who', []]);
  net.run(200);
  const results = caller.take().filter((m) => m[0] === 50);
  t.deepEqual(results[0], [50, 1, {}, [{}]], 'undisclosed: nothing about the caller');
  const disclosed = (results[1]![3] as Record<string, unknown>[])[0]!;
  t.is(disclosed.caller, session);
  t.is(disclosed.caller_authrole, 'anonymous');
  t.is(typeof disclosed.caller_authid, 'string');
});

test("the callee's node applies its realm's grants to the original caller", (t) => {
  const authorizer: Authorizer = {
    authorize: (r) => !(r.action === 'call' && r.uri === 'com.app.secret' && r.authrole === 'anonymous'),
  };
  const net = line({ authorizer });
  detailsEcho(net, 'C', 'com.app.secret');
  net.run(500);
  const answer = call(net, 'A', 'com.app.secret');
  t.is(answer?.[0], 8);
  t.is(answer?.[4], 'wamp.error.not_authorized');
});

test('a member forwarding a call with a forged or altered caller identity is refused and logged; honest calls go on', (t) => {
  const net = line();
  const callee = detailsEcho(net, 'C', 'com.app.who');
  net.run(500);
  const honest: CallFrame[] = [];
  net.tap = (_from, _to, frame) => {
    if (frame.t === 'call' && !(frame instanceof PassedFrame) && frame.origin === 'A') honest.push(frame);
  };
  t.is(call(net, 'A', 'com.app.who')?.[0], 50);
  net.tap = undefined;
  const original = honest[0]!;
  t.is(original.who?.[2], 'anonymous');
  t.is(callee.invocations.length, 1);
  // From M, which is on no path between A and C: a call "of A" by an admin, with A's tag of
  // another call; A's honest call with its identity changed; and one with no tag at all.
  const forged: CallFrame[] = [
    { ...original, id: 9001, who: [1, 'admin', 'admin', true] },
    { ...original, id: original.id, who: [original.who![0], 'admin', 'admin', true] },
    { ...original, id: 9002, who: [1, 'admin', 'admin', true], mac: undefined },
  ];
  for (const frame of forged) t.is(net.inject('M', 'B', frame), 'sent');
  net.run(500);
  t.is(callee.invocations.length, 1, 'the callee was never invoked for them');
  t.like(net.nodes.get('C')!.mesh.status().trust, { refused: { callerIdentity: 3 } });
  t.true(
    net.warnings.some((w) => w.startsWith('C: mesh: call refused') && w.includes('"origin":"A"')),
    net.warnings.join('\n'),
  );
  t.is(call(net, 'A', 'com.app.who')?.[0], 50, 'honest calls still answered');
  // The tag does not cover the call ID (origin-identity.ts says why): A's call under a new ID is
  // taken, as the same frame passed on again after its answer would be.
  t.is(net.inject('M', 'B', { ...original, id: 9003 }), 'sent');
  net.run(500);
  t.is(callee.invocations.length, 3);
  t.like(net.nodes.get('C')!.mesh.status().trust, { refused: { callerIdentity: 3 } });
  t.deepEqual(net.errors, []);
});
