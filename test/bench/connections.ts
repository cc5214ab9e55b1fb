// The connections row of the bench: CONNECTIONS idle RawSocket/CBOR sessions opened against a
// fresh router by CONN_CHILDREN processes, and what they cost it in RSS.

import { rssBytes } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import { startChild } from './common.ts';
import { CONN_CHILDREN, CONNECTIONS, here, routerEnv } from './settings.ts';

export interface Connections {
  name: string;
  accepted: number;
  failed: number;
  firstError?: string;
  seconds: number;
  rssBefore: number;
  rssAfter: number;
}

export async function measureConnections(name: string, bin: string): Promise<Connections> {
  const router = await startRouter({ bin, ...(routerEnv && { env: routerEnv }) });
  const children = await Promise.all(Array.from({ length: CONN_CHILDREN }, () => startChild(here('conn-child.ts'))));
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    const rssBefore = rssBytes(router.pid);
    const t0 = performance.now();
    const share = CONNECTIONS / CONN_CHILDREN;
    const replies = await Promise.all(
      children.map((c) =>
        c.request<{ opened: number; failed: number; firstError?: string }>(
          { cmd: 'open', port: router.rawsocketPort, count: share },
          120_000,
        ),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    // Let the router settle (allocation bursts, the next GC) before reading its RSS.
    await new Promise((r) => setTimeout(r, 2_000));
    const rssAfter = rssBytes(router.pid);
    const firstError = replies.find((r) => r.firstError !== undefined)?.firstError;
    return {
      name,
      seconds,
      rssBefore,
      rssAfter,
      accepted: replies.reduce((a, r) => a + r.opened, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      ...(firstError !== undefined && { firstError }),
    };
  } finally {
    await Promise.all(children.map((c) => c.request({ cmd: 'close' }, 60_000).catch(() => undefined)));
    for (const c of children) c.stop();
    await router.stop();
  }
}
