// Seeded fuzzing of everything a peer can send: the hand-written hostile suites beside this
// file check the cases someone thought of; this one throws thousands of mutated frames (WAMP
// test vectors and generated messages, broken at the value level and at the byte level) and
// checks the promises that must hold for any input:
//
//  Over real sockets, against the router process (slower, a few hundred frames per
//  transport and serializer): RawSocket with mutated handshakes and frame headers (reserved
//  bits and types, oversized and lying lengths, frames split across reads) and WebSocket (text
//  for JSON, binary for MsgPack/CBOR, some frames of the wrong type or with broken headers);
//  every connection's probe CALL is answered, or the connection ended, within a bound; what the
//  router sends is well-formed; a healthy connection gets a PONG for every PING; the process
//  keeps serving (a fresh client calls through a callee that lived through it all), and its
//  log holds no error and no Node warning.
//
//  The sans-IO core, with thousands of frames: fuzz-core.test.ts.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the step and the frame.
// FUZZ_EXTRA_SEEDS=n runs more of them, for a longer hunt on a developer's machine.

import test, { type ExecutionContext } from 'ava';
import type { Serializer } from '../../src/serializers/index.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { SERIALIZERS, EXTRA_SEEDS, show } from '../helpers/fuzz-checks.ts';
import { servedRouter } from '../helpers/served-router.ts';
import { SOCKET_MAX, type SocketTally } from './fuzz-sockets-common.ts';
import { rawSocketCaseAt } from './fuzz-sockets-rawsocket.ts';
import { webSocketCaseAt, webSocketHeaderCaseAt } from './fuzz-sockets-websocket.ts';

const SOCKET_SEED = 0x50c_e7;
/** Per transport and serializer (FUZZ_EXTRA_SEEDS adds ten each for a longer hunt). */
const CONNECTIONS = 60 + 10 * EXTRA_SEEDS;

const fx = servedRouter(test, { limits: { maxMessageSize: SOCKET_MAX } }, { checkAfterEach: true });

// The cases, aimed at this file's router.
const rawSocketCase = (rng: Rng, s: Serializer, tally: SocketTally) =>
  rawSocketCaseAt(fx.router.rawsocketPort, rng, s, tally);
const webSocketCase = (rng: Rng, s: Serializer, tally: SocketTally) => webSocketCaseAt(fx.router.wsUrl, rng, s, tally);
const webSocketHeaderCase = (rng: Rng, s: Serializer, tally: SocketTally) =>
  webSocketHeaderCaseAt(fx.router.wsUrl, rng, s, tally);

/** Lines of the router's log since `before` (an earlier stderr()) that say something went wrong inside it. */
function badLogLines(before: string): string[] {
  const now = fx.router.stderr();
  const fresh = now.startsWith(before) ? now.slice(before.length) : now;
  return fresh.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      return level === 'error' || level === 'fatal';
    } catch {
      return true; // not a log line: a Node warning (TimeoutOverflowWarning...) or a stack trace
    }
  });
}

async function runSocketFuzz(
  t: ExecutionContext,
  name: string,
  seed: number,
  one: (rng: Rng, tally: SocketTally) => Promise<string[]>,
  connections: number,
): Promise<void> {
  const started = performance.now();
  const log = fx.router.stderr();
  const rng = new Rng(seed);
  const tally: SocketTally = { connections: 0, frames: 0, aborted: 0, answered: 0, closed: 0, refused: 0 };
  for (let i = 0; i < connections; i++) {
    const caseSeed = rng.int(2 ** 32);
    const problems = await one(new Rng(caseSeed), tally);
    for (const p of problems)
      t.fail(`${name} seed 0x${seed.toString(16)} case ${i} (seed 0x${caseSeed.toString(16)}): ${p}`);
    if (problems.length > 0) break;
    if (i % 8 === 7) await fx.service.assertServing();
  }
  await fx.service.assertServing();
  const bad = badLogLines(log);
  if (bad.length > 0) t.fail(`${name}: the router logged:\n  ${bad.slice(0, 5).join('\n  ').slice(0, 3000)}`);
  t.log(`${name}: ${show(tally)} in ${Math.round(performance.now() - started)} ms`);
  t.pass();
}

for (const [i, s] of SERIALIZERS.entries()) {
  test.serial(
    `rawsocket/${s.name}: mutated handshakes, headers and frames are answered or closed in time; the router keeps serving`,
    async (t) => {
      await runSocketFuzz(
        t,
        `rawsocket/${s.name}`,
        SOCKET_SEED + i,
        (rng, tally) => rawSocketCase(rng, s, tally),
        CONNECTIONS,
      );
    },
  );
  test.serial(
    `websocket/${s.name}: mutated messages are answered or closed in time; the router keeps serving`,
    async (t) => {
      await runSocketFuzz(
        t,
        `websocket/${s.name}`,
        SOCKET_SEED + 16 + i,
        (rng, tally) => webSocketCase(rng, s, tally),
        CONNECTIONS,
      );
    },
  );
  test.serial(`websocket/${s.name}: broken frame headers are answered or closed in time`, async (t) => {
    await runSocketFuzz(
      t,
      `websocket-header/${s.name}`,
      SOCKET_SEED + 32 + i,
      (rng, tally) => webSocketHeaderCase(rng, s, tally),
      8,
    );
  });
}
