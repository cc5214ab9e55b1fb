// Seeded fuzzing of everything a peer can send: the hand-written hostile suites beside this
// file check the cases someone thought of; this one throws thousands of mutated frames (WAMP
// test vectors and generated messages, broken at the value level and at the byte level) and
// checks the promises that must hold for any input:
//
//  The sans-IO core (Router + in-memory peers; fast, thousands of frames per serializer):
//   - receive(), closed(), tick() and the router's timers never throw, and nothing is logged as
//     an internal error;
//   - every frame the router sends decodes, in the peer's serialization, to a valid WAMP message
//     of a type a router may send (parseMessage accepts it); a session's first is WELCOME,
//     CHALLENGE or ABORT;
//   - the router closes a peer only with a reason the peer was told (ABORT, or GOODBYE), or for
//     one the contract names (a slow consumer, no HELLO in time, the client's own ABORT), and
//     sends nothing after an ABORT; an ABORT is always followed by the close;
//   - nothing hangs: a probe CALL (a meta procedure) is answered at once, unless the session
//     was ended or is waiting to be (told GOODBYE, a failed authentication's delayed ABORT);
//   - well-behaved sessions in the same realm (callees and subscribers in all three
//     serializations, which get the fuzzed payloads transcoded) are never disturbed;
//   - timers asked of the scheduler have sane delays, and their callbacks do not throw;
//   - afterwards the router is not wedged: no leaked sessions, registrations or
//     subscriptions, and fresh sessions can register+call and subscribe+publish.
//
//  Over real sockets: fuzz-sockets.test.ts.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the step and the frame.
// FUZZ_EXTRA_SEEDS=n runs more of them, for a longer hunt on a developer's machine.

import test, { type ExecutionContext } from 'ava';
import type { Serializer } from '../../src/serializers/index.ts';
import { SERIALIZERS, EXTRA_SEEDS, runSeeds, show } from '../helpers/fuzz-checks.ts';
import { CoreFuzz, noStats } from './fuzz-core-harness.ts';

const CORE_SEEDS = [
  0x5eed_0001, 0x5eed_0002, 0x5eed_0003, 0x5eed_0004, 0x5eed_0005, 0x5eed_0006, 0x5eed_0007, 0x5eed_0008,
];
const CORE_STEPS = 1_000;

const coreSeeds = [...CORE_SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0x5eed_1000 + i)];

function runCoreFuzz(t: ExecutionContext, serializer: Serializer): void {
  const started = performance.now();
  const totals = noStats();
  const failures = runSeeds(
    coreSeeds,
    CORE_STEPS,
    (seed) => new CoreFuzz(serializer, seed),
    (fuzz) => {
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += fuzz.stats[k];
    },
  );
  t.log(
    `${serializer.name}: ${coreSeeds.length} seeds x ${CORE_STEPS} steps: ${show(totals)} in ${Math.round(performance.now() - started)} ms`,
  );
  for (const f of failures) t.fail(f);
  if (failures.length === 0) t.pass();
}

for (const serializer of SERIALIZERS) {
  test.serial(
    `core/${serializer.name}: mutated frames never throw, get well-formed answers, and leave the router working`,
    (t) => {
      runCoreFuzz(t, serializer);
    },
  );
}
