// The long-lived processes the RPC, payload and fan-out runs share: this checkout's router (and
// BENCH_BASE's), fox-wamp, the router with /metrics, and nexus with BENCH_NEXUS.

import { startRouter, wampmeshBin, type RouterProcess } from '../helpers/router-process.ts';
import { startChild, type Child } from './common.ts';
import { startNexus } from './nexus.ts';
import type { RpcTarget } from './rpc.ts';
import { rpcRun, type Run } from './runs.ts';
import { baseBin, here, nexusBin, only, routerEnv } from './settings.ts';

/** Stops what was started, in reverse order. */
export type Cleanup = (() => unknown)[];

export interface BenchRouter {
  key: string;
  name: string;
  bin: string;
  process?: RouterProcess;
}

export interface Targets {
  readonly routers: BenchRouter[];
  readonly metered: RouterProcess | undefined;
  readonly foxUrl: string;
  readonly foxPids: number[];
  /** Adds nexus's row (key nexus-<key>), driven like the router's, when nexus is in the run. */
  nexusRpc(key: string, name: string, t: Pick<RpcTarget, 'transport' | 'serializer' | 'payload'>): void;
}

/** Starts the targets the selected scenarios need; nexus's rows go into `runs`. */
export async function startTargets(runs: Run[], cleanup: Cleanup): Promise<Targets> {
  const routers: BenchRouter[] = [{ key: 'router', name: 'router', bin: wampmeshBin }];
  if (baseBin !== undefined) routers.push({ key: 'base', name: 'router (base)', bin: baseBin });
  const needRouters = only.has('rpc') || only.has('fanout') || only.has('payload');
  if (needRouters) {
    for (const r of routers) {
      r.process = await startRouter({ bin: r.bin, ...(routerEnv && { env: routerEnv }) });
      const p = r.process;
      cleanup.push(() => p.stop());
    }
  }
  let fox: Child | undefined;
  if (needRouters) {
    fox = await startChild(here('fox.ts'));
    cleanup.push(() => fox!.stop());
  }
  // The same router with an HTTP listener serving /metrics, so the core counts every
  // message: compared with the router above (no metrics) in the same rounds.
  let metered: RouterProcess | undefined;
  if (needRouters) {
    const m = await startRouter({
      args: ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0', '--http', '127.0.0.1:0'],
      ...(routerEnv && { env: routerEnv }),
    });
    cleanup.push(() => m.stop());
    metered = m;
  }
  const nexus = needRouters && nexusBin !== undefined ? await startNexus(nexusBin) : undefined;
  if (nexus !== undefined) cleanup.push(() => nexus.stop());
  // nexus's rows (key nexus-<key>), driven like the router's, which compare themselves with them.
  const nexusRpc = (key: string, name: string, t: Pick<RpcTarget, 'transport' | 'serializer' | 'payload'>): void => {
    if (nexus === undefined) return;
    const where = { pids: [nexus.pid], port: nexus.rawsocketPort, url: nexus.wsUrl, wamp: true };
    runs.push(rpcRun(`nexus-${key}`, { name, ...where, ...t }));
  };
  const foxPort = fox?.hello.fox as number;
  const foxUrl = `ws://127.0.0.1:${foxPort}/`;
  const foxPids = fox === undefined ? [] : [fox.pid];
  return { routers, metered, foxUrl, foxPids, nexusRpc };
}
