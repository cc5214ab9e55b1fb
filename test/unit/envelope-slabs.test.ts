// EnvelopeSlabs (src/mesh/links/envelope-slabs.ts): a link's envelope buffers come back for reuse
// only when the tick's writes were taken whole; otherwise the next tick gets others. Whether the
// bytes of a tick not taken whole survive on a real socket is tagged-frames.test.ts's.

import test from 'ava';
import { EnvelopeSlabs } from '../../src/mesh/links/envelope-slabs.ts';

test('a tick the socket took whole gives its buffers back; one it kept does not', (t) => {
  const slabs = new EnvelopeSlabs();
  const first = slabs.take(100)!;
  const second = slabs.take(200)!;
  t.not(first.buffer, second.buffer, 'two envelopes of one tick never share a buffer');
  slabs.written(true);
  const reused = [slabs.take(50)!, slabs.take(60)!].map((b) => b.buffer);
  t.true(reused.includes(first.buffer) && reused.includes(second.buffer), 'taken whole: both reused');
  slabs.written(false);
  const after = slabs.take(10)!;
  t.false(reused.includes(after.buffer), 'kept by the stream: never handed out again');
});

test('at most four buffers are kept per link, and an envelope too large for one gets none', (t) => {
  const slabs = new EnvelopeSlabs();
  const taken = Array.from({ length: 6 }, () => slabs.take(1000)!.buffer);
  slabs.written(true);
  const again = new Set(Array.from({ length: 6 }, () => slabs.take(1000)!.buffer));
  t.is(taken.filter((b) => again.has(b)).length, 4);
  t.is(slabs.take(64 * 1024 + 17), undefined);
  t.is(slabs.take(64 * 1024 + 16)!.length, 64 * 1024 + 16);
});
