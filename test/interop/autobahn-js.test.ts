// Autobahn|JS (npm autobahn 26.3.1), a WAMP client this project did not write, in-process in
// the ava worker against the real router process. Node 24's global WebSocket carries the
// WebSocket transport; the library's RawSocket transport speaks JSON only.

import test, { type ExecutionContext } from 'ava';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import {
  autobahn,
  guarded,
  isAbError,
  isAbResult,
  makeSerializer,
  mismatch,
  onProgress,
  openSession,
  recentLibraryWarnings,
  waitUntil,
  type AbTransportOptions,
  type Kwargs,
  type OpenSession,
  type SerializerName,
} from './support/autobahn-js.ts';
import { uniqueSuffix } from './support/unique.ts';

interface Config {
  readonly name: string;
  readonly transport: 'websocket' | 'rawsocket';
  readonly serializer: SerializerName;
}

const CONFIGS: readonly Config[] = [
  { name: 'WebSocket/json', transport: 'websocket', serializer: 'json' },
  { name: 'WebSocket/msgpack', transport: 'websocket', serializer: 'msgpack' },
  { name: 'WebSocket/cbor', transport: 'websocket', serializer: 'cbor' },
  { name: 'RawSocket/json', transport: 'rawsocket', serializer: 'json' },
];

const NO_SUCH_PROCEDURE = 'wamp.error.no_such_procedure';
const CANCELED = 'wamp.error.canceled';
const ONE_MIB = 1 << 20;

// Byte strings are Buffers, not bare Uint8Arrays: the `cbor` package encodes a bare
// Uint8Array as an RFC 8746 typed array (tag 64) rather than a CBOR byte string, and a Node
// application sending binary would normally hold a Buffer anyway.
function bytesCounting(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 256;
  return bytes;
}

let router: RouterProcess | undefined;

test.before(async () => {
  router = await startRouter();
});

test.after.always('router exits with code 0 on SIGTERM', async (t) => {
  if (!router) return;
  const code = await router.stop();
  t.is(code, 0, `router stderr:\n${router.stderr().slice(-4000)}`);
});

function transportOptions(config: Config): AbTransportOptions {
  if (!router) throw new Error('router not started');
  return config.transport === 'websocket'
    ? { type: 'websocket', url: router.wsUrl, serializers: [makeSerializer(config.serializer)] }
    : { type: 'rawsocket', host: router.rawsocketHost, port: router.rawsocketPort };
}

// The RawSocket transport JSON-encodes with no replacer/reviver hook, so there the
// application itself writes byte strings in WAMP's JSON form (NUL + base64) and reads them
// back. Everywhere else the serializer does it. Tests compare logical values either way.
function toWire(config: Config, value: unknown): unknown {
  if (config.transport !== 'rawsocket') return value;
  if (value instanceof Uint8Array) return '\0' + Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toWire(config, v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(config, v)]));
  }
  return value;
}

function fromWire(config: Config, value: unknown): unknown {
  if (config.transport !== 'rawsocket') return value;
  if (typeof value === 'string' && value.startsWith('\0')) return Buffer.from(value.slice(1), 'base64');
  if (Array.isArray(value)) return value.map((v) => fromWire(config, v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(config, v)]));
  }
  return value;
}

interface Inbox {
  events: { args: unknown[]; kwargs: Kwargs }[];
  handler: (args: unknown[], kwargs: Kwargs) => void;
}

function inbox(): Inbox {
  const box: Inbox = {
    events: [],
    handler: (args, kwargs) => {
      box.events.push({ args, kwargs });
    },
  };
  return box;
}

/** Opens sessions for one test, runs it, and on failure shows what the library complained about. */
async function withSessions(
  t: ExecutionContext,
  configs: readonly Config[],
  labels: readonly string[],
  body: (sessions: OpenSession[], uri: (name: string) => string) => Promise<void>,
): Promise<void> {
  const prefix = `com.wampmesh.interop.js.${uniqueSuffix()}`;
  const sessions: OpenSession[] = [];
  try {
    for (const [i, config] of configs.entries()) {
      sessions.push(await openSession(transportOptions(config), `${labels[i] ?? i} (${config.name})`));
    }
    await body(sessions, (name) => `${prefix}.${name}`);
  } catch (error) {
    const warnings = recentLibraryWarnings();
    if (warnings.length > 0) t.log(`autobahn warnings (most recent, from all tests):\n${warnings.join('\n')}`);
    throw error;
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

type Scenario = (
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

const SCENARIOS: Record<string, Scenario> = {
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
const RICH_ARGS: unknown[] = [
  Buffer.from([0x00, 0xff, 0x00, 0x01, 0xfe, 0xff]),
  bytesCounting(256),
  Buffer.alloc(0),
  '😀🎉 👩‍👩‍👧‍👦 🇯🇵',
  '中文字符 日本語のテキスト 한국어',
  'e\u0301 a\u0308 \u0915\u094D\u0937 Z\u0351\u036B\u0343',
  'nul\u0000inside',
  0,
  1,
  -1,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 53 - 1),
  -(2 ** 53),
  0.5,
  -1.25,
  1.5e300,
  true,
  false,
  null,
  [],
  {},
  { nested: { list: [1, [2, [3, { bin: Buffer.from([0x00, 0xff]) }]]], ü: 'umlaut key', '': 'empty key' } },
];
const RICH_KWARGS: Kwargs = {
  bin: Buffer.from([0xff, 0x00]),
  unicode: '😀中文e\u0301',
  big: 2 ** 53,
  neg: -(2 ** 53),
  deep: { a: [{ b: [Buffer.from([0x00]), '😀', 2 ** 53 - 1] }] },
  'key_😀': true,
};

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
