// Stands in for src/cli/version.ts inside the single executable (see README.md): the same
// exports, answered from what the build recorded.

import { buildInfo, buildVersionLine } from '../build-info.ts';

export function packageVersion(): string {
  return buildInfo?.version ?? 'unknown';
}

export function gitRevision(): string | undefined {
  return buildInfo?.revision;
}

export function versionLine(): string {
  return buildInfo ? buildVersionLine(buildInfo) : 'wampmesh unknown';
}
