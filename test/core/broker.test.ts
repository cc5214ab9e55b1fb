import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack } from '../../src/serializers/index.ts';
import { MemoryClient, shape } from '../helpers/memory-peer.ts';
import { DEFERRED_FANOUT_FROM } from '../../src/router/event-burst.ts';

const newRouter = (limits = {}) => new Router({ realms: [{ uri: 'realm1', anonymous: true }], limits });

function subscribe(c: MemoryClient, topic: string, request = 1): number {
  c.send([32, request, {}, topic]);
  const [subscribed] = c.take();
  if (subscribed?.[0] !== 33) throw new Error(`expected SUBSCRIBED, got ${JSON.stringify(subscribed)}`);
  return subscribed[2] as number;
}

test('all subscribers of a topic share one subscription ID and get the event', (t) => {
  const r = newRouter();
  const [a, b, pub] = [new MemoryClient(r), new MemoryClient(r), new MemoryClient(r)];
  for (const c of [a, b, pub]) c.join();
  const sa = subscribe(a, 'com.app.news');
  const sb = subscribe(b, 'com.app.news');
  t.is(sa, sb);
  t.is(subscribe(a, 'com.app.news', 2), sa, 'subscribing twice returns the same subscription');
  pub.send([16, 1, { acknowledge: true }, 'com.app.news', ['hi'], { n: 1 }]);
  const [published] = pub.take();
  t.is(published![0], 17);
  const publication = published![2];
  for (const c of [a, b]) t.deepEqual(c.take(), [[36, sa, publication, {}, ['hi'], { n: 1 }]]);
});

test('publisher is excluded by default and included with exclude_me false', (t) => {
  const r = newRouter();
  const c = new MemoryClient(r);
  c.join();
  const sub = subscribe(c, 'com.app.self');
  c.send([16, 1, {}, 'com.app.self', ['a']]);
  t.deepEqual(c.take(), []);
  c.send([16, 2, { exclude_me: false }, 'com.app.self', ['b']]);
  const [event] = c.take();
  t.deepEqual([event![0], event![1], event![4]], [36, sub, ['b']]);
});

test('no acknowledge means no PUBLISHED; unsubscribe stops events', (t) => {
  const r = newRouter();
  const [a, pub] = [new MemoryClient(r), new MemoryClient(r)];
  a.join();
  pub.join();
  const sub = subscribe(a, 'com.app.t');
  pub.send([16, 1, {}, 'com.app.t']);
  t.deepEqual(pub.take(), []);
  t.is(a.take().length, 1);
  a.send([34, 2, sub]);
  t.deepEqual(a.take(), [[35, 2]]);
  a.send([34, 3, sub]);
  t.deepEqual(shape(a.take()[0]), [8, 34, 3, '{}', 'wamp.error.no_such_subscription']);
  pub.send([16, 2, {}, 'com.app.t']);
  t.deepEqual(a.take(), []);
  t.is(r.realms.get('realm1')!.broker.subscriptionCount, 0);
});

test('invalid topic is an error only when acknowledged', (t) => {
  const r = newRouter();
  const pub = new MemoryClient(r);
  pub.join();
  pub.send([16, 1, {}, 'bad..topic']);
  t.deepEqual(pub.take(), []);
  pub.send([16, 2, { acknowledge: true }, 'bad..topic']);
  t.deepEqual(shape(pub.take()[0]), [8, 16, 2, '{}', 'wamp.error.invalid_uri', ["invalid topic URI 'bad..topic'"]]);
});

test('an event is encoded once per serializer, not once per subscriber', (t) => {
  const r = newRouter();
  const counts = new Map<string, number>();
  const counting = [json, msgpack, cbor].map((s) => ({
    ...s,
    encode(m: unknown[]) {
      if (m[0] === 36) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
      return s.encode(m);
    },
  }));
  const subs = counting.flatMap((s) => Array.from({ length: 5 }, () => new MemoryClient(r, s)));
  for (const c of subs) {
    c.join();
    subscribe(c, 'com.app.fan');
  }
  const pub = new MemoryClient(r);
  pub.join();
  pub.send([16, 1, {}, 'com.app.fan', [1]]);
  for (const c of subs) t.is(c.take().length, 1);
  t.deepEqual(Object.fromEntries(counts), { json: 1, msgpack: 1, cbor: 1 });
});

test('a subscriber that stops reading loses events (counted), not the publisher', (t) => {
  let now = 0;
  const r = new Router({
    realms: [{ uri: 'realm1', anonymous: true }],
    now: () => now,
    limits: { outboundSoftLimitBytes: 1000, slowConsumerTimeoutMs: 5000 },
  });
  const slow = new MemoryClient(r);
  const fast = new MemoryClient(r);
  const pub = new MemoryClient(r);
  for (const c of [slow, fast, pub]) c.join();
  subscribe(slow, 'com.app.fire');
  subscribe(fast, 'com.app.fire');
  slow.buffered = 5000; // the socket has stopped draining
  for (let i = 0; i < 100; i++) pub.send([16, i + 1, { acknowledge: true }, 'com.app.fire', [i]]);
  t.is(pub.take().length, 100, 'the publisher is answered at full speed');
  t.is(fast.take().length, 100);
  t.is(slow.take().length, 0);
  r.tick(now);
  now = 4999;
  r.tick(now);
  t.false(slow.closed);
  now = 5000;
  r.tick(now);
  t.true(slow.closed, 'closed after staying over the soft limit for slowConsumerTimeoutMs');
  t.is(slow.closeReason, 'slow_consumer', 'the transport is told why (WebSocket: close code 1008)');
  t.false(fast.closed);
});

test('over the hard limit a session is closed at once', (t) => {
  const r = newRouter({ outboundHardLimitBytes: 10_000 });
  const callee = new MemoryClient(r);
  const caller = new MemoryClient(r);
  callee.join();
  caller.join();
  callee.send([64, 1, {}, 'com.app.x']);
  callee.take();
  callee.buffered = 20_000;
  caller.send([48, 1, {}, 'com.app.x']);
  t.true(callee.closed);
  t.is(callee.closeReason, 'slow_consumer');
  t.deepEqual(shape(caller.take()[0]), [
    8,
    48,
    1,
    '{}',
    'wamp.error.canceled',
    ['callee disconnected from in-flight call'],
  ]);
});

test('a burst to a large subscription reaches each subscriber in order, and before anything routed after it', async (t) => {
  const r = newRouter();
  const subscribers = Array.from({ length: DEFERRED_FANOUT_FROM }, () => new MemoryClient(r));
  for (const c of subscribers) c.join();
  const big = subscribe(subscribers[0]!, 'com.app.big');
  for (const c of subscribers.slice(1)) subscribe(c, 'com.app.big');
  const a = subscribers[0]!;
  const small = subscribe(a, 'com.app.small', 2);
  const pub = new MemoryClient(r);
  pub.join();
  const events = (c: MemoryClient): unknown[] =>
    c.take().map((m) => (m[0] === 36 ? [m[1] === big ? 'big' : m[1] === small ? 'small' : m[1], m[4]] : m[0]));

  // Delivered together at the end of the task that routed them...
  pub.send([16, 1, {}, 'com.app.big', [1]]);
  pub.send([16, 2, {}, 'com.app.big', [2]]);
  t.deepEqual(a.take(), [], 'deferred within the task');
  await Promise.resolve();
  for (const c of subscribers)
    t.deepEqual(events(c), [
      ['big', [1]],
      ['big', [2]],
    ]);

  // ... or as soon as anything else is routed to any session: another topic's EVENT, a
  // PUBLISHED, an UNSUBSCRIBED.
  pub.send([16, 3, {}, 'com.app.big', [3]]);
  pub.send([16, 4, {}, 'com.app.small', [4]]);
  pub.send([16, 5, {}, 'com.app.big', [5]]);
  pub.send([16, 6, { acknowledge: true }, 'com.app.big', [6]]);
  t.deepEqual(events(a), [
    ['big', [3]],
    ['small', [4]],
    ['big', [5]],
    ['big', [6]],
  ]);
  t.deepEqual(
    pub.take().map((m) => m[0]),
    [17],
  );
  t.deepEqual(events(subscribers[1]!), [
    ['big', [3]],
    ['big', [5]],
    ['big', [6]],
  ]);
  pub.send([16, 7, {}, 'com.app.big', [7]]);
  a.send([34, 3, big]);
  t.deepEqual(events(a), [['big', [7]], 35]);
  await Promise.resolve();
  t.deepEqual(events(a), []);
  t.is(events(subscribers[2]!).length, 4, 'the others got 3, 5, 6 and 7 once each');
});
