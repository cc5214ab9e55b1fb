// The EVENT counts of /metrics against the core alone (in-memory peers): counted per realm and
// transport as they are written, not when dropped, and kept in the router-wide totals when their
// realm is deleted (a counter never goes down).

import test from 'ava';
import { newCommitHistogram, PrometheusMetrics } from '../../src/observe/prometheus.ts';
import { RouterMetrics } from '../../src/router/metrics.ts';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { parseSamples } from '../helpers/metrics.ts';

test('EVENTs: per realm and transport, not when dropped, and still in the totals after their realm is deleted', (t) => {
  const metrics = new RouterMetrics(() => performance.now());
  const router = new Router({
    realms: [
      { uri: 'realm1', anonymous: true },
      { uri: 'realm2', anonymous: true },
    ],
    metrics,
  });
  const prometheus = new PrometheusMetrics({
    version: 'test',
    commit: 'test',
    router,
    metrics,
    db: { file: '/nonexistent', commits: newCommitHistogram() },
    mesh: () => undefined,
  });
  t.teardown(() => prometheus.close());
  const scrape = () => parseSamples(prometheus.render());

  const publisher = new MemoryClient(router);
  publisher.join('realm2');
  const subscribers = [new MemoryClient(router), new MemoryClient(router), new MemoryClient(router)];
  for (const s of subscribers) {
    s.join('realm2');
    s.send([32, 1, {}, 'com.topic']);
  }
  // One subscriber stops reading: over the soft limit, its EVENTs are dropped, not counted.
  subscribers[2]!.buffered = router.limits.outboundSoftLimitBytes + 1;
  for (let i = 0; i < 4; i++) publisher.send([16, 10 + i, {}, 'com.topic', [i]]);
  let s = scrape();
  t.is(s.get('wampmesh_events_delivered_total{realm="realm2"}'), 8);
  t.is(s.get('wampmesh_events_dropped_total{realm="realm2",reason="slow_consumer"}'), 4);
  t.is(s.get('wampmesh_messages_sent_total{type="EVENT",transport="memory"}'), 8);
  t.is(subscribers[0]!.take().filter((m) => m[0] === 36).length, 4);

  router.removeRealm('realm2');
  s = scrape();
  t.false(s.has('wampmesh_events_delivered_total{realm="realm2"}'));
  t.is(s.get('wampmesh_messages_sent_total{type="EVENT",transport="memory"}'), 8, 'the totals keep them');
});
