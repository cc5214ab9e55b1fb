// Seeded fuzzing of what another router can send. Links authenticate their peer and (without
// TLS) tag every batch, so a relay in between is caught by integrity (links-integrity.test.ts); what is
// left is what a member router itself sends: a buggy, outdated or compromised one. The promise
// is the same as for clients: bad input ends that link with a reason (MeshNode.receive returns
// one, and MeshLinks closes the connection with it), never a crash, a hang or corrupted state.
//
//  Part 1, sans-IO: node A (Router + MeshNode + Replicator over its own SQLite security store)
//  has two neighbours: B, an honest MeshNode with a callee and a client, and F, driven by the
//  fuzz, which plays a member router: it advertises a callee and subscriptions, answers A's
//  calls, calls A's callee, calls B through A, publishes, replicates security records, forges
//  other nodes' traffic (advertisements of A and B, answers, chunks and cancels of calls
//  between A and B, calls under A's and B's next IDs), and sends all of that mutated at the
//  value level (wrong types, missing and extra fields, huge, negative and NaN numbers, BigInts,
//  unknown types and realms, origin = A, dst not A, IDs of live calls and sessions, absurd LSA
//  epochs/seqs/links, replication records with bad keys, values and HLCs) or at the byte level
//  (a mutated CBOR MESH payload, deep nesting, values our encoders never write). A's own
//  clients send such values too, as CBOR clients can. Checked after every step:
//   - receive() never throws; a reason ends the link (A.linkDown), and F dials again;
//   - every frame A sends (to B and to F) encodes and passes validateFrame; B never refuses one;
//   - A's clients (a callee, a subscriber and a caller, in CBOR and MsgPack; B's in JSON and
//     CBOR) are never closed and only get well-formed messages of the types a router sends,
//     with well-typed well-known details, and INTERRUPTs only for what they serve; every call
//     gets exactly one final answer; a call F cannot have answered (its route and callee are
//     B's or A's own) gets its own payload back; a local call is answered at once;
//   - the realms replicated records must not touch (the local ones) stay, and the store's
//     replication versions describe exactly what the store holds, in the HLC format.
//  Afterwards (F gone, its advertisements expired): no calls in flight, no proxies but B's, no
//  callers but B's, no pending invocations, no registrations, subscriptions or sessions left
//  once the clients leave, and a fresh call and publication cross A <-> B both ways.
//
//  The link's bytes: fuzz-link.test.ts. The harness: mesh-fuzz.ts.
//
// Seeds are fixed; FUZZ_EXTRA_SEEDS=n adds n more (a longer hunt; give ava --timeout=20m). A
// failure names the seed and the step: MESH_FUZZ_SEED=<seed> replays it, MESH_FUZZ_TRACE=1
// prints every frame and message. What the fuzz found, one regression case each:
// fuzz-node-state.test.ts, fuzz-node-call-ids.test.ts and fuzz-node-call-answers.test.ts.

import test from 'ava';
import { runSeeds, show } from '../helpers/fuzz-checks.ts';
import { MESH_STEPS, MeshFuzz, meshSeeds } from './mesh-fuzz.ts';

test('mesh: mutated frames from a member router never throw, end the link with a reason, and leave A, its clients and its store intact', (t) => {
  const started = performance.now();
  const totals: Record<string, number> = {};
  const reasons = new Map<string, number>();
  const accepted = new Map<string, number>();
  const failures = runSeeds(
    meshSeeds,
    MESH_STEPS,
    (seed) => new MeshFuzz(seed),
    (fuzz) => {
      for (const [k, v] of Object.entries(fuzz.stats)) totals[k] = (totals[k] ?? 0) + v;
      for (const [k, v] of fuzz.accepted) accepted.set(k, (accepted.get(k) ?? 0) + v);
      for (const r of fuzz.refusedLog) {
        const k = r.replace(/[0-9"].*$/, '');
        reasons.set(k, (reasons.get(k) ?? 0) + 1);
      }
    },
  );
  t.log(
    `${meshSeeds.length} seeds x ${MESH_STEPS} steps: ${show(totals)} in ${Math.round(performance.now() - started)} ms`,
  );
  t.log(`taken, by type: ${show([...accepted].sort())}`);
  t.log(`reasons: ${show([...reasons].sort((x, y) => y[1] - x[1]).slice(0, 12))}`);
  for (const f of failures) t.fail(f);
  if (failures.length === 0) t.pass();
});
