// Per-file fixture of the advanced-profile acceptance suite: one real router process with a
// realm per test (so meta API counts and lists see only that test's sessions) and one
// Autobahn|Python agent process. Feature tags: a test title ending in "[feature_name]" says
// which WELCOME feature the test exercises; features.test.ts checks every announced feature
// has at least one.

import { checkPythonDeps } from '../../interop/support/python.ts';
import { uniqueSuffix } from '../../interop/support/unique.ts';
import { PyAgent } from './agent.ts';
import { configWithRealms, launchRouter, type RealmSpec, type RunningRouter } from './router.ts';

export interface Fixture {
  readonly router: RunningRouter;
  readonly agent: PyAgent;
}

/** Lazily starts one router and one agent for a test file; `close()` goes in test.after.always. */
export function fixture(realms: RealmSpec[]): { get(): Promise<Fixture>; close(): Promise<void> } {
  let started: Promise<Fixture> | undefined;
  return {
    get() {
      started ??= (async () => {
        const missing = checkPythonDeps();
        if (missing) throw new Error(missing);
        const router = await launchRouter(configWithRealms(realms));
        try {
          return { router, agent: await PyAgent.start(router) };
        } catch (e) {
          await router.stop();
          throw e;
        }
      })();
      return started;
    },
    async close() {
      if (started === undefined) return;
      const f = await started.catch(() => undefined);
      if (f === undefined) return;
      await f.agent.stop();
      await f.router.stop();
    },
  };
}

/** A URI prefix of its own for one test. */
export function uniquePrefix(area: string): string {
  return `com.adv.${area}.${uniqueSuffix()}`;
}

/** Polls `check` until it holds; no fixed sleeps, a deadline instead. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
