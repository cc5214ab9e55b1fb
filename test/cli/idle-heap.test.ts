// What takes the place of V8's memory reducer in the router (src/runtime/idle-heap.ts): the heap
// a burst grew is given back once the event loop is idle, not while it still works, and not
// again until the heap has grown again. Run on this process's own event loop and heap.

import test from 'ava';
import v8 from 'node:v8';
import { IdleHeap } from '../../src/runtime/idle-heap.ts';
import { settleHeap } from '../../src/runtime/settle-heap.ts';

const heapSize = (): number => v8.getHeapStatistics().total_heap_size;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A burst of work: many objects, a share of them kept for a while, so that V8 grows the heap. */
function burst(): number {
  let kept: unknown[] = [];
  let n = 0;
  for (let i = 0; i < 600_000; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 100_000) {
      n += kept.length;
      kept = [];
    }
  }
  return n + kept.length;
}

/** settleHeap, counting its calls: what IdleHeap is given to collect with. */
function counted(): { settle: () => void; calls: number } {
  const c = {
    calls: 0,
    settle: (): void => {
      c.calls++;
      settleHeap();
    },
  };
  return c;
}

/** Keeps the event loop busy about half of `ms`, in slices, as a router serving traffic is. */
async function work(ms: number): Promise<void> {
  for (const until = performance.now() + ms; performance.now() < until; ) {
    for (const spin = performance.now() + 2; performance.now() < spin; );
    await sleep(2);
  }
}

test.serial('the heap a burst grew is given back once the process is idle, and only then', async (t) => {
  settleHeap();
  const collections = counted();
  const idle = new IdleHeap({ growthBytes: 4 * 2 ** 20, settle: collections.settle });
  const before = heapSize();
  t.true(burst() > 0);
  const grown = heapSize();
  t.true(grown - before >= 4 * 2 ** 20, `the burst grew the heap (${before} -> ${grown} bytes)`);
  // The interval that held the burst was busy: nothing yet.
  t.false(idle.check());
  // Still working (half the time): nothing.
  await work(300);
  t.false(idle.check());
  t.is(collections.calls, 0);
  // Idle for an interval: given back.
  await sleep(300);
  t.true(idle.check());
  t.is(collections.calls, 1);
  const after = heapSize();
  t.true(after < grown - 4 * 2 ** 20, `heap ${grown} -> ${after} bytes`);
  // Idle again, the heap no larger: not collected again.
  await sleep(300);
  t.false(idle.check());
  t.is(collections.calls, 1);
});

test.serial('started, it checks on its own timer', async (t) => {
  settleHeap();
  const collections = counted();
  const idle = new IdleHeap({ intervalMs: 100, growthBytes: 4 * 2 ** 20, settle: collections.settle });
  idle.start();
  try {
    burst();
    for (const until = performance.now() + 3_000; collections.calls === 0 && performance.now() < until; )
      await sleep(50);
    t.is(collections.calls, 1);
  } finally {
    idle.stop();
  }
});
