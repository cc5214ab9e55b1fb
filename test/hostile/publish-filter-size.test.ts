// A publication's black- and whitelists are the publisher's to make as long as a message allows:
// checking them must cost the lists plus the subscribers, not their product, or one PUBLISH holds
// the router (and every other session) for as long as the product takes.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const SUBSCRIBERS = 20_000;
const LISTED = 1_000_000;

test('a PUBLISH with a million excluded IDs reaches 20,000 subscribers without holding the router', (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const ids: number[] = [];
  const subscribers = Array.from({ length: SUBSCRIBERS }, () => {
    const c = new MemoryClient(router);
    ids.push(c.join('realm1'));
    c.send([32, 1, {}, 'com.app.many']);
    c.take();
    return c;
  });
  const publisher = new MemoryClient(router);
  publisher.join('realm1');
  const taken = new Set(ids);
  const absent: number[] = [];
  for (let id = 1; absent.length < LISTED; id++) if (!taken.has(id)) absent.push(id);
  absent.push(ids[0]!);
  const publish = [16, 1, { exclude: absent, eligible_authrole: ['anonymous'] }, 'com.app.many'];
  const started = performance.now();
  publisher.send(publish);
  const elapsed = performance.now() - started;
  const got = subscribers.map((c) => c.take().filter((m) => m[0] === 36).length);
  t.is(got[0], 0, 'the excluded subscriber got nothing');
  t.is(
    got.slice(1).reduce((a, b) => a + b, 0),
    SUBSCRIBERS - 1,
    'every other subscriber got the event once',
  );
  // Checked as lists, 20,000 x 1,000,000 comparisons take many seconds; as sets, a fraction of one.
  t.true(elapsed < 3_000, `the publication held the router for ${elapsed.toFixed(0)} ms`);
});
