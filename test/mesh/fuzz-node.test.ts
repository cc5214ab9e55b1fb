// Seeded fuzzing of what another router can send. Links authenticate their peer and (without
// TLS) tag every batch, so a relay in between is caught by integrity (links-integrity.test.ts); what is
// left is what a member router itself sends: a buggy, outdated or compromised one. The promise
// is the same as for clients: bad input ends that link with a reason (MeshNode.receive returns
// one, and MeshLinks closes the connection with it), never a crash, a hang or corrupted state.
//
//  Part 1, sans-IO: node A (Router + MeshNode + Replicator over its own SQLite security store)
//  has two neighbours: B, an honest MeshNode with a callee and a client, and F, driven by the
//  fuzz, which plays a member router: it advertises a callee and subscriptions, answers A's
//  calls, calls A's callee, calls B through A, publishes, replicates security records, forges
//  other nodes' traffic (advertisements of A and B, answers, chunks and cancels of calls
//  between A and B, calls under A's and B's next IDs), and sends all of that mutated at the
//  value level (wrong types, missing and extra fields, huge, negative and NaN numbers, BigInts,
//  unknown types and realms, origin = A, dst not A, IDs of live calls and sessions, absurd LSA
//  epochs/seqs/links, replication records with bad keys, values and HLCs) or at the byte level
//  (a mutated CBOR MESH payload, deep nesting, values our encoders never write). A's own
//  clients send such values too, as CBOR clients can. Checked after every step:
//   - receive() never throws; a reason ends the link (A.linkDown), and F dials again;
//   - every frame A sends (to B and to F) encodes and passes validateFrame; B never refuses one;
//   - A's clients (a callee, a subscriber and a caller, in CBOR and MsgPack; B's in JSON and
//     CBOR) are never closed and only get well-formed messages of the types a router sends,
//     with well-typed well-known details, and INTERRUPTs only for what they serve; every call
//     gets exactly one final answer; a call F cannot have answered (its route and callee are
//     B's or A's own) gets its own payload back; a local call is answered at once;
//   - the realms replicated records must not touch (the local ones) stay, and the store's
//     replication versions describe exactly what the store holds, in the HLC format.
//  Afterwards (F gone, its advertisements expired): no calls in flight, no proxies but B's, no
//  callers but B's, no pending invocations, no registrations, subscriptions or sessions left
//  once the clients leave, and a fresh call and publication cross A <-> B both ways.
//
//  The link's bytes: fuzz-link.test.ts. The harness: mesh-fuzz.ts.
//
// Seeds are fixed; FUZZ_EXTRA_SEEDS=n adds n more (a longer hunt; give ava --timeout=20m). A
// failure names the seed and the step: MESH_FUZZ_SEED=<seed> replays it, MESH_FUZZ_TRACE=1
// prints every frame and message. The regressions at the end are what the fuzz found.

import test from 'ava';
import { runSeeds, show } from '../helpers/fuzz-checks.ts';
import { decodeEnvelope, encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import { PassedFrame, type CallFrame } from '../../src/mesh/routing/frames.ts';
import { decodeEventContent, encodeEventContent, type EventContent } from '../../src/mesh/routing/event-content.ts';
import { cbor } from '../../src/serializers/index.ts';
import { PLACEHOLDER, undecodableCbor } from '../helpers/undecodable-cbor.ts';
import { A, B, F, MESH_STEPS, MeshFuzz, hlcOf, meshSeeds } from './mesh-fuzz.ts';

test('mesh: mutated frames from a member router never throw, end the link with a reason, and leave A, its clients and its store intact', (t) => {
  const started = performance.now();
  const totals: Record<string, number> = {};
  const reasons = new Map<string, number>();
  const accepted = new Map<string, number>();
  const failures = runSeeds(
    meshSeeds,
    MESH_STEPS,
    (seed) => new MeshFuzz(seed),
    (fuzz) => {
      for (const [k, v] of Object.entries(fuzz.stats)) totals[k] = (totals[k] ?? 0) + v;
      for (const [k, v] of fuzz.accepted) accepted.set(k, (accepted.get(k) ?? 0) + v);
      for (const r of fuzz.refusedLog) {
        const k = r.replace(/[0-9"].*$/, '');
        reasons.set(k, (reasons.get(k) ?? 0) + 1);
      }
    },
  );
  t.log(
    `${meshSeeds.length} seeds x ${MESH_STEPS} steps: ${show(totals)} in ${Math.round(performance.now() - started)} ms`,
  );
  t.log(`taken, by type: ${show([...accepted].sort())}`);
  t.log(`reasons: ${show([...reasons].sort((x, y) => y[1] - x[1]).slice(0, 12))}`);
  for (const f of failures) t.fail(f);
  if (failures.length === 0) t.pass();
});

// =================================================================================================
// Regressions: what the fuzz found, one case each
// =================================================================================================

/** A with its neighbours B and F linked, as the fuzz starts; `body` gets it, and it is disposed of after. */
function withMesh(body: (fuzz: MeshFuzz) => void): void {
  const fuzz = new MeshFuzz(0x3e5_0001);
  try {
    fuzz.setup();
    body(fuzz);
  } finally {
    fuzz.dispose();
  }
}

test('regression: well-known details and filters of other types, a details dict that is no plain map, a publication ID below 1 are refused', (t) => {
  withMesh((fuzz) => {
    const call = {
      t: 'call',
      origin: F,
      dst: A,
      id: 1,
      realm: 'realm1',
      procedure: 'com.local.echo',
      match: 'exact',
      session: fuzz.callee.sessionId,
      args: [],
    };
    const content: EventContent = {
      realm: 'realm1',
      topic: 'com.a.topic',
      publication: 7,
      timestamp: 1,
      details: {},
      retain: false,
    };
    // An event's content travels encoded and is checked where it is delivered.
    const checked = (c: object) => decodeEventContent(encodeEventContent(c as EventContent));
    t.is(fuzz.a.mesh.receive(F, { ...call, details: { receive_progress: { a: 1 } } }), 'call: bad fields');
    t.is(fuzz.a.mesh.receive(F, { ...call, details: { timeout: -1 } }), 'call: bad fields');
    t.is(checked({ ...content, details: { retained: 'yes' } }), 'event: bad content');
    t.is(checked({ ...content, details: /re/g }), 'event: bad content');
    t.is(checked({ ...content, publication: -1 }), 'event: bad content');
    // These threw out of receive(): the Broker read them as lists.
    t.is(checked({ ...content, filter: { exclude: 5 } }), 'event: bad content');
    t.is(checked({ ...content, filter: { eligible_authrole: 'user' } }), 'event: bad content');
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'result',
        origin: A,
        dst: A,
        id: 1,
        realm: 'realm1',
        progress: false,
        details: { ppt_scheme: 5 },
      }),
      'result: bad fields',
    );
    // Unknown keys pass, as do the right types.
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'event',
        src: F,
        ep: 1,
        dsts: [A],
        seqs: [1],
        lives: [fuzz.a.mesh.status().epoch as number],
        ttl: 32,
        ls: 1,
        b: encodeEventContent({
          ...content,
          details: { publisher: 5, x_custom: [1] },
          filter: { eligible: [fuzz.subscriber.sessionId], x: 1 },
        }),
      }),
      undefined,
    );
    t.is(fuzz.subscriber.inbox.filter((m) => m[0] === 36).length, 2);
  });
});

test('regression: answers, chunks and cancels of a call come only from its path; a neighbour it did not go through is ignored', (t) => {
  withMesh((fuzz) => {
    fuzz.bMayHold = false;
    const held: unknown[][] = [];
    // B's callee keeps its invocation for now: the call is in flight from A to B.
    fuzz.bCallee.out = (
      (original) => (m: unknown[]) =>
        m[0] === 70 ? void held.push(m) : original.call(fuzz.bCallee, m)
    )(fuzz.bCallee.out);
    const request = fuzz.call(fuzz.caller, 'com.b.echo');
    fuzz.settle();
    const callToB = fuzz.pool.findLast((f) => f.t === 'call' && f.dst === B)!;
    t.truthy(callToB);
    const id = (callToB as { id: number }).id;
    // F forges a cancel and an answer (the IDs are easy to guess): both dropped.
    t.is(
      fuzz.a.mesh.receive(F, { t: 'cancel', origin: A, dst: B, id, realm: 'realm1', mode: 'killnowait' }),
      undefined,
    );
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'result',
        origin: A,
        dst: A,
        id,
        realm: 'realm1',
        progress: false,
        details: {},
        args: ['forged'],
      }),
      undefined,
    );
    fuzz.settle();
    t.true(fuzz.outstanding.has(request), 'the caller is still waiting for B');
    t.is(fuzz.a.mesh.status().callsInFlight, 1);
    // B's real answer gets through, with B's payload (the fuzz checks the payload).
    delete (fuzz.bCallee as { out?: unknown }).out;
    for (const m of held) fuzz.bCallee.out(m);
    fuzz.settle();
    t.false(fuzz.outstanding.has(request));
    t.is(fuzz.a.mesh.status().callsInFlight, 0);
  });
});

test("regression: an advertisement of A's own, numbered near 2^53, is not followed: A's next advertisement stays valid", (t) => {
  withMesh((fuzz) => {
    const own = fuzz.pool.findLast((f) => f.t === 'lsa' && f.origin === A)!;
    t.is(fuzz.a.mesh.receive(F, { ...own, seq: Number.MAX_SAFE_INTEGER }), undefined);
    fuzz.settle(); // fails if A sends a frame its neighbours would refuse
    t.true((fuzz.a.mesh.status().seq as number) < 2 ** 52);
    // A previous life's advertisement (same epoch, a higher seq) is still superseded.
    t.is(fuzz.a.mesh.receive(F, { ...own, seq: 1_000 }), undefined);
    fuzz.settle();
    t.is(fuzz.a.mesh.status().seq, 1_001);
  });
});

test("regression: a remote callee advertised with the session ID of a local callee leaves the local one's registrations alone", (t) => {
  withMesh((fuzz) => {
    const lsa = fuzz.fLsa() as unknown as {
      realms: { realm1: { registrations: { callees: { session: number }[] }[] } };
    };
    lsa.realms.realm1.registrations[0]!.callees[0]!.session = fuzz.callee.sessionId;
    t.is(fuzz.a.mesh.receive(F, lsa), undefined);
    fuzz.settle();
    // F withdraws it: the proxy goes, and took the local callee's registrations out of the
    // Dealer's index with it, so they outlived the callee.
    t.is(fuzz.a.mesh.receive(F, fuzz.fLsa()), undefined);
    fuzz.settle();
    fuzz.callee.handler.closed();
    fuzz.settle();
    const regs = [...fuzz.a.router.realms.get('realm1')!.dealer.registrations()].map((r) => r.procedure).sort();
    t.deepEqual(regs, ['com.b.echo', 'com.f.echo']);
    // The meta API still names remote callees by their session on their node.
    const reg = fuzz.a.router.realms.get('realm1')!.dealer.match('com.b.echo')!;
    t.deepEqual(reg.callees[0]!.details(), { session: fuzz.bCallee.sessionId, node: B });
    const request = fuzz.nextRequest++;
    fuzz.caller.out([48, request, {}, 'wamp.registration.list_callees', [reg.id]]);
    t.deepEqual(fuzz.caller.inbox.splice(0), [[50, request, {}, [[fuzz.bCallee.sessionId]]]]);
  });
});

test("regression: replicated records dated far ahead are not applied, and A's versions keep their format", (t) => {
  withMesh((fuzz) => {
    const store = fuzz.a.security!.store;
    const realm = {
      uri: 'com.fuzz.late',
      description: '',
      authmethods: ['ticket'],
      security_enabled: true,
      allow_connections: true,
    };
    const push = (hlc: string, uri: string) =>
      fuzz.a.mesh.receive(F, {
        t: 'repl-push',
        records: [{ key: `realm|${uri}`, hlc, node: F, deleted: false, value: { ...realm, uri } }],
      });
    // "999999999999999.999999" was followed by "999999999999999.1000000", which every peer refused.
    t.is(push('999999999999999.999999', 'com.fuzz.late'), undefined);
    t.is(push(hlcOf(fuzz.clock.now + 2 * 366 * 24 * 3600_000), 'com.fuzz.late2'), undefined);
    fuzz.settle();
    t.is(store.getRealm('com.fuzz.late'), undefined);
    t.is(store.getRealm('com.fuzz.late2'), undefined);
    // Within the horizon, a record is applied and its clock followed; the counter carries into
    // the milliseconds instead of growing a seventh digit.
    t.is(push(hlcOf(fuzz.clock.now + 3600_000, 999_999), 'com.fuzz.soon'), undefined);
    fuzz.settle();
    t.truthy(store.getRealm('com.fuzz.soon'));
    store.createRealm({ uri: 'com.fuzz.mine', authmethods: ['ticket'] });
    fuzz.settle(); // fails if A pushes a version its neighbours would refuse
    const row = fuzz.a
      .db!.prepare<[string], { hlc: string }>('SELECT hlc FROM replica_version WHERE key = ?')
      .get('realm|com.fuzz.mine');
    t.is(row?.hlc, hlcOf(fuzz.clock.now + 3600_000 + 1, 0));
  });
});

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

test("regression: an answer for a call naming another realm than the call's is ignored; the call still gets its own", (t) => {
  withMesh((fuzz) => {
    const request = fuzz.call(fuzz.caller, 'com.f.echo');
    fuzz.settle();
    const call = fuzz.pool.findLast((f) => f.t === 'call' && f.dst === F) as { id: number } | undefined;
    t.truthy(call);
    // It ended the call here and reached no Dealer: the caller waited for good.
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'result',
        origin: A,
        dst: A,
        id: call!.id,
        realm: 'realm2',
        progress: false,
        details: {},
        args: [],
      }),
      undefined,
    );
    fuzz.settle();
    t.is(fuzz.a.mesh.status().callsInFlight, 1);
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'result',
        origin: A,
        dst: A,
        id: call!.id,
        realm: 'realm1',
        progress: false,
        details: {},
        args: ['from F'],
      }),
      undefined,
    );
    fuzz.settle();
    t.false(fuzz.outstanding.has(request));
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

test('regression: a result the Dealer refuses reaches the caller as an error, not silence', (t) => {
  withMesh((fuzz) => {
    const request = fuzz.call(fuzz.caller, 'com.f.echo');
    fuzz.settle();
    const call = fuzz.pool.findLast((f) => f.t === 'call' && f.dst === F) as { id: number };
    // Payload passthru takes one argument and no keyword arguments: the Dealer refused this
    // one, and nothing told the caller.
    t.is(
      fuzz.a.mesh.receive(F, {
        t: 'result',
        origin: A,
        dst: A,
        id: call.id,
        realm: 'realm1',
        progress: false,
        details: { ppt_scheme: 'x_custom' },
        args: [1],
        kwargs: { k: 1 },
      }),
      undefined,
    );
    const answer = fuzz.caller.inbox.find((m) => m[0] === 8 && m[2] === request);
    fuzz.settle();
    t.like(answer, { 4: 'wamp.error.invalid_argument' });
    t.false(fuzz.outstanding.has(request));
    t.is(fuzz.a.router.realms.get('realm1')!.dealer.pendingCount, 0);
  });
});

test('a call passed on through A is read only as far as its header: A passes on a payload no decoder takes, B refuses it with an error to the caller, and both links stay up', (t) => {
  withMesh((fuzz) => {
    // F calls B's callee through A; its one argument is an indefinite-length text string,
    // which the CBOR decoder refuses: A must not decode it to pass it on.
    const call = {
      t: 'call',
      origin: F,
      dst: B,
      id: 4242,
      realm: 'realm1',
      procedure: 'com.b.echo',
      match: 'exact',
      session: fuzz.bCallee.sessionId,
      details: {},
      args: [PLACEHOLDER],
    };
    const bytes = undecodableCbor([call]);
    t.throws(() => cbor.decode(bytes));
    const frames = decodeEnvelope(bytes);
    t.true(Array.isArray(frames) && frames[0] instanceof PassedFrame);
    const invocations = fuzz.stats.invocations;
    t.is(fuzz.a.mesh.receive(F, (frames as unknown[])[0]), undefined);
    fuzz.settle();
    t.true(fuzz.linked(A, F) && fuzz.linked(A, B));
    t.is(fuzz.stats.invocations, invocations, 'not invoked');
    const answer = fuzz.pool.findLast((f) => f.t === 'error' && f.id === 4242);
    t.like(answer, { origin: F, error: 'wamp.error.network_failure' });
    t.regex(String((answer as { args: unknown[] }).args[0]), /invalid call frame refused at B/);
    // The same call with a payload that decodes goes through as before.
    const good = decodeEnvelope(encodeEnvelope([{ ...call, id: 4243 } as CallFrame]));
    t.is(fuzz.a.mesh.receive(F, (good as unknown[])[0]), undefined);
    fuzz.settle();
    t.is(fuzz.stats.invocations, invocations + 1, 'invoked on B');
    t.like(
      fuzz.pool.findLast((f) => f.t === 'call' && f.id === 4243),
      { origin: F, dst: B, args: ['PLACEHOLDER'] },
    );
  });
});
