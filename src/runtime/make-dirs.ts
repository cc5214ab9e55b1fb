// mkdir -p, without fs.mkdirSync's recursive option: that one retries forever at full CPU when
// a folder that exists answers ENOENT for a child it cannot hold (/proc, /sys), so a data
// folder there would hang the router instead of failing with the reason. Here, once the parent
// exists, the child's error is final.
// Used for the data folder (src/store/database.ts) and the native addon cache (native.ts).

import fs from 'node:fs';
import path from 'node:path';

/** Creates `dir` and any missing parents; `mode` applies to the folders it creates. */
export function makeDirs(dir: string, mode?: number, parentExists = false): void {
  try {
    fs.mkdirSync(dir, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parentExists || parent === dir) throw err;
    makeDirs(parent, mode);
    makeDirs(dir, mode, true);
  }
}
