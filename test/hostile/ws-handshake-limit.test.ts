// A WebSocket client that never completes its HTTP upgrade request holds a connection and a
// parser for nothing. README ("Limits"): the 10 s handshake limit (limits.handshakeTimeoutMs)
// covers it, whether the client is silent, stops half-way, or drips an octet a second (an
// idle timer alone would be reset by that). uWebSockets.js checks timeouts every 4 s, so the
// close comes within 4 s after the limit.

import test from 'ava';
import { openTcp, startConfiguredRouter, within } from '../helpers/raw-client.ts';

const LIMIT_MS = 10_000; // the default of limits.handshakeTimeoutMs
const GRANULARITY_MS = 4_000;

test('WebSocket connections that never finish the upgrade are closed at the handshake limit', async (t) => {
  t.timeout(60_000);
  const router = await startConfiguredRouter({});
  const drips: NodeJS.Timeout[] = [];
  try {
    const start = performance.now();
    const silent = await openTcp(router.wsPort);
    const halfway = await openTcp(router.wsPort);
    halfway.socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    const dripping = await openTcp(router.wsPort);
    dripping.socket.write('GET /ws HTTP/1.1\r\n');
    drips.push(
      setInterval(() => {
        if (!dripping.socket.destroyed) dripping.socket.write('X');
      }, 1_000),
    );

    const deadline = LIMIT_MS + GRANULARITY_MS + 2_000;
    const closedAt = await within(
      Promise.all([silent, halfway, dripping].map((p) => p.closed.then(() => performance.now() - start))),
      deadline,
      'every unfinished upgrade to be closed',
    );
    t.log(`closed after ${closedAt.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`);
    for (const ms of closedAt) t.true(ms >= LIMIT_MS - GRANULARITY_MS, `not long before the limit: ${ms} ms`);
  } finally {
    for (const d of drips) clearInterval(d);
    await router.stop();
  }
});
