// Frames too large for a link, under the deterministic simulator (sim.ts): every call shape is
// answered at once wherever on the path the link is too small; events are dropped.

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { SimNetwork } from './sim.ts';
import { converged, register, subscribe } from './simulation-harness.ts';

test(
  'frames too large for a link: every call shape is answered at once with ' +
    'wamp.error.payload_size_exceeded; the callee side is stopped; events are dropped',
  (t) => {
    // A - B - C, where A and C accept frames up to 64 KiB and B takes anything: each kind of
    // frame meets a too-small link either on its first hop (where the Dealer answers) or further on.
    const net = new SimNetwork(5);
    for (const id of ['A', 'B', 'C']) net.addNode(id);
    net.maxFrameBytes.set('A', 65_536);
    net.maxFrameBytes.set('C', 65_536);
    net.connectSegment('A', 'B');
    net.connectSegment('B', 'C');
    net.run(2000);
    t.is(converged(net), undefined);
    const roles = {
      caller: {
        features: { call_canceling: true, progressive_call_results: true, progressive_call_invocations: true },
      },
      callee: {
        features: { call_canceling: true, progressive_call_results: true, progressive_call_invocations: true },
      },
      publisher: {},
      subscriber: {},
    };
    const join = (id: string) => {
      const c = new MemoryClient(net.nodes.get(id)!.router);
      c.join('realm1', { roles });
      return c;
    };
    const [a, b, c] = [join('A'), join('B'), join('C')];
    const big = 'x'.repeat(100_000);
    register(c, 'com.app.c');
    register(b, 'com.app.b');
    subscribe(a, 'com.app.news');
    net.run(200);
    const errorFor = (client: MemoryClient, request: number) =>
      client.received.find((m) => m[0] === 8 && m[1] === 48 && m[2] === request);
    const tooLarge = (client: MemoryClient, request: number, what: string) => {
      const answer = errorFor(client, request);
      t.is(answer?.[4], 'wamp.error.payload_size_exceeded', `${what}: ${JSON.stringify(answer)?.slice(0, 200)}`);
    };
    const invocations = (callee: MemoryClient) => callee.take().filter((m) => m[0] === 68);

    // A CALL too large for the first hop (B -> C): the Dealer on B answers synchronously.
    b.send([48, 1, {}, 'com.app.c', [big]]);
    tooLarge(b, 1, 'first hop');
    // Too large for a later hop (A -> B -> C): B answers, one hop's delay later.
    a.send([48, 2, {}, 'com.app.c', [big]]);
    net.run(20);
    tooLarge(a, 2, 'second hop');
    t.deepEqual(invocations(c), [], 'the callee never saw either call');

    // A RESULT too large for the first hop back (callee on B, caller on A) and for a later one
    // (callee on C, caller on A: C -> B is fine, B -> A is not).
    a.send([48, 3, {}, 'com.app.b', ['small']]);
    a.send([48, 4, {}, 'com.app.c', ['small']]);
    net.run(20);
    for (const [callee] of [
      [b, 3],
      [c, 4],
    ] as const) {
      const inv = invocations(callee);
      t.is(inv.length, 1);
      callee.send([70, inv[0]![1], {}, [big]]);
    }
    net.run(20);
    tooLarge(a, 3, 'result, first hop back');
    tooLarge(a, 4, 'result, second hop back');
    // An ERROR with a huge payload is replaced the same way.
    a.send([48, 5, {}, 'com.app.c', ['small']]);
    net.run(20);
    c.send([8, 68, invocations(c)[0]![1], {}, 'com.app.error.broken', [big]]);
    net.run(20);
    tooLarge(a, 5, 'error payload');
    t.regex(String((errorFor(a, 5)![5] as string[])[0]), /com\.app\.error\.broken/);

    // Progressive results: the first is small and arrives; a huge one ends the call for the caller
    // and interrupts the callee, on the first hop back (B) and on a later one (C, via B).
    for (const [callee, request, procedure] of [
      [b, 6, 'com.app.b'],
      [c, 7, 'com.app.c'],
    ] as const) {
      a.send([48, request, { receive_progress: true }, procedure, ['stream']]);
      net.run(20);
      const inv = invocations(callee)[0]!;
      callee.send([70, inv[1], { progress: true }, ['part 1']]);
      net.run(20);
      t.deepEqual(
        a.received.find((m) => m[0] === 50 && m[1] === request),
        [50, request, { progress: true }, ['part 1']],
      );
      callee.send([70, inv[1], { progress: true }, [big]]);
      net.run(20);
      tooLarge(a, request, `progressive result via ${procedure}`);
      const interrupt = callee.take().find((m) => m[0] === 69);
      t.is(interrupt?.[1], inv[1], `${procedure}: the callee was interrupted`);
      callee.send([70, inv[1], {}, ['late final result']]);
      net.run(20);
      t.is(
        a.received.filter(
          (m) =>
            (m[0] === 50 && m[1] === request && !(m[2] as { progress?: boolean }).progress) ||
            (m[0] === 8 && m[2] === request),
        ).length,
        1,
        'exactly one final answer',
      );
    }

    // Progressive invocations: a huge chunk ends the call, on the first hop (B -> C) and on a later one (A -> B -> C).
    for (const [caller, request] of [
      [b, 8],
      [a, 9],
    ] as const) {
      caller.send([48, request, { progress: true }, 'com.app.c', ['chunk 1']]);
      net.run(20);
      const inv = invocations(c)[0]!;
      caller.send([48, request, { progress: true }, 'com.app.c', [big]]);
      net.run(20);
      tooLarge(caller, request, `progressive invocation from ${request === 8 ? 'B' : 'A'}`);
      t.is(c.take().find((m) => m[0] === 69)?.[1], inv[1], 'the callee was interrupted');
    }

    // Nothing is left behind, and normal calls still work over the same links.
    a.send([48, 10, {}, 'com.app.c', ['after']]);
    net.run(20);
    c.send([70, invocations(c)[0]![1], {}, ['done']]);
    net.run(20);
    t.deepEqual(
      a.received.find((m) => m[1] === 10),
      [50, 10, {}, ['done']],
    );
    for (const id of ['A', 'B', 'C']) t.is(net.nodes.get(id)!.mesh.status().callsInFlight, 0, `${id} holds no calls`);
    for (const id of ['A', 'B', 'C'])
      t.is(net.nodes.get(id)!.router.realms.get('realm1')!.dealer.pendingCount, 0, `${id}'s Dealer holds no calls`);

    // An EVENT too large for a link cannot be reported to anyone: it is dropped (MeshLinks logs it).
    const publisher = join('C');
    publisher.send([16, 1, {}, 'com.app.news', [big]]);
    publisher.send([16, 2, {}, 'com.app.news', ['small']]);
    net.run(50);
    t.deepEqual(
      a
        .take()
        .filter((m) => m[0] === 36)
        .map((m) => m[4]),
      [['small']],
    );
    t.true(net.oversize.includes('B>A:event'), net.oversize.join());
    t.deepEqual(net.errors, []);
  },
);
