// The mesh set-up of the benchmark: four router processes A-B-C-D linked into a chain on
// loopback by static seeds (each node seeds only the previous one; maxLinks 2), as
// test/mesh/serve-mesh.test.ts starts them. A caller on A and a callee on D then cross three
// links (A->B->C->D and back); the same calls with caller and callee both on A are the
// single-node figure of the same run. The chain is checked with `wampmesh mesh status` on every
// node before any call: each node has links only to its neighbours, and A routes to D via B.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';

export const NODES = ['A', 'B', 'C', 'D'] as const;
const SECRET = 'benchmark cluster secret, loopback only';

export interface MeshChain {
  readonly routers: readonly RouterProcess[];
  stop(): Promise<void>;
}

interface Status {
  node: string;
  links: string[];
  routes: Record<string, string>;
}

function status(r: RouterProcess, bin: string): Status | undefined {
  const ran = spawnSync(bin, ['mesh', 'status', '--data', r.dataDir], { encoding: 'utf8', timeout: 10_000 });
  if (ran.status !== 0) return undefined;
  try {
    return JSON.parse(ran.stdout) as Status;
  } catch {
    return undefined;
  }
}

export async function startMeshChain(bin: string, env?: NodeJS.ProcessEnv): Promise<MeshChain> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-bench-mesh-'));
  const routers: RouterProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(routers.map((r) => r.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, node] of NODES.entries()) {
      const previous = routers[i - 1];
      const seeds =
        previous === undefined ? [] : [`127.0.0.1:${previous.listeners.find((l) => l.transport === 'mesh')!.port}`];
      const file = path.join(dir, `${node}.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          mesh: {
            enabled: true,
            nodeId: node,
            cluster: { name: 'bench', secret: SECRET },
            listen: { host: '127.0.0.1', port: 0 },
            seeds,
            mdns: false,
            minLinks: 1,
            maxLinks: 2,
          },
        }),
      );
      routers.push(
        await startRouter({
          bin,
          args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'],
          ...(env && { env }),
        }),
      );
    }
    // Links come up and link-state floods within a second or two.
    const deadline = performance.now() + 30_000;
    for (;;) {
      const all = routers.map((r) => status(r, bin));
      const chain = all.every((st, i) => {
        if (st === undefined) return false;
        const neighbours = [NODES[i - 1], NODES[i + 1]].filter((n) => n !== undefined).sort();
        return JSON.stringify([...st.links].sort()) === JSON.stringify(neighbours);
      });
      if (chain && all[0]!.routes.D === 'B' && all[3]!.routes.A === 'C') break;
      if (performance.now() > deadline) throw new Error(`mesh chain did not form: ${JSON.stringify(all)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { routers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
