// Autobahn|JS (npm autobahn 26.3.1), a WAMP client this project did not write, in-process in
// the ava worker against the real router process. Node 24's global WebSocket carries the
// WebSocket transport; the library's RawSocket transport speaks JSON only.

import test from 'ava';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { CONFIGS, fromWire, toWire } from './support/autobahn-configs.ts';
import { autobahn, guarded, isAbError, isAbResult, mismatch, waitUntil, type Kwargs } from './support/autobahn-js.ts';
import { SCENARIOS } from './support/autobahn-scenarios.ts';
import { inbox, sessionsAgainst } from './support/autobahn-sessions.ts';
import { RICH_ARGS, RICH_KWARGS } from './support/tricky-values.ts';

let router: RouterProcess | undefined;

test.before(async () => {
  router = await startRouter();
});

test.after.always('router exits with code 0 on SIGTERM', async (t) => {
  if (!router) return;
  const code = await router.stop();
  t.is(code, 0, `router stderr:\n${router.stderr().slice(-4000)}`);
});

const withSessions = sessionsAgainst(() => router);

for (const config of CONFIGS) {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    test(`${config.name} › ${name}`, async (t) => {
      await withSessions(t, [config, config], ['caller', 'callee'], async ([caller, callee], uri) => {
        if (!caller || !callee) throw new Error('sessions missing');
        await scenario(t, config, caller, callee, uri);
      });
    });
  }
}

// Cross-serializer: one session per configuration calls every other one's echo and
// publishes to all the others, with the values transcoding gets wrong.
for (const from of CONFIGS) {
  for (const to of CONFIGS) {
    if (from === to) continue;
    test(`cross-serializer › call ${from.name} -> ${to.name}`, async (t) => {
      await withSessions(t, [from, to], ['caller', 'callee'], async ([caller, callee], uri) => {
        if (!caller || !callee) throw new Error('sessions missing');
        const calleeSaw: string[] = [];
        // The callee checks what it got before echoing: a failure then says which leg broke.
        await guarded(
          [callee],
          callee.session.register(uri('echo'), (args, kwargs) => {
            const problem =
              mismatch(RICH_ARGS, fromWire(to, args), 'args') ?? mismatch(RICH_KWARGS, fromWire(to, kwargs), 'kwargs');
            if (problem) calleeSaw.push(problem);
            return new autobahn.Result(args, kwargs);
          }),
          'REGISTER',
        );
        const result = await guarded(
          [caller, callee],
          caller.session.call(uri('echo'), toWire(from, RICH_ARGS) as unknown[], toWire(from, RICH_KWARGS) as Kwargs),
          'CALL',
        ).catch((error: unknown) => {
          throw isAbError(error)
            ? new Error(`CALL answered with ERROR ${error.error} ${JSON.stringify(error.args)}`)
            : error;
        });
        t.deepEqual(calleeSaw, [], 'CALL -> INVOCATION leg');
        if (!isAbResult(result)) {
          t.fail(`expected an autobahn.Result, got ${typeof result}`);
          return;
        }
        t.is(mismatch(RICH_ARGS, fromWire(from, result.args), 'args'), undefined, 'YIELD -> RESULT leg (args)');
        t.is(mismatch(RICH_KWARGS, fromWire(from, result.kwargs), 'kwargs'), undefined, 'YIELD -> RESULT leg (kwargs)');
      });
    });
  }

  test(`cross-serializer › event ${from.name} -> all others`, async (t) => {
    const others = CONFIGS.filter((c) => c !== from);
    await withSessions(
      t,
      [from, ...others],
      ['publisher', ...others.map((o) => o.name)],
      async ([publisher, ...subscribers], uri) => {
        if (!publisher) throw new Error('sessions missing');
        const boxes = subscribers.map(() => inbox());
        await Promise.all(
          subscribers.map((s, i) => guarded([s], s.session.subscribe(uri('fanout'), boxes[i]!.handler), 'SUBSCRIBE')),
        );
        await guarded(
          [publisher],
          publisher.session.publish(
            uri('fanout'),
            toWire(from, RICH_ARGS) as unknown[],
            toWire(from, RICH_KWARGS) as Kwargs,
            { acknowledge: true },
          ),
          'PUBLISH',
        );
        // A subscriber left without its event is reported below, by name.
        await waitUntil(() => boxes.every((b) => b.events.length >= 1), 'events at every subscriber', 5_000).catch(
          () => {},
        );
        const missing = others.filter((_, i) => boxes[i]!.events.length === 0).map((c) => c.name);
        t.deepEqual(missing, [], 'subscribers that got no EVENT');
        for (const [i, box] of boxes.entries()) {
          const to = others[i]!;
          const event = box.events[0];
          if (!event) continue;
          t.is(mismatch(RICH_ARGS, fromWire(to, event.args), 'args'), undefined, `args at ${to.name}`);
          t.is(mismatch(RICH_KWARGS, fromWire(to, event.kwargs), 'kwargs'), undefined, `kwargs at ${to.name}`);
        }
      },
    );
  });
}
