// One router process of a loopback mesh, started from a config file the way an operator
// would: seeds instead of mDNS, ports chosen by the OS, stopped and cleaned up at teardown.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRouter, type RouterProcess } from './router-process.ts';

export interface MeshNodeOptions {
  readonly node: string;
  /** "host:port" of other nodes' link ports. */
  readonly seeds: readonly string[];
  readonly cluster: { readonly name: string; readonly secret: string };
  /** More mesh settings (minLinks defaults to 1). */
  readonly mesh?: Record<string, unknown>;
  /** More top-level config (listeners, bridges, oauth2...). */
  readonly config?: Record<string, unknown>;
  /** More command-line flags after the default --ws and --rawsocket on port 0. */
  readonly args?: readonly string[];
  /** Keep the data folder inside the test's folder (read after stop(), removed at teardown). */
  readonly ownDataDir?: boolean;
}

export async function startMeshNode(
  t: { teardown(fn: () => unknown): void },
  o: MeshNodeOptions,
): Promise<RouterProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wampmesh-mesh-${o.node}-`));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      ...o.config,
      mesh: {
        enabled: true,
        nodeId: o.node,
        cluster: o.cluster,
        listen: { host: '127.0.0.1', port: 0 },
        seeds: o.seeds,
        mdns: false,
        minLinks: 1,
        ...o.mesh,
      },
    }),
  );
  const r = await startRouter({
    args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', ...(o.args ?? [])],
    ...(o.ownDataDir === true && { dataDir: path.join(dir, 'data') }),
  });
  t.teardown(async () => {
    await r.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return r;
}
