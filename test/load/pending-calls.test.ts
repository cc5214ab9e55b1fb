// A caller that keeps calling a callee that reads but never answers: the real router accepts
// calls up to the realm's maxPendingCallsPerSession, refuses the rest at once with
// wampmesh.error.limit_exceeded (logged), and its memory stays bounded. Before the limit every
// call was held (500 000 of them took the router from 122 to 345 MB).

import test from 'ava';
import { connect, rssBytes, startConfiguredRouter, waitFor, type RawClient } from '../helpers/raw-client.ts';

const LIMIT = 1000;
const ROUND = 50_000;
const ROUNDS = 8;

/** Counts the caller's ERRORs by URI and empties its inbox (the test must not hold them either). */
function drain(client: RawClient, counts: Map<string, number>): void {
  for (const m of client.inbox) if (m[0] === 8) counts.set(m[4] as string, (counts.get(m[4] as string) ?? 0) + 1);
  client.inbox.length = 0;
}

test('a caller flooding a callee that never yields gets limit_exceeded beyond the limit; router RSS stays bounded', async (t) => {
  t.timeout(120_000);
  const router = await startConfiguredRouter({ logLevel: 'warn', realms: [{ uri: 'realm1', anonymous: true }] });
  t.teardown(() => router.stop());
  const callee = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  await callee.join('realm1');
  callee.send([64, 1, {}, 'com.sink']);
  await callee.next((m) => m[0] === 65);
  const caller = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
  await caller.join('realm1');
  const idle = rssBytes(router.pid);

  const counts = new Map<string, number>();
  let request = 10;
  const round = async (): Promise<void> => {
    const expected = [...counts.values()].reduce((a, b) => a + b, 0) + ROUND - (request === 10 ? LIMIT : 0);
    for (let i = 0; i < ROUND; i++) {
      caller.send([48, request++, {}, 'com.sink', [i]]);
      if (i % 1000 === 999) {
        await new Promise((r) => setImmediate(r));
        drain(caller, counts);
        callee.inbox.length = 0;
      }
    }
    await waitFor(
      () => {
        drain(caller, counts);
        callee.inbox.length = 0;
        return [...counts.values()].reduce((a, b) => a + b, 0) >= expected;
      },
      60_000,
      'every refusal',
    );
  };
  // RSS after each round: the first rounds grow the heap, and V8 may grow its young generation
  // (two semi-spaces of up to 16 MiB, scripts/wampmesh) and collect the old one lazily at any round,
  // so the bounds leave room for that; a router holding refused calls (~450 octets each before
  // the limit) would add over 20 MiB every round.
  const rss: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await round();
    rss.push(rssBytes(router.pid));
  }
  t.deepEqual(
    [...counts],
    [['wampmesh.error.limit_exceeded', ROUNDS * ROUND - LIMIT]],
    'all but the first LIMIT calls refused, nothing else',
  );
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  t.log(`RSS idle ${mib(idle)} MiB; after each ${ROUND} calls: ${rss.map(mib).join(', ')} MiB`);
  t.true(rss.at(-1)! - idle < 80 * 2 ** 20, `at most 80 MiB above idle after ${ROUNDS * ROUND} calls`);
  t.true(rss.at(-1)! - rss[1]! < 40 * 2 ** 20, `rounds 3..${ROUNDS} add at most V8's young generation`);
  t.regex(
    router.stderr(),
    /"limit":"maxPendingCallsPerSession".*"msg":"request refused: limit exceeded"|"msg":"request refused: limit exceeded".*"limit":"maxPendingCallsPerSession"/,
  );
  const logLines = router
    .stderr()
    .split('\n')
    .filter((l) => l.includes('request refused')).length;
  t.true(logLines >= 1 && logLines <= 3, `rate-limited log (${logLines} lines)`);
  // The callee answers nothing, but a caller whose calls are refused is still served otherwise.
  caller.send([48, request++, {}, 'wamp.session.count']);
  t.is((await caller.next((m) => m[0] === 50))[0], 50);
});
