// Regressions the mesh fuzz (fuzz-node.test.ts) found in what A takes from a member router into
// its state: details and filters of other types, its own advertisement, callees' session IDs,
// replicated records dated far ahead.

import test from 'ava';
import { decodeEventContent, encodeEventContent, type EventContent } from '../../src/mesh/routing/event-content.ts';
import { A, B, F, hlcOf, withMesh } from './mesh-fuzz.ts';

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
