// The two kinds of expected failure; main.ts prints their message alone (no stack).

/** A mistake on the command line: exit 2, as getopt-style tools do. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure to start (cannot listen, cannot create the data dir), phrased for the operator: exit 1. */
export class StartError extends Error {
  override name = 'StartError';
}
