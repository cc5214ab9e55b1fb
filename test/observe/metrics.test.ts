// /metrics of the real router process, over real HTTP: promtool accepts the text, and the
// values move as sessions come and go, calls succeed and fail, events are published, delivered
// and dropped, and authentication fails.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, waitFor, type RawClient } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { httpGet, promtoolCheck, scrape } from '../helpers/metrics.ts';

async function startWithHttp(
  config: Record<string, unknown>,
  extra: string[] = [],
): Promise<{ router: RouterProcess; httpPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-metrics-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    const router = await startRouter({
      args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', '--http', '127.0.0.1:0', ...extra],
    });
    const http = router.listeners.find((l) => l.transport === 'http');
    if (http === undefined) throw new Error(`no http listener in ${JSON.stringify(router.listeners)}`);
    return { router, httpPort: http.port };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const realms = [
  { uri: 'realm1', anonymous: true },
  { uri: 'locked', anonymous: false },
];

test('promtool accepts /metrics, and counters move with sessions, calls, publications and failures', async (t) => {
  const { router, httpPort } = await startWithHttp({ realms });
  const clients: RawClient[] = [];
  const client = async (
    transport: 'rawsocket' | 'websocket',
    serializer: 'json' | 'cbor' | 'msgpack',
  ): Promise<RawClient> => {
    const c = await connect({ transport, serializer, port: router.rawsocketPort, url: router.wsUrl });
    clients.push(c);
    return c;
  };
  try {
    const before = await scrape(httpPort);
    const check0 = await promtoolCheck(before.text);
    t.is(check0.code, 0, check0.output);
    const { type } = await httpGet(httpPort, '/metrics');
    t.is(type, 'text/plain; version=0.0.4; charset=utf-8');
    t.regex(before.text, /^wampmesh_build_info\{version="0\.1\.0",commit="[0-9a-f]{7}|unknown"\} 1$/m);
    t.is(before.samples.get('wampmesh_calls_total{realm="realm1",outcome="ok"}'), 0);
    t.is(before.samples.get('wampmesh_sessions{realm="realm1",transport="websocket"}'), undefined);

    const callee = await client('rawsocket', 'cbor');
    await callee.join();
    await callee.register('test.echo');
    callee.serveEcho();
    const caller = await client('websocket', 'json');
    await caller.join();
    for (let i = 0; i < 3; i++) t.is((await caller.call('test.echo', [i]))[0], 50);
    const missing = await caller.call('test.nothing.here');
    t.is(missing[4], 'wamp.error.no_such_procedure');

    const subscriber = await client('websocket', 'msgpack');
    await subscriber.join();
    await subscriber.subscribe('test.topic');
    for (let i = 0; i < 2; i++) caller.send([16, 100 + i, { acknowledge: true }, 'test.topic', [i]]);
    for (let i = 0; i < 2; i++) await subscriber.next((m) => m[0] === 36);

    const stranger = await client('rawsocket', 'json');
    await t.throwsAsync(stranger.join('locked'), { message: /ABORT/ });

    const after = await scrape(httpPort);
    const check1 = await promtoolCheck(after.text);
    t.is(check1.code, 0, check1.output);
    const s = after.samples;
    t.is(s.get('wampmesh_sessions{realm="realm1",transport="rawsocket"}'), 1);
    t.is(s.get('wampmesh_sessions{realm="realm1",transport="websocket"}'), 2);
    t.is(s.get('wampmesh_sessions_opened_total{realm="realm1",transport="websocket"}'), 2);
    t.is(s.get('wampmesh_calls_total{realm="realm1",outcome="ok"}'), 3);
    t.is(s.get('wampmesh_calls_total{realm="realm1",outcome="no_such_procedure"}'), 1);
    // Durations are sampled: a session's first call, then one in 16 (CALL_SAMPLE_EVERY).
    t.is(s.get('wampmesh_call_duration_seconds_count'), 1);
    t.is(s.get('wampmesh_call_duration_seconds_bucket{le="+Inf"}'), 1);
    t.true(s.get('wampmesh_call_duration_seconds_sum')! > 0);
    t.is(s.get('wampmesh_messages_received_total{type="CALL",transport="websocket"}'), 4);
    t.is(s.get('wampmesh_messages_sent_total{type="INVOCATION",transport="rawsocket"}'), 3);
    t.is(s.get('wampmesh_messages_received_total{type="YIELD",transport="rawsocket"}'), 3);
    t.is(s.get('wampmesh_messages_sent_total{type="EVENT",transport="websocket"}'), 2);
    t.true(s.get('wampmesh_received_bytes_total{transport="websocket"}')! > 0);
    // Octets sent are the transports' own sums (Peer.octetsSent): exactly what the clients read.
    for (const transport of ['rawsocket', 'websocket'] as const) {
      const read = clients.filter((c) => c.transport === transport).reduce((n, c) => n + c.receivedOctets, 0);
      t.true(read > 0);
      t.is(s.get(`wampmesh_sent_bytes_total{transport="${transport}"}`), read, transport);
    }
    t.is(s.get('wampmesh_publications_total{realm="realm1"}'), 2);
    t.is(s.get('wampmesh_events_delivered_total{realm="realm1"}'), 2);
    t.is(s.get('wampmesh_events_dropped_total{realm="realm1",reason="slow_consumer"}'), 0);
    t.is(s.get('wampmesh_registrations{realm="realm1"}'), 1);
    t.is(s.get('wampmesh_subscriptions{realm="realm1"}'), 1);
    t.is(s.get('wampmesh_auth_failures_total{realm="locked",method="anonymous"}'), 1);
    t.is(s.get('wampmesh_auth_failures_total{realm="realm1",method="anonymous"}'), 0);
    t.true(s.get('process_resident_memory_bytes')! > 1e6);
    t.true(s.get('wampmesh_db_bytes')! > 0);
    // Only configured realms are labels: the HELLO for a realm that does not exist adds none.
    const ghost = await client('rawsocket', 'json');
    await t.throwsAsync(ghost.join('no.such.realm'), { message: /ABORT/ });
    t.false((await scrape(httpPort)).text.includes('no.such.realm'));

    await caller.close();
    await waitFor(
      async () => (await scrape(httpPort)).samples.get('wampmesh_sessions{realm="realm1",transport="websocket"}') === 1,
      5_000,
      'the websocket session gauge to drop',
    );
    const closed = await scrape(httpPort);
    t.is(closed.samples.get('wampmesh_sessions_closed_total{realm="realm1",transport="websocket"}'), 1);
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    await router.stop();
  }
});

test('a subscriber that stops reading: events dropped as slow_consumer, then a slow-consumer close', async (t) => {
  const { router, httpPort } = await startWithHttp({
    realms,
    limits: { outboundSoftLimitBytes: 64 * 1024, outboundHardLimitBytes: 256 * 1024, slowConsumerTimeoutMs: 1_000 },
  });
  const publisher = await connect({ transport: 'rawsocket', serializer: 'cbor', port: router.rawsocketPort });
  const subscriber = await connect({ transport: 'rawsocket', serializer: 'cbor', port: router.rawsocketPort });
  try {
    await publisher.join();
    await subscriber.join();
    await subscriber.subscribe('test.flood');
    subscriber.pause();
    const blob = 'x'.repeat(16 * 1024);
    let sent = 0;
    await waitFor(
      async () => {
        // A burst per poll: the socket buffers fill, then the router's queue passes the soft limit.
        for (let i = 0; i < 50; i++) publisher.send([16, ++sent, {}, 'test.flood', [blob]]);
        const s = (await scrape(httpPort)).samples;
        return (s.get('wampmesh_events_dropped_total{realm="realm1",reason="slow_consumer"}') ?? 0) > 0;
      },
      20_000,
      'events to be dropped for the paused subscriber',
    );
    await waitFor(
      async () => (await scrape(httpPort)).samples.get('wampmesh_slow_consumer_closes_total') === 1,
      15_000,
      'the slow-consumer close',
    );
    const { samples, text } = await scrape(httpPort);
    t.true(samples.get('wampmesh_events_delivered_total{realm="realm1"}')! < sent);
    const check = await promtoolCheck(text);
    t.is(check.code, 0, check.output);
  } finally {
    await publisher.destroy();
    await subscriber.destroy();
    await router.stop();
  }
});
