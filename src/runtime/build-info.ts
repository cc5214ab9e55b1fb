// What the single executable knows about its own build, injected by scripts/build-binary.mjs
// through esbuild `define` (so nothing is read from disk at run time). Undefined when running
// from the sources.

export interface BuildInfo {
  /** package.json version, e.g. "0.1.0" */
  readonly version: string;
  /** Short git commit, "-dirty" appended when the sources differed from it; "unknown" without git. */
  readonly revision: string;
  /** ISO 8601 UTC; from SOURCE_DATE_EPOCH or the commit date, never the build machine's clock. */
  readonly date: string;
  /** Node.js version inside the executable, e.g. "v24.21.0". */
  readonly node: string;
}

declare const __WAMPMESH_BUILD__: BuildInfo | undefined;

export const buildInfo: BuildInfo | undefined =
  typeof __WAMPMESH_BUILD__ === 'undefined' ? undefined : __WAMPMESH_BUILD__;

/** "wampmesh 0.1.0 (f08316a) built 2025-11-22T14:24:00Z, node v24.21.0 linux-arm64" */
export function buildVersionLine(info: BuildInfo): string {
  return `wampmesh ${info.version} (${info.revision}) built ${info.date}, node ${info.node} ${process.platform}-${process.arch}`;
}
