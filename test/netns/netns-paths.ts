// Where the netns tests find the repository's scripts and Debian's Python, in one place for the
// bed, the processes started in it and the tests.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const netnsScript = join(repoRoot, 'scripts', 'netns.sh');
export const node24 = join(repoRoot, 'scripts', 'node24');
export const wampmeshBin = join(repoRoot, 'scripts', 'wampmesh');
// Debian's interpreter: the python3 first on PATH does not see Debian's python3-autobahn.
export const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';
