// EventCustody (src/mesh/routing/event-custody.ts) alone: link numbers, cumulative and selective
// acknowledgements, custody passed upstream only once the onward copies are through, what a
// dead link gives back, and when a link counts as dead.

import test from 'ava';
import { EventCustody } from '../../src/mesh/routing/event-custody.ts';
import type { EventFrame, MeshFrame } from '../../src/mesh/routing/frames.ts';
import { SimClock } from '../mesh/sim.ts';

function custody(limits: { linkUnackedBytes?: number } = {}) {
  const clock = new SimClock();
  const sent: { peer: string; frame: MeshFrame }[] = [];
  const forgotten: string[] = [];
  const c = new EventCustody({
    driver: {
      connect: () => undefined,
      disconnect: () => undefined,
      send: (peer, frame) => {
        sent.push({ peer, frame: frame as MeshFrame });
        return 'sent';
      },
    },
    scheduler: clock,
    limits: { ackDelayMs: 10, linkUnackedBytes: 1 << 20, linkUnackedMaxAgeMs: 60_000, ...limits },
    forgotten: (count, reason) => forgotten.push(`${count} ${reason}`),
  });
  return { c, clock, sent, forgotten };
}

const copy = (n: number): Omit<EventFrame, 'ls'> => ({
  t: 'event',
  src: 'O',
  ep: 1,
  dsts: ['D'],
  seqs: [n],
  lives: [1],
  ttl: 32,
  b: Uint8Array.of(n),
});

const acks = (sent: { peer: string; frame: MeshFrame }[]) =>
  sent.filter((s) => s.frame.t === 'ack').map((s) => s.frame);

test('copies are numbered 1, 2, 3 per link; acknowledged ones are forgotten, the rest given back when the link dies', (t) => {
  const { c } = custody();
  for (const n of [1, 2, 3]) c.send('N', copy(n), 100, 0, undefined);
  c.send('M', copy(9), 100, 0, undefined);
  t.deepEqual(c.status(), { unacked: 4, unackedBytes: 400 });
  c.ack('N', 3, 1, [3]);
  t.deepEqual(c.status(), { unacked: 2, unackedBytes: 200 });
  t.deepEqual(
    c.linkDown('N').map((o) => [o.frame.ls, o.frame.b?.[0]]),
    [[2, 2]],
  );
  c.linkUp('N');
  c.send('N', copy(4), 100, 0, undefined);
  t.deepEqual(c.linkDown('N')[0]?.frame.ls, 1, 'a new link numbers from 1 again');
});

test('a received copy is acknowledged complete (c) only once its onward copies are; others complete out of order (x)', (t) => {
  const { c, clock, sent } = custody();
  const first = c.received('U', 1);
  const second = c.received('U', 2);
  if (typeof first === 'string' || typeof second === 'string') return t.fail('refused');
  c.send('N', copy(1), 100, 0, first);
  c.done(first);
  c.done(second);
  clock.run(10);
  t.deepEqual(acks(sent), [{ t: 'ack', r: 2, c: 0, x: [2] }], 'the second is through, the first waits for N');
  c.ack('N', 1, 1);
  clock.run(10);
  t.deepEqual(acks(sent).at(-1), { t: 'ack', r: 2, c: 2 });
});

test('a gap in link numbers is refused', (t) => {
  const { c } = custody();
  t.not(typeof c.received('U', 1), 'string');
  t.is(c.received('U', 3), 'event: link number 3 after 1');
});

test('a link whose copies stay unreceived (r) past the deadline is overdue; received but not complete is not', (t) => {
  const { c } = custody();
  c.send('N', copy(1), 100, 0, undefined);
  c.send('N', copy(2), 100, 500, undefined);
  t.deepEqual(c.overdue(2_999, 3_000), []);
  t.deepEqual(c.overdue(3_001, 3_000), ['N']);
  c.ack('N', 1, 0);
  t.deepEqual(c.overdue(3_001, 3_000), [], 'copy 1 arrived; copy 2 is younger than the deadline');
  t.deepEqual(c.overdue(3_501, 3_000), ['N']);
});

test('beyond linkUnackedBytes the oldest copies are forgotten and counted', (t) => {
  const { c, forgotten } = custody({ linkUnackedBytes: 250 });
  for (const n of [1, 2, 3]) c.send('N', copy(n), 100, 0, undefined);
  t.deepEqual(c.status(), { unacked: 2, unackedBytes: 200 });
  t.deepEqual(forgotten, ['1 linkUnackedBytes']);
});
