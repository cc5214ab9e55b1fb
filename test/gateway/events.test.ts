// Server-sent events and webhooks of the HTTP gateway, on the uWebSockets.js server (the
// gateway shares the WebSocket listener's port): subscribe routes with heartbeats and
// Last-Event-ID replay from the realm's SQLite history, a client that does not read cut off,
// webhook signatures, the timestamp window and replays.

import test from 'ava';
import crypto from 'node:crypto';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openSession, type OpenSession } from '../interop/support/autobahn-js.ts';
import { addApi, REALM, setupRealm, startGatewayRouter, until, type GatewayRouter } from './support.ts';

const run = promisify(execFile);
const SECRET = 'a-webhook-secret-of-some-length';

const FEED = {
  name: 'feed',
  realm: 'realm1',
  basePath: '/feed',
  routes: [
    { method: 'GET', path: '/all', subscribe: 'com.feed.', match: 'prefix', heartbeatSec: 1 },
    { method: 'GET', path: '/one/{k}', subscribe: 'com.feed.{path.k}' },
  ],
};
const HOOKS = {
  name: 'hooks',
  realm: REALM,
  basePath: '/hooks',
  routes: [
    {
      method: 'POST',
      path: '/in',
      webhook: { topic: 'com.gw.hook.in', as: 'hooker', secret: SECRET, toleranceSec: 60 },
    },
  ],
};

let g: GatewayRouter;
let pub: OpenSession;
let gw: OpenSession;

test.before(async () => {
  g = await startGatewayRouter({
    shared: true,
    config: {
      realms: [
        {
          uri: 'realm1',
          anonymous: true,
          history: [{ topic: 'com.feed.', match: 'prefix', limit: 100, maxAgeSec: 3600 }],
        },
      ],
      gateway: { apis: [FEED] },
    },
  });
  await setupRealm(g);
  await addApi(g, HOOKS);
  pub = await openSession({ type: 'websocket', url: g.router.wsUrl }, 'publisher', 'realm1');
  gw = await openSession({ type: 'websocket', url: g.router.wsUrl }, 'hook subscriber', REALM);
});

test.after.always(async () => {
  await pub?.close();
  await gw?.close();
  await g?.stop();
});

const publish = async (topic: string, v: unknown): Promise<number> =>
  (await pub.session.publish(topic, [v], {}, { acknowledge: true }))!.id;

interface SseEvent {
  id?: string;
  data?: string;
  comment?: string;
}

/** Reads server-sent events from a fetch response until `stop` says so. */
async function readEvents(r: Response, stop: (events: SseEvent[]) => boolean, ms = 5000): Promise<SseEvent[]> {
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  const deadline = Date.now() + ms;
  while (!stop(events)) {
    if (Date.now() > deadline) throw new Error(`only ${JSON.stringify(events)} within ${ms} ms`);
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const e: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) e.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) e.id = line.slice(4);
        else if (line.startsWith('data: ')) e.data = line.slice(6);
      }
      events.push(e);
    }
  }
  await reader.cancel();
  return events;
}

const dataOf = (events: SseEvent[]) =>
  events.filter((e) => e.data !== undefined).map((e) => JSON.parse(e.data!) as { topic: string; args: unknown[] });

test.serial('a subscribe route streams events with their publication IDs, and heartbeats', async (t) => {
  const r = await fetch(`${g.base}/feed/all`);
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'text/event-stream');
  const reading = readEvents(
    r,
    (ev) => ev.filter((e) => e.data).length >= 2 && ev.some((e) => e.comment === 'heartbeat'),
  );
  // The subscription is in place once the head has arrived.
  const id1 = await publish('com.feed.a', 1);
  const id2 = await publish('com.feed.b', 2);
  const events = await reading;
  const data = events.filter((e) => e.data !== undefined);
  t.deepEqual(
    data.map((e) => e.id),
    [String(id1), String(id2)],
  );
  t.deepEqual(dataOf(events), [
    { topic: 'com.feed.a', args: [1], kwargs: {} },
    { topic: 'com.feed.b', args: [2], kwargs: {} },
  ] as never);
});

test.serial('Last-Event-ID replays what was missed from the history (fetch and curl -N)', async (t) => {
  const first = await fetch(`${g.base}/feed/one/x`);
  const reading = readEvents(first, (ev) => ev.filter((e) => e.data).length >= 1);
  const seen = await publish('com.feed.x', 'seen');
  await reading;
  // Away: three more, one on another topic the route does not cover.
  const missed = [
    await publish('com.feed.x', 'm1'),
    await publish('com.feed.y', 'other'),
    await publish('com.feed.x', 'm2'),
  ];
  const again = await fetch(`${g.base}/feed/one/x`, { headers: { 'last-event-id': String(seen) } });
  const replay = readEvents(again, (ev) => ev.filter((e) => e.data).length >= 3);
  const live = await publish('com.feed.x', 'live');
  const events = (await replay).filter((e) => e.data);
  t.deepEqual(
    events.map((e) => e.id),
    [String(missed[0]), String(missed[2]), String(live)],
  );
  t.deepEqual(
    dataOf(events).map((d) => d.args[0]),
    ['m1', 'm2', 'live'],
  );
  const c = await run('curl', ['-sN', '--max-time', '1', '-H', `Last-Event-ID: ${seen}`, `${g.base}/feed/one/x`]).catch(
    (e: { stdout: string }) => e,
  );
  const ids = [...c.stdout.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
  t.deepEqual(ids, [String(missed[0]), String(missed[2]), String(live)]);
});

test.serial('a stream whose client does not read is cut off; the router goes on serving', async (t) => {
  const port = Number(new URL(g.base).port);
  const s = net.connect(port, '127.0.0.1');
  let closed = false;
  let received = 0;
  s.on('close', () => (closed = true));
  s.on('data', (d: Buffer) => (received += d.length));
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  s.write('GET /feed/one/big HTTP/1.1\r\nHost: x\r\n\r\n');
  s.pause();
  await new Promise((r) => setTimeout(r, 200));
  const blob = 'z'.repeat(64 * 1024);
  const sent = 400;
  for (let i = 0; i < sent; i++) await publish('com.feed.big', blob);
  // A paused socket notices nothing; reading again shows the connection was cut short.
  s.resume();
  await until(() => closed, 10_000, 'the unread stream closed');
  t.true(received < (sent * blob.length) / 2, `received ${received} bytes of ${sent * blob.length}`);
  // Others are served as before.
  const r = await fetch(`${g.base}/feed/all`);
  const reading = readEvents(r, (ev) => ev.some((e) => e.data));
  await publish('com.feed.after', 'ok');
  t.is(dataOf(await reading)[0]!.args[0], 'ok');
});

function signed(body: string, at = Math.floor(Date.now() / 1000)): Record<string, string> {
  const sig = crypto.createHmac('sha256', SECRET).update(`${at}.${body}`).digest('hex');
  return { 'content-type': 'application/json', 'x-timestamp': String(at), 'x-signature': `sha256=${sig}` };
}

test.serial(
  'webhooks: a signed body is published as the configured user; bad, stale and replayed ones are refused',
  async (t) => {
    const got: { args: unknown[]; publisher?: unknown }[] = [];
    await gw.session.subscribe('com.gw.hook.in', (args) => got.push({ args }));
    const body = JSON.stringify({ order: 7 });
    const headers = signed(body);
    const ok = await fetch(`${g.base}/hooks/in`, { method: 'POST', headers, body });
    t.is(ok.status, 202);
    await until(() => got.length === 1, 3000, 'webhook event');
    t.deepEqual(got[0]!.args, [{ order: 7 }]);
    // The same request again: a replay.
    const again = await fetch(`${g.base}/hooks/in`, { method: 'POST', headers, body });
    t.deepEqual([again.status, ((await again.json()) as { error: string }).error], [409, 'wampmesh.error.replayed']);
    // Another body under the same signature; a wrong secret; outside the window; missing headers.
    const tampered = await fetch(`${g.base}/hooks/in`, { method: 'POST', headers, body: JSON.stringify({ order: 8 }) });
    t.is(tampered.status, 401);
    const stale = signed(body, Math.floor(Date.now() / 1000) - 120);
    t.is((await fetch(`${g.base}/hooks/in`, { method: 'POST', headers: stale, body })).status, 401);
    t.is((await fetch(`${g.base}/hooks/in`, { method: 'POST', body })).status, 401);
    await new Promise((r) => setTimeout(r, 200));
    t.is(got.length, 1, 'nothing refused was published');
    // curl: the raw body as sent, signed the same way.
    const raw = '{"order": 9}';
    const h = signed(raw);
    const c = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      '-H',
      `x-timestamp: ${h['x-timestamp']}`,
      '-H',
      `x-signature: ${h['x-signature']}`,
      '-H',
      'content-type: application/json',
      '--data-binary',
      raw,
      `${g.base}/hooks/in`,
    ]);
    t.is(c.stdout, '202');
    await until(() => got.length === 2, 3000, 'curl webhook event');
  },
);
