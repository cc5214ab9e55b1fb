// The collection `serve` runs once after its listening line (src/runtime/settle-heap.ts): it
// gives the young generation that start-up grew back to the system, and leaves no `gc` behind.

import test from 'ava';
import v8 from 'node:v8';
import { settleHeap } from '../../src/runtime/settle-heap.ts';

const newSpaceBytes = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

test('settleHeap shrinks the young generation that a burst of allocation grew, and exposes no gc', (t) => {
  // A start-up-like burst: many short-lived objects, some kept for a while, which makes V8 grow
  // the young generation.
  let kept: unknown[] = [];
  for (let i = 0; i < 400_000; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 50_000) kept = [];
  }
  const grown = newSpaceBytes();
  t.true(grown > 2 * 2 ** 20, `the burst grew the young generation (${grown} bytes)`);
  settleHeap();
  const settled = newSpaceBytes();
  t.true(settled < grown / 2, `young generation ${grown} -> ${settled} bytes`);
  t.is(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  t.is(kept.length > 0, true);
});
