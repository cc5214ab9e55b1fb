// The fixture of the suites that throw bad or heavy input at a real router process: the router
// (started with a config file) and a long-lived echo callee, up before the first test and
// stopped after the last; optionally, after every test, proof that the router is alive and
// still serves (a fresh client's call answered by that callee).

import type { TestFn } from 'ava';
import { EchoService, isAlive, startConfiguredRouter } from './raw-client.ts';
import type { RouterProcess } from './router-process.ts';

export interface ServedRouter {
  readonly router: RouterProcess;
  readonly service: EchoService;
}

export function servedRouter(
  test: TestFn,
  config: Record<string, unknown> = {},
  options: { checkAfterEach?: boolean } = {},
): ServedRouter {
  let router: RouterProcess | undefined;
  let service: EchoService | undefined;

  test.before(async () => {
    router = await startConfiguredRouter(config);
    service = await EchoService.start(router);
  });

  test.after.always(async () => {
    await service?.stop();
    await router?.stop();
  });

  if (options.checkAfterEach === true) {
    test.afterEach.always(async (t) => {
      // Not an assertion on `t` (hooks cannot add to a finished test); a failure here fails the
      // run and names the case it followed.
      if (!isAlive(router!.pid))
        throw new Error(`router process died after '${t.title}'; stderr: ${router!.stderr().slice(-2000)}`);
      await service!.assertServing();
    });
  }

  return {
    get router() {
      return router!;
    },
    get service() {
      return service!;
    },
  };
}
