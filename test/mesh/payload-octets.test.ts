// A call between clients on two routers of the mesh whose payloads came in CBOR: the caller's
// node puts the CALL's Arguments and ArgumentsKw into the mesh frame as the octets they came in,
// the callee's node the YIELD's (RawPayload.cborItems, not decoded and encoded again), and both
// clients get the values they were sent, whatever serialization the other side speaks.

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { cbor, json } from '../../src/serializers/index.ts';
import type { Serializer } from '../../src/serializers/serializer.ts';
import { PassedFrame, type CallFrame, type ResultFrame } from '../../src/mesh/routing/frames.ts';
import { SimNetwork } from './sim.ts';

const PAYLOADS: [unknown[], Record<string, unknown> | undefined][] = [
  [['hi'], undefined],
  [[], { k: 'v' }],
  [[1, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 1.5, true, false, null, 'ü€😀'], { nested: { list: [[], {}, [1, [2]]] } }],
  [[Buffer.from([0, 1, 2, 255])], { bytes: Buffer.from('octets') }],
  [
    ['x'.repeat(10_000), Array.from({ length: 40 }, (_, i) => i)],
    { many: Object.fromEntries([...'abcdefghijklmnopqrstuvwxyz'].map((c) => [c, c])) },
  ],
];

/** Nodes A-B-C in a line, linked and settled. */
function line(seed: number): SimNetwork {
  const net = new SimNetwork(seed);
  for (const id of ['A', 'B', 'C']) net.addNode(id);
  net.connectSegment('A', 'B');
  net.connectSegment('B', 'C');
  net.run(2000);
  return net;
}

/** A-B-C in a line, a callee on C echoing each INVOCATION's payload, a caller on A; frames from A and C kept. */
function chain(callerSerializer: Serializer, calleeSerializer: Serializer) {
  const net = line(31);
  const callee = new MemoryClient(net.nodes.get('C')!.router, calleeSerializer);
  callee.join('realm1');
  callee.send([64, 1, {}, 'com.app.echo']);
  net.run(500);
  const caller = new MemoryClient(net.nodes.get('A')!.router, callerSerializer);
  caller.join('realm1');
  const sent: (CallFrame | ResultFrame)[] = [];
  net.tap = (from, _to, frame) => {
    if (frame instanceof PassedFrame) return;
    if ((from === 'A' && frame.t === 'call') || (from === 'C' && frame.t === 'result')) sent.push(frame);
  };
  const invocations: unknown[][] = [];
  const call = (request: number, args: unknown[], kwargs: Record<string, unknown> | undefined): unknown[] => {
    caller.send(
      kwargs === undefined ? [48, request, {}, 'com.app.echo', args] : [48, request, {}, 'com.app.echo', args, kwargs],
    );
    net.run(50);
    for (const m of callee.take()) {
      if (m[0] !== 68) continue;
      invocations.push(m);
      callee.send(m.length > 5 ? [70, m[1], {}, m[4], m[5]] : m.length > 4 ? [70, m[1], {}, m[4]] : [70, m[1], {}]);
    }
    net.run(50);
    const answer = caller.take().find((m) => m[1] === request);
    if (answer === undefined) throw new Error(`no answer to call ${request}`);
    return answer;
  };
  return { net, call, sent, invocations, caller, callee };
}

/** A payload as a client of `s` gets it back (JSON has no byte strings: they travel as text). */
const through = (s: Serializer, v: unknown): unknown => (s.decode(s.encode([v])) as unknown[])[0];

for (const [callerS, calleeS] of [
  [cbor, cbor],
  [cbor, json],
  [json, cbor],
] as const) {
  test(`${callerS.name} caller, ${calleeS.name} callee two hops away: the payloads arrive as sent; CBOR ones cross the mesh as the client's octets`, (t) => {
    const { call, sent, invocations } = chain(callerS, calleeS);
    for (const [i, [args, kwargs]] of PAYLOADS.entries()) {
      const result = call(i + 1, args, kwargs);
      t.is(result[0], 50, JSON.stringify(result).slice(0, 300));
      const invocation = invocations.at(-1)!;
      const expectedArgs = through(calleeS, through(callerS, args)) as unknown[];
      t.deepEqual(invocation[4], expectedArgs);
      if (kwargs !== undefined) t.deepEqual(invocation[5], through(calleeS, through(callerS, kwargs)));
      t.deepEqual(result[3], through(callerS, expectedArgs));
      if (kwargs !== undefined) t.deepEqual(result[4], through(callerS, through(calleeS, through(callerS, kwargs))));
    }
    const calls = sent.filter((f) => f.t === 'call');
    const results = sent.filter((f) => f.t === 'result');
    t.is(calls.length, PAYLOADS.length);
    t.is(results.length, PAYLOADS.length);
    t.true(
      calls.every((f) => (f.raw !== undefined) === (callerS === cbor) && (f.raw === undefined || f.args === undefined)),
    );
    t.true(results.every((f) => (f.raw !== undefined) === (calleeS === cbor)));
  });
}

test("CBOR caller and callee two hops away: each gets the other's payload octets as they were sent, not encoded again", (t) => {
  const { net, caller, callee } = chain(cbor, cbor);
  const text = (s: string) => [0x60 | s.length, ...Buffer.from(s)];
  // Integers written wider than needed (5 and 7 in three octets): an encoder would write one.
  const args = [0x82, 0x19, 0x00, 0x05, ...text('x')];
  caller.sendRaw(Buffer.from([0x85, 0x18, 48, 0x01, 0xa0, ...text('com.app.echo'), ...args]));
  net.run(50);
  const at = callee.received.findIndex((m) => m[0] === 68);
  t.true(at >= 0);
  const invocation = callee.frames[at]!;
  t.deepEqual([...invocation.subarray(invocation.length - args.length)], args);
  callee.take();
  const result = [0x81, 0x19, 0x00, 0x07];
  const request = (cbor.decode(invocation) as unknown[])[1];
  const requestItem = cbor.encode([request]).subarray(1); // the INVOCATION's ID as one CBOR item
  callee.sendRaw(Buffer.from([0x84, 0x18, 70, ...requestItem, 0xa0, ...result]));
  net.run(50);
  const back = caller.received.findIndex((m) => m[0] === 50);
  t.true(back >= 0);
  const frame = caller.frames[back]!;
  t.deepEqual([...frame.subarray(frame.length - result.length)], result);
  t.deepEqual(caller.received[back]!.slice(3), [[7]]);
});

test('CBOR progressive results two hops away: each result, progressive and final, reaches the caller with its payload', (t) => {
  const net = line(32);
  const roles = {
    caller: { features: { progressive_call_results: true } },
    callee: { features: { progressive_call_results: true } },
  };
  const callee = new MemoryClient(net.nodes.get('C')!.router, cbor);
  callee.join('realm1', { roles });
  callee.send([64, 1, {}, 'com.app.stream']);
  net.run(500);
  const caller = new MemoryClient(net.nodes.get('A')!.router, cbor);
  caller.join('realm1', { roles });
  caller.send([48, 1, { receive_progress: true }, 'com.app.stream', ['go']]);
  net.run(50);
  const invocation = callee.take().find((m) => m[0] === 68)!;
  t.deepEqual(invocation[4], ['go']);
  callee.send([70, invocation[1], { progress: true }, [1, 'ü'], { part: 1 }]);
  callee.send([70, invocation[1], { progress: true }, [2]]);
  callee.send([70, invocation[1], {}, ['done'], { parts: 2 }]);
  net.run(50);
  const results = caller.take().filter((m) => m[0] === 50);
  t.deepEqual(results, [
    [50, 1, { progress: true }, [1, 'ü'], { part: 1 }],
    [50, 1, { progress: true }, [2]],
    [50, 1, {}, ['done'], { parts: 2 }],
  ]);
});
