// At the open-file limit clients are refused, and libuv hides that from Node (it accepts on a
// reserve descriptor and closes at once), so the router must notice by itself: a rate-limited
// warning while it lasts, and a line when it is over. The router runs under a low
// RLIMIT_NOFILE (prlimit, util-linux) and must serve again once connections are gone.

import test from 'ava';
import { startRouter } from '../helpers/router-process.ts';
import { connect, openTcp, waitFor, type TcpProbe } from '../helpers/raw-client.ts';

// An idle router holds about 30 descriptors (node, libuv, uWS, SQLite, listeners).
const NOFILE = 64;

test('at the open-file limit the router logs it (once, not per refusal) and recovers', async (t) => {
  t.timeout(60_000);
  const router = await startRouter({ wrapper: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`] });
  const held: TcpProbe[] = [];
  try {
    let refused = 0;
    for (let i = 0; i < NOFILE && refused < 5; i++) {
      const probe = await openTcp(router.rawsocketPort);
      probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
      await waitFor(
        () => probe.received().length >= 4 || probe.socket.destroyed,
        5_000,
        'a handshake reply or a close',
      );
      if (probe.received().length >= 4) held.push(probe);
      else refused++;
    }
    t.true(refused >= 5, `clients were refused at the limit (held ${held.length})`);
    await waitFor(() => router.stderr().includes('at the open-file limit'), 10_000, 'the open-file limit warning');
    const line = JSON.parse(
      router
        .stderr()
        .split('\n')
        .find((l) => l.includes('at the open-file limit'))!,
    ) as { limit?: number; open_files?: number };
    t.is(line.limit, NOFILE);
    t.is(router.stderr().split('at the open-file limit').length - 1, 1, 'one line for the whole episode so far');

    for (const p of held) p.socket.destroy();
    await waitFor(() => router.stderr().includes('open files back below the limit'), 10_000, 'the recovery line');
    for (const transport of ['rawsocket', 'websocket'] as const) {
      const client = await connect({ transport, port: router.rawsocketPort, url: router.wsUrl });
      await client.join();
      await client.destroy();
    }
    t.pass();
  } finally {
    for (const p of held) p.socket.destroy();
    t.is(await router.stop(), 0, 'a clean exit');
  }
});
