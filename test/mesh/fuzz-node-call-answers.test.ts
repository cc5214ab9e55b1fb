// Regressions the mesh fuzz (fuzz-node.test.ts) found in a call's answers and payload on its
// path: only its path may answer, in its own realm; refused results and unreadable payloads
// still reach the caller as errors.

import test from 'ava';
import { decodeEnvelope, encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import { PassedFrame, type CallFrame } from '../../src/mesh/routing/frames.ts';
import { cbor } from '../../src/serializers/index.ts';
import { PLACEHOLDER, undecodableCbor } from '../helpers/undecodable-cbor.ts';
import { A, B, F, withMesh } from './mesh-fuzz.ts';

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
