// Where a stretch of code allocates: V8's sampling heap profiler with the objects that either
// GC already collected counted too (a request's garbage is most of what it allocates, and a
// plain heap profile shows only what is still alive). Each sample stands for the bytes
// allocated around it, so the sum over sites estimates everything allocated in between.
//
//   const sampling = startAllocSampling();  ...work...  const sites = await sampling.stop();
//
// Used by gateway-core.ts (GATEWAY_CORE_ALLOC=1) to count bytes per request.

import { Session } from 'node:inspector/promises';

interface ProfileNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

export interface AllocSite {
  /** "function file:line" of the allocating frame (its caller's too for a builtin). */
  readonly site: string;
  readonly bytes: number;
}

const frameName = (n: ProfileNode): string => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.slice(url.lastIndexOf('/') + 1);
  return `${functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`;
};

/** Starts sampling (one sample per `intervalBytes` allocated, on average). */
export async function startAllocSampling(intervalBytes = 512): Promise<{ stop(): Promise<AllocSite[]> }> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
        profile: { head: ProfileNode };
      };
      session.disconnect();
      const bySite = new Map<string, number>();
      const walk = (n: ProfileNode, parent: string): void => {
        const own = frameName(n);
        // Builtins and native frames (no file) are named with the JavaScript that called them.
        const site = n.callFrame.url === '' && parent !== '' ? `${own} <- ${parent}` : own;
        if (n.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
        for (const c of n.children) walk(c, n.callFrame.url === '' ? parent : own);
      };
      walk(profile.head, '');
      return [...bySite].map(([site, bytes]) => ({ site, bytes })).sort((a, b) => b.bytes - a.bytes);
    },
  };
}
