// Test bed helpers for the network-namespace tests: build a topology with scripts/netns.sh,
// start processes inside its namespaces, read their output line by line with deadlines, stop
// them (SIGTERM, then SIGKILL), run Autobahn|Python there. Every bed is removed by the test
// that made it (t.teardown / after.always), and by an exit hook if the worker dies.

// The parts live in netns-paths.ts, netns-bed.ts, netns-process.ts, netns-python.ts and
// netns-exit.ts; this module re-exports them, so the tests import from one place.

export { netnsScript, node24, python, repoRoot, wampmeshBin } from './netns-paths.ts';
export {
  announceSkip,
  createBed,
  netnsUnavailable,
  type Bed,
  type BedNode,
  type NodeInterface,
  type Topology,
} from './netns-bed.ts';
export {
  startInNetns,
  startNodeInNetns,
  type LineMatcher,
  type NsProcess,
  type StartOptions,
} from './netns-process.ts';
export {
  pythonAutobahnMissing,
  runPythonInNetns,
  startPythonInNetns,
  type PythonResult,
} from './netns-python.ts';

/** Polls `probe` until it returns a value other than undefined, or throws at the deadline. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
