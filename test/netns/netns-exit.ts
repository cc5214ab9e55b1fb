// The last line of defence for the netns tests: a worker that crashes or hits ava's timeout must
// not leave namespaces or processes behind, so whatever is still live is removed on exit.

import type { ChildProcess } from 'node:child_process';

/** Beds not yet taken down (by `down()`, which also removes them from here). */
export const liveBeds = new Set<{ down(): void }>();
/** Processes started in a namespace that have not exited yet. */
export const liveProcesses = new Set<ChildProcess>();
// 'exit' handlers must be synchronous: SIGKILL and spawnSync.
process.once('exit', () => {
  for (const child of liveProcesses) child.kill('SIGKILL');
  for (const bed of liveBeds) bed.down();
});
