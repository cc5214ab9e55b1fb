// The gateway's WAMP client session (src/gateway/client.ts) against the in-process router:
// leaving with GOODBYE is one exchange, not a loop of GOODBYEs answered with GOODBYEs, and
// the pool's idle sweep and stop leave the router without the sessions.

import test from 'ava';
import { ClientSession } from '../../src/gateway/client.ts';
import { SessionPool } from '../../src/gateway/sessions.ts';
import { createLogger } from '../../src/log.ts';
import { Router } from '../../src/router/router.ts';

function routerWithLog(): { router: Router; lines: string[] } {
  const lines: string[] = [];
  const router = new Router({
    realms: [{ uri: 'realm1', anonymous: true }],
    logger: createLogger({ level: 'warn', destination: { write: (l) => void lines.push(l) } }),
  });
  return { router, lines };
}

const info = { type: 'http', peer: '127.0.0.1', local: true };

test('close() says GOODBYE once and the router lets the session go cleanly', async (t) => {
  const { router, lines } = routerWithLog();
  const s = new ClientSession(router, info, { kind: 'anonymous' });
  const w = await s.open('realm1');
  t.false('abort' in w);
  t.is(router.sessionCount, 1);
  let closedWith: string | undefined;
  s.onClosed((r) => (closedWith = r));
  s.close();
  t.is(closedWith, 'normal');
  t.false(s.isOpen);
  t.is(router.sessionCount, 0);
  t.deepEqual(lines, [], 'no internal error in the router');
  // A call on a closed session is answered at once.
  t.like(await s.call('com.x', [], undefined, {}).result, { ok: false, error: 'wamp.error.network_failure' });
});

test('the pool reuses a session per key and closes them all on close()', async (t) => {
  const { router, lines } = routerWithLog();
  const pool = new SessionPool(router, { maxSessions: 2, idleMs: 60_000 });
  const a1 = await pool.get('a', 'realm1', info, { kind: 'anonymous' });
  const a2 = await pool.get('a', 'realm1', info, { kind: 'anonymous' });
  t.true('session' in a1 && 'session' in a2 && a1.session === a2.session);
  await pool.get('b', 'realm1', info, { kind: 'anonymous' });
  await pool.get('c', 'realm1', info, { kind: 'anonymous' });
  // At most two: the least recently used one was closed.
  t.is(pool.size, 2);
  t.is(router.sessionCount, 2);
  pool.close();
  t.is(router.sessionCount, 0);
  t.deepEqual(lines, []);
});
