// Seeded, deterministic hostile input for the fuzz suites (test/hostile/fuzz-*.test.ts): a small
// PRNG, a generator of awkward values, the WAMP test vectors as seed frames, and mutators that
// work on the decoded message (wrong types, wrong codes, missing or extra elements, poisoned
// options) or on its bytes (flips, truncation, insertion, splices). Everything is drawn from one
// Rng, so a seed reproduces a run exactly.
//
// Split by concept and gathered here, so that the fuzz suites keep importing one path:
// fuzz-rng.ts, fuzz-values.ts, fuzz-vector-frames.ts, fuzz-mutations.ts, fuzz-spliced-values.ts.

export { mutateBytes, mutateValue } from './fuzz-mutations.ts';
export { Rng } from './fuzz-rng.ts';
export { DEEP, deepBytes, exoticBytes, withDeepValue, withSplicedValue } from './fuzz-spliced-values.ts';
export { nested, OPTION_KEYS, protoDict, randomValue, STRINGS } from './fuzz-values.ts';
export { VECTORS_DIR, vectorFrames } from './fuzz-vector-frames.ts';
