// Regressions the mesh fuzz (fuzz-node.test.ts) found in the IDs and origins of calls between
// nodes: a node ID holding the key separator, an ID another node's call holds, a forged origin A.

import test from 'ava';
import { A, B, F, withMesh } from './mesh-fuzz.ts';

test('regression: a call from a node ID holding the key separator, cut off when its link goes down, is canceled with its own ID', (t) => {
  withMesh((fuzz) => {
    fuzz.bMayHold = false;
    const origin = 'F\u00001';
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'call',
        origin,
        dst: B,
        id: 5,
        realm: 'realm1',
        procedure: 'com.b.echo',
        match: 'exact',
        session: fuzz.bCallee.sessionId,
        details: { progress: true },
        args: [],
      }),
      undefined,
    );
    fuzz.settle(); // B's callee holds the progressive invocation
    t.is(fuzz.a.mesh.status().callsInFlight, 1);
    fuzz.fLinkDown();
    fuzz.settle(); // fails if B refuses the cancel A sends it (it had ID NaN)
    const cancel = fuzz.pool.findLast((f) => f.t === 'cancel');
    t.like(cancel, { origin, dst: B, id: 5 });
    t.is(fuzz.a.mesh.status().callsInFlight, 0);
  });
});

test("regression: a call under an ID another node's call holds here is refused with an error, not dropped", (t) => {
  withMesh((fuzz) => {
    // F calls A's callee under B's next call IDs (sequential from 1), progressive: they last.
    for (let id = 1; id <= 3; id++) {
      t.is(
        fuzz.a.mesh.receive(F, {
          t: 'call',
          origin: B,
          dst: A,
          id,
          realm: 'realm1',
          procedure: 'com.local.echo',
          match: 'exact',
          session: fuzz.callee.sessionId,
          details: { progress: true },
        }),
        undefined,
      );
    }
    fuzz.settle();
    // B's own call with one of those IDs was dropped as a duplicate: its caller waited for good.
    const request = fuzz.call(fuzz.bClient, 'com.local.echo');
    fuzz.settle();
    t.false(fuzz.outstanding.has(request), 'answered');
    t.like(
      fuzz.pool.findLast((f) => f.t === 'error'),
      { origin: B, error: 'wamp.error.network_failure' },
    );
    // A repeat from the way a call came is still a duplicate: not invoked twice, not answered.
    const invocations = fuzz.stats.invocations;
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'call',
        origin: B,
        dst: A,
        id: 1,
        realm: 'realm1',
        procedure: 'com.local.echo',
        match: 'exact',
        session: fuzz.callee.sessionId,
        details: { progress: true },
      }),
      undefined,
    );
    fuzz.settle();
    t.is(fuzz.stats.invocations, invocations);
  });
});

test("regression: a call claiming to come from A, which A never made, is not passed on under the ID of A's next call", (t) => {
  withMesh((fuzz) => {
    fuzz.bMayHold = false;
    // A numbers its calls from 1; F takes the next ones, through A to B, progressive: they last.
    for (let id = 1; id <= 3; id++) {
      t.is(
        fuzz.a.mesh.receive(F, {
          t: 'call',
          origin: A,
          dst: B,
          id,
          realm: 'realm1',
          procedure: 'com.b.echo',
          match: 'exact',
          session: fuzz.bCallee.sessionId,
          details: { progress: true },
        }),
        undefined,
      );
    }
    fuzz.settle();
    t.is(fuzz.a.mesh.status().callsInFlight, 0);
    // B dropped A's real call as a duplicate of the forged one: A's caller waited for good.
    const request = fuzz.call(fuzz.caller, 'com.b.echo');
    fuzz.settle();
    t.false(fuzz.outstanding.has(request), 'answered');
  });
});
