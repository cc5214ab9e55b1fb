// The federation port's hold on PUBLISHED: a listener (a bridge's outbox) that returns a promise
// keeps the publisher's acknowledgement until the event is kept, and turns a refusal into the
// publisher's ERROR; a publisher that asked for no acknowledgement is never held or told.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

function setUp() {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const holds: { resolve(): void; reject(e: unknown): void; acknowledge: boolean; authid: string }[] = [];
  router.federation.listen({
    published(_realm, _event, _routing, publisher) {
      if (!publisher.acknowledge) return undefined;
      return new Promise<void>((resolve, reject) =>
        holds.push({ resolve, reject, acknowledge: publisher.acknowledge, authid: publisher.authid }),
      );
    },
    interestsChanged() {},
  });
  const pub = new MemoryClient(router);
  pub.join();
  return { router, holds, pub };
}

const tick = () => new Promise((r) => setImmediate(r));

test('PUBLISHED waits for the listener to keep the event', async (t) => {
  const { holds, pub } = setUp();
  pub.send([16, 1, { acknowledge: true }, 'a.b', [1]]);
  await tick();
  t.is(holds.length, 1);
  t.deepEqual(pub.take(), [], 'not acknowledged before it is kept');
  holds[0]!.resolve();
  await tick();
  const [published] = pub.take();
  t.is(published?.[0], 17);
  t.is(published?.[1], 1);
});

test("a listener's refusal becomes the publisher's ERROR with its URI and message", async (t) => {
  const { holds, pub } = setUp();
  pub.send([16, 2, { acknowledge: true }, 'a.b', [1]]);
  holds[0]!.reject({ uri: 'wampmesh.error.bridge_queue_full', message: 'bridge x: its outbox is full' });
  await tick();
  t.deepEqual(pub.take(), [[8, 16, 2, {}, 'wampmesh.error.bridge_queue_full', ['bridge x: its outbox is full']]]);
});

test('without acknowledge nothing is held and nothing is sent', async (t) => {
  const { holds, pub } = setUp();
  pub.send([16, 3, {}, 'a.b', [1]]);
  await tick();
  t.is(holds.length, 0);
  t.deepEqual(pub.take(), []);
});
