// Seeded fuzzing of what another router can send. Links authenticate their peer and (without
// TLS) tag every batch, so a relay in between is caught by integrity (links-integrity.test.ts); what is
// left is what a member router itself sends: a buggy, outdated or compromised one. The promise
// is the same as for clients: bad input ends that link with a reason (MeshNode.receive returns
// one, and MeshLinks closes the connection with it), never a crash, a hang or corrupted state.
//
//  Part 2, bytes: a LinkConnection (over a fake socket) fed a handshake and frames by a peer
//  that knows the cluster secret, mutated before and after authentication (and, after it,
//  correctly tagged, so the mutation reaches the decoders): it never throws, ends with a reason
//  (exactly once), and buffers a bounded amount. The runs: fuzz-link-run.ts; their input:
//  fuzz-link-inputs.ts.
//
//  The frame decoder alone: fuzz-link-decoder.test.ts. Node A's handling of member routers'
//  frames: fuzz-node.test.ts.
//
// Seeds are fixed; FUZZ_EXTRA_SEEDS=n adds n more (a longer hunt; give ava --timeout=20m). A
// failure names the seed and the step: MESH_FUZZ_SEED=<seed> replays it, MESH_FUZZ_TRACE=1
// prints every frame and message. The regressions at the end are what the fuzz found.

import test from 'ava';
import { Rng } from '../helpers/fuzz-input.ts';
import { EXTRA_SEEDS, show } from '../helpers/fuzz-checks.ts';
import { LinkRun } from './fuzz-link-run.ts';

const LINK_SEEDS = [0x1b_0001, 0x1b_0002, 0x1b_0003];
const LINK_RUNS = 150;

const linkSeeds = [...LINK_SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0x1b_1000 + i)];

test("link: a member's mutated handshake and frames never throw, close the link once with a reason, and buffer a bounded amount", async (t) => {
  const started = performance.now();
  const failures: string[] = [];
  const codes = new Map<string, number>();
  let runs = 0;
  for (const seed of linkSeeds) {
    const rng = new Rng(seed);
    for (let i = 0; i < LINK_RUNS; i++) {
      const run = new LinkRun(rng.fork(), `seed 0x${seed.toString(16)} run ${i}`);
      await run.run();
      runs++;
      const code = `${run.stage}:${run.closes[0]?.code ?? '-'}`;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (run.notes.length > 0) failures.push(`${run.label} (${run.stage}): ${run.notes.join('; ')}`);
    }
  }
  t.log(
    `${runs} connections in ${Math.round(performance.now() - started)} ms; stage:close code ${show([...codes].sort())}`,
  );
  for (const f of failures.slice(0, 10)) t.fail(f);
  if (failures.length === 0) t.pass();
});
