// What every client configuration must do with Autobahn|JS as both caller and callee: join, call
// (results, errors, progress, cancel), publish and subscribe, large payloads, unregister, leave.

import type { ExecutionContext } from 'ava';
import { fromWire, toWire, type Config } from './autobahn-configs.ts';
import {
  autobahn,
  guarded,
  isAbError,
  isAbResult,
  mismatch,
  onProgress,
  waitUntil,
  type Kwargs,
  type OpenSession,
} from './autobahn-js.ts';
import { inbox } from './autobahn-sessions.ts';
import { bytesCounting } from './tricky-values.ts';

const NO_SUCH_PROCEDURE = 'wamp.error.no_such_procedure';
const CANCELED = 'wamp.error.canceled';
const ONE_MIB = 1 << 20;

export type Scenario = (
  t: ExecutionContext,
  config: Config,
  caller: OpenSession,
  callee: OpenSession,
  uri: (name: string) => string,
) => Promise<void>;

async function expectNoSuchProcedure(
  t: ExecutionContext,
  caller: OpenSession,
  callee: OpenSession,
  procedure: string,
): Promise<void> {
  const outcome = await guarded([caller, callee], caller.session.call(procedure, [1]), `CALL ${procedure}`).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) {
    t.fail(`CALL ${procedure} succeeded with ${JSON.stringify(outcome.value)}, expected ERROR ${NO_SUCH_PROCEDURE}`);
    return;
  }
  if (!isAbError(outcome.error)) throw outcome.error;
  t.is(outcome.error.error, NO_SUCH_PROCEDURE);
}

async function echoRoundTrip(
  t: ExecutionContext,
  config: Config,
  caller: OpenSession,
  callee: OpenSession,
  procedure: string,
  args: unknown[],
  kwargs: Kwargs,
): Promise<void> {
  await guarded(
    [callee],
    callee.session.register(procedure, (a, k) => new autobahn.Result(a, k)),
    `REGISTER ${procedure}`,
  );
  const result = await guarded(
    [caller, callee],
    caller.session.call(procedure, toWire(config, args) as unknown[], toWire(config, kwargs) as Kwargs),
    `CALL ${procedure}`,
  );
  if (!isAbResult(result)) {
    t.fail(`expected an autobahn.Result (several results + kwargs), got ${typeof result}`);
    return;
  }
  t.is(mismatch(args, fromWire(config, result.args)), undefined, 'echoed args');
  t.is(mismatch(kwargs, fromWire(config, result.kwargs)), undefined, 'echoed kwargs');
}

export const SCENARIOS: Record<string, Scenario> = {
  async join(t, _config, caller, callee) {
    for (const s of [caller, callee]) {
      t.true(Number.isSafeInteger(s.session.id) && (s.session.id ?? 0) > 0, `session id ${s.session.id}`);
    }
    t.not(caller.session.id, callee.session.id);
  },

  async call_single_result(t, _config, caller, callee, uri) {
    const add: (args: unknown[], kwargs: Kwargs) => number = ([a, b], { scale }) =>
      ((a as number) + (b as number)) * ((scale as number | undefined) ?? 1);
    await guarded([callee], callee.session.register(uri('add'), add), 'REGISTER add');
    // One positional result, no kwargs: the library hands back the bare value.
    const result = await guarded([caller, callee], caller.session.call(uri('add'), [2, 3], { scale: 10 }), 'CALL add');
    t.is(result, 50);
  },

  async call_args_kwargs(t, config, caller, callee, uri) {
    await echoRoundTrip(t, config, caller, callee, uri('echo'), [1, 'two', [3, { four: 4 }], null, true], {
      k: 'v',
      n: -7,
      f: 0.25,
    });
  },

  async application_error(t, _config, caller, callee, uri) {
    const errorUri = uri('error.custom');
    await guarded(
      [callee],
      callee.session.register(uri('fail'), () => {
        throw new autobahn.Error(errorUri, ['first', 2], { detail: { nested: true }, code: 42 });
      }),
      'REGISTER fail',
    );
    const outcome = await guarded([caller, callee], caller.session.call(uri('fail'), ['ignored']), 'CALL fail').then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (!('error' in outcome)) {
      t.fail(`call succeeded with ${JSON.stringify(outcome.value)}, expected ERROR ${errorUri}`);
      return;
    }
    if (!isAbError(outcome.error)) throw outcome.error;
    t.is(outcome.error.error, errorUri);
    t.deepEqual(outcome.error.args, ['first', 2]);
    t.deepEqual(outcome.error.kwargs, { detail: { nested: true }, code: 42 });
  },

  async no_such_procedure(t, _config, caller, callee, uri) {
    await expectNoSuchProcedure(t, caller, callee, uri('nobody.home'));
  },

  async publish_acknowledged(t, _config, caller, callee, uri) {
    const box = inbox();
    await guarded([callee], callee.session.subscribe(uri('topic'), box.handler), 'SUBSCRIBE');
    const publication = await guarded(
      [caller, callee],
      caller.session.publish(uri('topic'), ['hello', 7], { who: 'js' }, { acknowledge: true }),
      'PUBLISH (acknowledge)',
    );
    t.true(Number.isSafeInteger(publication.id) && publication.id > 0, `publication id ${publication.id}`);
    await waitUntil(() => box.events.length >= 1, 'EVENT');
    t.deepEqual(box.events[0], { args: ['hello', 7], kwargs: { who: 'js' } });
  },

  async publisher_excluded_by_default(t, _config, caller, callee, uri) {
    // The absence of an event cannot be awaited, so it is sequenced: 'first' (default
    // options), then 'marker' with exclude_me=false. Events from one publisher reach a
    // subscriber in order, so when the marker is in, a wrongly delivered 'first' would be too.
    const own = inbox();
    const other = inbox();
    await guarded([caller], caller.session.subscribe(uri('topic'), own.handler), 'SUBSCRIBE (publisher)');
    await guarded([callee], callee.session.subscribe(uri('topic'), other.handler), 'SUBSCRIBE (other)');
    await guarded(
      [caller],
      caller.session.publish(uri('topic'), ['first'], {}, { acknowledge: true }),
      'PUBLISH first',
    );
    await guarded(
      [caller],
      caller.session.publish(uri('topic'), ['marker'], {}, { acknowledge: true, exclude_me: false }),
      'PUBLISH marker',
    );
    await waitUntil(() => own.events.length >= 1 && other.events.length >= 2, 'events');
    t.deepEqual(
      other.events.map((e) => e.args),
      [['first'], ['marker']],
      'the other subscriber gets both, in order',
    );
    t.deepEqual(
      own.events.map((e) => e.args),
      [['marker']],
      'the publisher gets only the exclude_me=false event',
    );
  },

  async publisher_receives_with_exclude_me_false(t, _config, caller, _callee, uri) {
    const own = inbox();
    await guarded([caller], caller.session.subscribe(uri('topic'), own.handler), 'SUBSCRIBE');
    await guarded(
      [caller],
      caller.session.publish(uri('topic'), ['to-self'], {}, { acknowledge: true, exclude_me: false }),
      'PUBLISH',
    );
    await waitUntil(() => own.events.length >= 1, 'own EVENT');
    t.deepEqual(
      own.events.map((e) => e.args),
      [['to-self']],
    );
  },

  async large_string_1mb(t, config, caller, callee, uri) {
    // Multi-byte UTF-8 throughout: a character split across read buffers is where framing breaks.
    const big = 'wamp-mesh ü€😀 '.repeat(ONE_MIB / 16 + 1).slice(0, ONE_MIB);
    await echoRoundTrip(t, config, caller, callee, uri('echo'), [big], { size: big.length });
  },

  async large_bytes_1mb(t, config, caller, callee, uri) {
    const big = bytesCounting(ONE_MIB);
    await echoRoundTrip(t, config, caller, callee, uri('echo'), [big], { size: big.length });
  },

  async unregister(t, _config, caller, callee, uri) {
    const registration = await guarded(
      [callee],
      callee.session.register(uri('echo'), (a) => a[0]),
      'REGISTER',
    );
    t.is(await guarded([caller, callee], caller.session.call(uri('echo'), ['x']), 'CALL before UNREGISTER'), 'x');
    await guarded([callee], callee.session.unregister(registration), 'UNREGISTER');
    await expectNoSuchProcedure(t, caller, callee, uri('echo'));
  },

  // Autobahn|JS announces progressive_call_results for its callee role but not call_canceling;
  // the router sends it receive_progress anyway (README "Where the router departs from the letter of the spec").
  async progressive_results(t, _config, caller, callee, uri) {
    await guarded(
      [callee],
      callee.session.register(uri('count'), ([n], _kwargs, details) => {
        if (details.progress === null) throw new autobahn.Error(uri('error.no_receive_progress'));
        for (let i = 1; i <= (n as number); i++) details.progress([i], { of: n });
        return 'done';
      }),
      'REGISTER count',
    );
    const seen: unknown[] = [];
    const call = caller.session.call(uri('count'), [3], {}, { receive_progress: true });
    onProgress(call, (value) => seen.push(isAbResult(value) ? [value.args, value.kwargs] : value));
    const outcome = await guarded([caller, callee], call, 'CALL count (receive_progress)').then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if ('error' in outcome) {
      throw isAbError(outcome.error) ? new Error(`CALL answered with ERROR ${outcome.error.error}`) : outcome.error;
    }
    t.deepEqual(
      seen,
      [
        [[1], { of: 3 }],
        [[2], { of: 3 }],
        [[3], { of: 3 }],
      ],
      'progressive results, in order, before the final one',
    );
    t.is(outcome.value, 'done');
  },

  async cancel_progressive_call(t, _config, caller, callee, uri) {
    let finish: ((value: unknown) => void) | undefined;
    await guarded(
      [callee],
      callee.session.register(uri('stream'), (_args, _kwargs, details) => {
        details.progress?.(['started']);
        return new Promise((resolve) => {
          finish = resolve;
        });
      }),
      'REGISTER stream',
    );
    const seen: unknown[] = [];
    const call = caller.session.call(uri('stream'), [], {}, { receive_progress: true });
    onProgress(call, (value) => seen.push(value));
    await guarded(
      [caller, callee],
      waitUntil(() => seen.length >= 1, 'first progressive result'),
      'progressive result before CANCEL',
    );
    // Mode kill, because the library waits for the router's answer only in that mode. The
    // callee cannot be interrupted (no call_canceling), so the router answers as in mode skip.
    call.cancel({ mode: 'kill' });
    const outcome = await guarded([caller, callee], call, 'CALL stream after CANCEL').then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (!('error' in outcome)) {
      t.fail(`canceled call succeeded with ${JSON.stringify(outcome.value)}`);
      return;
    }
    if (!isAbError(outcome.error)) throw outcome.error;
    t.is(outcome.error.error, CANCELED);
    t.deepEqual(seen, ['started']);
    // The callee finishes after all; the router discards that YIELD. Had the router sent it an
    // INTERRUPT, the library would have failed its transport ("unexpected message type 69"),
    // so a round trip through both sessions afterwards shows it did not.
    if (!finish) throw new Error('the callee was not invoked');
    finish('late');
    await guarded(
      [callee],
      callee.session.register(uri('echo'), (a) => a[0]),
      'REGISTER echo after the cancel',
    );
    t.is(
      await guarded([caller, callee], caller.session.call(uri('echo'), ['after']), 'CALL echo after the cancel'),
      'after',
    );
    t.deepEqual([...caller.internalErrors, ...callee.internalErrors], []);
  },

  async leave(t, _config, caller) {
    // The router answers our GOODBYE with its own; the spec's reason is wamp.close.goodbye_and_out.
    await caller.close();
    const { reason, details } = await guarded([], caller.closed, 'close after GOODBYE', 5_000);
    t.is(reason, 'closed', 'the transport closes cleanly');
    t.is(details.reason, 'wamp.close.goodbye_and_out', 'GOODBYE reply reason');
  },
};
