// What the fuzz suites (test/hostile/fuzz-core.test.ts, fuzz-sockets.test.ts) share: the
// serializers they run, the roles their sessions announce, which message types a router may
// send, and how a failure is shown.

import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';

export const SERIALIZERS: readonly Serializer[] = [json, msgpack, cbor];

/** Message types a router sends to a client. */
export const ROUTER_TO_CLIENT = new Set([2, 3, 4, 6, 8, 17, 33, 35, 36, 50, 65, 67, 68, 69]);

const FEATURES = {
  progressive_call_results: true,
  progressive_call_invocations: true,
  call_canceling: true,
  call_timeout: true,
  caller_identification: true,
  payload_passthru_mode: true,
  publisher_exclusion: true,
  publisher_identification: true,
  pattern_based_registration: true,
  shared_registration: true,
};
export const ALL_ROLES = {
  caller: { features: FEATURES },
  callee: { features: FEATURES },
  publisher: { features: FEATURES },
  subscriber: { features: FEATURES },
};

/** FUZZ_EXTRA_SEEDS=n adds n more seeds (for a longer local hunt; CI runs the fixed lists). */
export const EXTRA_SEEDS = Number(process.env.FUZZ_EXTRA_SEEDS ?? 0);

export class Violation extends Error {
  override readonly name = 'Violation';
}

export const hex = (b: Uint8Array, max = 160): string => {
  const h = Buffer.from(b).toString('hex');
  return h.length > max * 2 ? `${h.slice(0, max * 2)}... (${b.length} octets)` : h;
};
export const show = (v: unknown, max = 300): string => {
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint' ? `${x}n` : ArrayBuffer.isView(x) ? `<${x.constructor.name} ${x.byteLength}>` : x,
    );
  } catch {
    s = '<too deep or cyclic to print>';
  }
  return s === undefined ? typeof v : s.length > max ? `${s.slice(0, max)}...` : s;
};

/** A seeded fuzz run: `run` throws a Violation for a broken promise; `dispose` frees it. */
export interface SeedRun {
  run(steps: number): void;
  dispose(): void;
}

/**
 * Runs every seed, even after one fails, so one finding does not hide the next; `each` reads a
 * run's statistics once it is over. The Violations, as messages; anything else is thrown.
 */
export function runSeeds<R extends SeedRun>(
  seeds: readonly number[],
  steps: number,
  make: (seed: number) => R,
  each: (run: R) => void,
): string[] {
  const failures: string[] = [];
  for (const seed of seeds) {
    const run = make(seed);
    try {
      run.run(steps);
    } catch (error) {
      if (!(error instanceof Violation)) throw error;
      failures.push(error.message);
    } finally {
      run.dispose();
    }
    each(run);
  }
  return failures;
}
