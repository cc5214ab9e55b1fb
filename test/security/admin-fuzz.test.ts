// Seeded fuzzing of the admin API over WAMP: every wampmesh.* admin procedure, called through the
// real Router (in-memory peers, all three serializations) on a real SQLite store, with valid
// calls built from the store's current state and then mutated at the value level (wrong types,
// missing and extra fields, huge strings, odd unicode, deep nesting, "__proto__"/"constructor"
// keys, negative/NaN/huge numbers, duplicate names, references to missing objects, cycles in
// group nesting, imports of mutated exports). The promises checked after every call:
//
//   - the call gets exactly one answer, RESULT or ERROR, never none (a change to the
//     administrator's own access may end its session after the answer; a frame nested too deep
//     to decode is refused by the session with ABORT, as test/hostile covers);
//   - an ERROR carries a wamp.error.* or wampmesh.error.* URI and a message, and never
//     wampmesh.error.internal; nothing is logged at error level;
//   - a refused call changes nothing: the export is the same before and after, and no write
//     was committed (the store's version is unchanged);
//   - after an accepted call the store passes its own checks: its export imports into a fresh
//     store and exports back the same; what the call returned (a record, a list, the export)
//     is what the store holds, as the caller's serialization carries it; the router serves
//     exactly the store's realms;
//   - at the end of a seed: PRAGMA integrity_check and foreign_key_check are clean, the admin
//     session still answers, an import of the starting document is accepted, and a known user
//     logs in with its password (ticket) and the administrator with trust on the Unix socket.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the step and the call.
// FUZZ_EXTRA_SEEDS=n runs more of them, ADMIN_FUZZ_STEPS=n longer ones (default 300), for a
// longer hunt on a developer's machine.

import test, { type ExecutionContext } from 'ava';
import { EXTRA_SEEDS, show } from '../helpers/fuzz-checks.ts';
import { AdminFuzz } from './admin-fuzz-harness.ts';

// The last one is kept because it found a bug the others miss (a WAMP-CRA key that is not base64).
const SEEDS = [0xad01_0001, 0xad01_0002, 0xad01_0003, 0xad01_0004, 0xad01_0005, 0xad01_0006, 0xad01_1035];
const STEPS = Number(process.env.ADMIN_FUZZ_STEPS ?? 300);

const seeds = [...new Set([...SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0xad01_1000 + i)])];

async function runSeed(t: ExecutionContext, seed: number): Promise<void> {
  const started = performance.now();
  const fuzz = new AdminFuzz(seed);
  try {
    fuzz.run(STEPS);
    await fuzz.finalChecks();
  } finally {
    fuzz.dispose();
  }
  t.log(
    `seed 0x${seed.toString(16)}: ${STEPS} steps ${show(fuzz.stats, 1000)} in ${Math.round(performance.now() - started)} ms`,
  );
  t.pass();
}

for (const seed of seeds) {
  test.serial(
    `admin API fuzz, seed 0x${seed.toString(16)}: mutated calls get RESULT or a proper ERROR and leave the store consistent`,
    async (t) => {
      await runSeed(t, seed);
    },
  );
}
