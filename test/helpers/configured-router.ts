// The router process started with a config file (limits, realms), for tests of configured limits.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RouterProcess, startRouter } from './router-process.ts';

/**
 * The real router process with a config file (limits etc.; realm1 anonymous by default), on
 * loopback ports the OS picks. The file is only read at start, so it is removed once listening.
 */
export async function startConfiguredRouter(config: Record<string, unknown>): Promise<RouterProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-cfg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    return await startRouter({ args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
