// EnvelopeSlabs (src/mesh/links/envelope-slabs.ts): a link's envelope buffers come back for reuse
// only when the tick's writes were taken whole; otherwise the next tick gets others. Whether the
// bytes of a tick not taken whole survive on a real socket is tagged-frames.test.ts's.

import test from 'ava';
import { EnvelopeSlabs } from '../../src/mesh/links/envelope-slabs.ts';

const SLAB = 64 * 1024 + 16;

/** Whether two views share any octet of memory. */
function overlap(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

test('a tick the socket took whole gives its buffers back; one it kept does not', (t) => {
  const slabs = new EnvelopeSlabs();
  const first = slabs.take(SLAB - 100)!;
  const second = slabs.take(200)!;
  t.false(overlap(first, second), 'two envelopes of one tick never share an octet');
  t.not(first.buffer, second.buffer, 'one that does not fit beside the last goes into another slab');
  slabs.written(true);
  const reused = [slabs.take(SLAB)!, slabs.take(60)!].map((b) => b.buffer);
  t.true(reused.includes(first.buffer) && reused.includes(second.buffer), 'taken whole: both reused');
  slabs.written(false);
  const after = slabs.take(10)!;
  t.false(reused.includes(after.buffer), 'kept by the stream: never handed out again');
});

test("a tick's small envelopes are laid one after another in one slab, none over another", (t) => {
  const slabs = new EnvelopeSlabs();
  const taken = Array.from({ length: 40 }, (_, i) => slabs.take(3000 + i)!);
  for (const [i, b] of taken.entries()) {
    t.is(b.length, 3000 + i);
    for (const other of taken.slice(i + 1)) t.false(overlap(b, other));
  }
  t.is(new Set(taken.map((b) => b.buffer)).size, 2, '40 envelopes of ~3 KB: two slabs, not forty');
});

test('at most four buffers are kept per link, and an envelope too large for one gets none', (t) => {
  const slabs = new EnvelopeSlabs();
  const taken = Array.from({ length: 6 }, () => slabs.take(SLAB - 1000)!.buffer);
  slabs.written(true);
  const again = new Set(Array.from({ length: 6 }, () => slabs.take(SLAB - 1000)!.buffer));
  t.is(taken.filter((b) => again.has(b)).length, 4);
  t.is(slabs.take(SLAB + 1), undefined);
  t.is(slabs.take(SLAB)!.length, SLAB);
});
