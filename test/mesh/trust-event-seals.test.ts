// Events sealed by their origin, under the deterministic simulator: a member forging a
// publication as another node's session, or altering one it passes on, is refused and logged.

import test from 'ava';
import { MemoryClient } from '../helpers/memory-peer.ts';
import type { EventFrame } from '../../src/mesh/routing/frames.ts';
import { decodeEventContent, encodeEventContent, type EventContent } from '../../src/mesh/routing/event-content.ts';
import { digestOf } from '../../src/mesh/routing/event-seal.ts';
import type { SimNetwork } from './sim.ts';
import { line } from './trust-harness.ts';

/** A subscriber to `topic` on `node`. */
function subscriber(net: SimNetwork, node: string, topic: string): MemoryClient {
  const c = new MemoryClient(net.nodes.get(node)!.router);
  c.join('realm1');
  c.send([32, 1, {}, topic]);
  return c;
}

test("every event is sealed by its origin: a member forging a publication as another node's session, or altering one it passes on, is refused and logged; honest events go on", (t) => {
  const net = line();
  const sub = subscriber(net, 'C', 'com.app.news');
  net.run(500);
  const publisher = new MemoryClient(net.nodes.get('A')!.router);
  const session = publisher.join('realm1');
  const honest: EventFrame[] = [];
  net.tap = (from, to, frame) => {
    if (from === 'B' && to === 'C' && frame.t === 'event' && frame.src === 'A') honest.push(frame);
  };
  publisher.send([16, 1, {}, 'com.app.news', ['plain']]);
  publisher.send([16, 2, { disclose_me: true }, 'com.app.news', ['disclosed']]);
  net.run(200);
  net.tap = undefined;
  const delivered = () =>
    sub
      .take()
      .filter((m) => m[0] === 36)
      .map((m) => [m[3], m[4]]);
  const first = delivered();
  t.deepEqual(first, [
    [{}, ['plain']],
    [
      {
        publisher: session,
        publisher_authid: (first[1]![0] as Record<string, unknown>).publisher_authid,
        publisher_authrole: 'anonymous',
      },
      ['disclosed'],
    ],
  ]);
  // As B passed them on: the two events, numbered after the batch's seal (1), which rides with the first.
  t.deepEqual(
    honest.map((f) => [f.seals?.[0] ? 'event with its seal' : 'event', f.seqs[0]]),
    [
      ['event with its seal', 2],
      ['event', 3],
    ],
  );
  t.is(honest[0]!.seals![0]![1].length, 32, 'one digest per event');

  // M, on no path between A and C, forges publications "of A" by an admin, under A's next numbers
  // (A's next batch: its seal 4, events 5 and 6), and one far ahead behind a seal of its own.
  const last = honest[1]!;
  const content = decodeEventContent(last.b!) as EventContent;
  const forgedB = encodeEventContent({
    ...content,
    publication: 777,
    details: { publisher: 1, publisher_authid: 'admin', publisher_authrole: 'admin' },
    args: ['forged'],
  });
  const at = { t: 'event', src: 'A', ep: last.ep, dsts: ['C'], lives: last.lives, ttl: 8 } as const;
  const forged: EventFrame[] = [
    // Before A's own event 5: it must not take its place.
    { ...at, seqs: [5], ls: 1, b: forgedB },
    // A seal M made itself (it has no key A shares with C), with the event it covers: the seal is
    // refused, and the event waits for a seal of A's (refused once holdbackMs has passed).
    {
      ...at,
      seqs: [1_001],
      ls: 2,
      b: forgedB,
      seals: [[new Uint8Array(16), Buffer.from(digestOf(forgedB), 'latin1')]],
    },
    // A skip of A's small event 6.
    { ...at, seqs: [6], ls: 3, skip: true },
  ];
  for (const frame of forged) t.is(net.inject('M', 'B', frame), 'sent');
  net.run(200);
  t.deepEqual(delivered(), [], 'nothing forged delivered');
  publisher.send([16, 3, {}, 'com.app.news', ['honest 1']]);
  publisher.send([16, 4, {}, 'com.app.news', ['honest 2']]);
  net.run(200);
  t.deepEqual(delivered(), [
    [{}, ['honest 1']],
    [{}, ['honest 2']],
  ]);
  t.like(net.nodes.get('C')!.mesh.status().trust, { refused: { publisherIdentity: 3 } });
  t.true(
    net.warnings.some((w) => w.startsWith('C: mesh: event refused') && w.includes('"src":"A"')),
    net.warnings.join('\n'),
  );

  // B, on the path, alters A's next event (one octet of its content): refused at C.
  net.rewrite = (from, to, frame) => {
    if (from !== 'B' || to !== 'C' || frame.t !== 'event' || frame.b === undefined) return frame;
    const b = Uint8Array.from(frame.b);
    b[b.length - 2]! ^= 1;
    return { ...frame, b };
  };
  publisher.send([16, 5, {}, 'com.app.news', ['altered']]);
  net.run(200);
  net.rewrite = undefined;
  t.deepEqual(delivered(), []);
  t.like(net.nodes.get('C')!.mesh.status().trust, { refused: { publisherIdentity: 4 } });
  // The altered event's number is given up after holdbackMs, as for a lost one; then on as before.
  publisher.send([16, 6, {}, 'com.app.news', ['after']]);
  net.run(11_000);
  t.deepEqual(delivered(), [[{}, ['after']]]);
  t.deepEqual(net.errors, [], 'no link was closed for it: the neighbours only passed them on');
});
