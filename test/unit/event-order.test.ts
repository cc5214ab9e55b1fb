// InOrder (src/mesh/routing/event-order.ts) alone: delivery in each origin's numbering, hold-back
// with its time and memory bounds, duplicates, skipped numbers and origin restarts.

import test from 'ava';
import { InOrder } from '../../src/mesh/routing/event-order.ts';

function order(limits: { holdbackMs?: number; holdbackEvents?: number; maxOrigins?: number } = {}) {
  const got: string[] = [];
  const o = new InOrder<string>({ holdbackMs: 1_000, holdbackEvents: 100, maxOrigins: 10, ...limits }, (item) =>
    got.push(item),
  );
  return { o, got };
}

test('numbers from 1 are delivered at once; a later one waits for the gap, then both go in order', (t) => {
  const { o, got } = order();
  o.accept('A', 1, 1, 'a1', 0);
  o.accept('A', 1, 3, 'a3', 1);
  t.deepEqual(got, ['a1']);
  t.is(o.held, 1);
  o.accept('A', 1, 2, 'a2', 2);
  t.deepEqual(got, ['a1', 'a2', 'a3']);
  t.is(o.held, 0);
  o.accept('A', 1, 2, 'a2', 3);
  o.accept('A', 1, 3, 'a3', 3);
  t.is(o.counters.duplicates, 2, 'numbers already delivered are duplicates');
});

test('origins are independent; the first event of an origin waits for its number 1', (t) => {
  const { o, got } = order();
  o.accept('B', 1, 2, 'b2', 0);
  o.accept('A', 1, 1, 'a1', 0);
  t.deepEqual(got, ['a1']);
  o.accept('B', 1, 1, 'b1', 1);
  t.deepEqual(got, ['a1', 'b1', 'b2']);
});

test('a gap without progress for holdbackMs is given up and counted; late copies are then duplicates', (t) => {
  const { o, got } = order();
  o.accept('A', 1, 1, 'a1', 0);
  o.accept('A', 1, 4, 'a4', 100);
  o.tick(1_000);
  t.deepEqual(got, ['a1'], 'not before holdbackMs');
  o.tick(1_101);
  t.deepEqual(got, ['a1', 'a4']);
  t.is(o.counters.gaveUp, 2);
  o.accept('A', 1, 2, 'a2', 1_200);
  t.deepEqual(got, ['a1', 'a4']);
  t.is(o.counters.duplicates, 1);
});

test('the hold-back bound counts all origins together', (t) => {
  const { o, got } = order({ holdbackEvents: 3 });
  o.accept('A', 1, 2, 'a2', 0);
  o.accept('B', 1, 2, 'b2', 0);
  o.accept('C', 1, 2, 'c2', 0);
  t.is(o.held, 3);
  o.accept('D', 1, 2, 'd2', 0);
  t.deepEqual(got, ['d2'], 'the origin that went over gives its gap up');
  t.is(o.held, 3);
  t.is(o.counters.gaveUp, 1);
});

test('a restarted origin (higher epoch) numbers anew; its earlier life is stale; numbers without an event are skipped', (t) => {
  const { o, got } = order();
  o.accept('A', 1, 1, 'a1', 0);
  o.accept('A', 1, 3, 'a3', 0);
  o.accept('A', 2, 1, 'new1', 1);
  t.deepEqual(got, ['a1', 'new1']);
  t.is(o.held, 0, 'what the old life left held back is gone');
  o.accept('A', 1, 2, 'old2', 2);
  t.is(o.counters.stale, 1);
  o.accept('A', 2, 2, undefined, 3);
  o.accept('A', 2, 3, 'new3', 3);
  t.deepEqual(got, ['a1', 'new1', 'new3']);
  t.is(o.counters.skipped, 1);
});
