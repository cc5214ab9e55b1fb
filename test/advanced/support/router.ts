// The real router process (test/helpers/router-process.ts: `scripts/wampmesh serve` on
// OS-chosen loopback ports) with a config file, and optionally a data folder the test owns:
// retained events and event history must be read back by a second router process started on
// the same folder.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRouter, type RouterProcess } from '../../helpers/router-process.ts';

export interface Endpoints {
  readonly wsUrl: string;
  readonly rawsocketHost: string;
  readonly rawsocketPort: number;
}

export type RunningRouter = RouterProcess;

export interface RealmSpec {
  uri: string;
  [option: string]: unknown;
}

/** A config file object with these realms (anonymous unless a spec says otherwise). */
export function configWithRealms(realms: RealmSpec[]): Record<string, unknown> {
  return { realms: realms.map((r) => ({ anonymous: true, ...r })) };
}

/**
 * Starts the router with this configuration. Without `dataDir` a temp folder is used and
 * removed when the router exits; with it, the folder is kept for the next start (the test
 * removes it). The config file is read at start only, so it is removed once listening.
 */
export async function launchRouter(
  config: Record<string, unknown>,
  options: { dataDir?: string } = {},
): Promise<RunningRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-adv-cfg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    return await startRouter({
      args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'],
      ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
