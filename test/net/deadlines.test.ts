// Deadlines (src/net/deadlines.ts): waits expire at their delay, in the order armed, once;
// a cancelled wait never expires; waits of other delays keep their own order. Real timers,
// short delays, polled with a deadline.

import test from 'ava';
import { Deadlines, type Expiring, Wait } from '../../src/net/deadlines.ts';

const expiring = (expire: () => void): Expiring => ({ expire });

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('waits expire in the order armed, not before their delay; cancelled ones never', async (t) => {
  const deadlines = new Deadlines();
  const fired: { name: string; after: number }[] = [];
  const start = performance.now();
  const arm = (name: string) =>
    deadlines.after(
      40,
      expiring(() => fired.push({ name, after: performance.now() - start })),
    );
  arm('a');
  const b = arm('b');
  await new Promise((r) => setTimeout(r, 10));
  arm('c');
  b.cancel();
  b.cancel();
  await until(() => fired.length === 2);
  t.deepEqual(
    fired.map((f) => f.name),
    ['a', 'c'],
  );
  t.true(fired[0]!.after >= 39, `a after ${fired[0]!.after} ms`);
  t.true(fired[1]!.after >= 49, `c after ${fired[1]!.after} ms`);
  // Nothing fires twice, and cancelling a wait that expired is harmless.
  await new Promise((r) => setTimeout(r, 60));
  t.is(fired.length, 2);
});

test('every wait cancelled before its delay: nothing fires; a new wait after that still does', async (t) => {
  const deadlines = new Deadlines();
  let fired = 0;
  for (let i = 0; i < 1000; i++)
    deadlines
      .after(
        20,
        expiring(() => fired++),
      )
      .cancel();
  await new Promise((r) => setTimeout(r, 40));
  t.is(fired, 0);
  deadlines.after(
    20,
    expiring(() => fired++),
  );
  await until(() => fired === 1);
  t.pass();
});

test('delays are independent: a short wait armed after a long one fires first', async (t) => {
  const deadlines = new Deadlines();
  const order: string[] = [];
  deadlines.after(
    80,
    expiring(() => order.push('long')),
  );
  deadlines.after(
    10,
    expiring(() => order.push('short')),
  );
  await until(() => order.length === 2);
  t.deepEqual(order, ['short', 'long']);
});

test('a wait armed while others expire, of the same delay, fires in its turn', async (t) => {
  const deadlines = new Deadlines();
  const order: string[] = [];
  deadlines.after(
    15,
    expiring(() => {
      order.push('first');
      deadlines.after(
        15,
        expiring(() => order.push('re-armed')),
      );
    }),
  );
  await until(() => order.length === 2);
  t.deepEqual(order, ['first', 're-armed']);
});

test('an object that is its own wait (Wait): armed, armed again from now, stopped', async (t) => {
  const deadlines = new Deadlines();
  class Job extends Wait {
    expired: number[] = [];
    expire(): void {
      this.expired.push(performance.now());
    }
  }
  const start = performance.now();
  const again = new Job();
  const stopped = new Job();
  const plain = new Job();
  deadlines.arm(again, 30);
  deadlines.arm(stopped, 30);
  deadlines.arm(plain, 30);
  stopped.stopWaiting();
  stopped.stopWaiting();
  await new Promise((r) => setTimeout(r, 15));
  deadlines.arm(again, 30);
  await until(() => again.expired.length > 0);
  t.is(plain.expired.length, 1);
  t.true(plain.expired[0]! - start >= 29);
  t.is(again.expired.length, 1, 'armed again: due once, at its new time');
  t.true(again.expired[0]! - start >= 44, `after ${again.expired[0]! - start} ms`);
  t.deepEqual(stopped.expired, []);
  // Armed again once expired, it waits again.
  deadlines.arm(plain, 10);
  await until(() => plain.expired.length === 2);
  t.pass();
});
