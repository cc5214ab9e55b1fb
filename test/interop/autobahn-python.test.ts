// Autobahn|Python (Debian python3-autobahn 22.7.1), a WAMP client this project did not write,
// against the real router process: the basic contract on every transport × serializer, and
// payload fidelity across serializers. Each Python script reports per case; each case is its
// own ava test so a CI failure names exactly what broke.

import test from 'ava';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';
import { assertCase, assertCleanRun, checkPythonDeps, runPythonScript, type PythonRun } from './support/python.ts';
import { uniqueSuffix } from './support/unique.ts';

const TRANSPORTS = ['ws', 'rs'] as const;
const SERIALIZERS = ['json', 'msgpack', 'cbor'] as const;

// Must match CASES in python/scenarios.py; assertCleanRun catches drift in either direction.
const SCENARIO_CASES = [
  'join',
  'register',
  'call_single_result',
  'call_args_kwargs',
  'application_error',
  'no_such_procedure',
  'publish_acknowledged',
  'publisher_excluded_by_default',
  'publisher_receives_with_exclude_me_false',
  'large_string_1mb',
  'large_bytes_1mb',
  'unregister',
  'progressive_results',
  'leave',
] as const;

// The scripts stop themselves at 40 s (and still report); this kill is for a wedged process.
const SCRIPT_TIMEOUT_MS = 50_000;

let router: RouterProcess | undefined;

test.before(async () => {
  const missing = checkPythonDeps();
  if (missing) throw new Error(missing);
  router = await startRouter();
});

test.after.always('router exits with code 0 on SIGTERM', async (t) => {
  if (!router) return;
  const code = await router.stop();
  t.is(code, 0, `router stderr:\n${router.stderr().slice(-4000)}`);
});

function routerArgs(r: RouterProcess): string[] {
  return ['--ws-url', r.wsUrl, '--rs-host', r.rawsocketHost, '--rs-port', String(r.rawsocketPort)];
}

// One Python process per transport × serializer, started by whichever case test asks first
// and shared by the rest: starting the interpreter costs more than all the cases together.
const scenarioRuns = new Map<string, Promise<PythonRun>>();
function scenarioRun(transport: string, serializer: string): Promise<PythonRun> {
  const key = `${transport}/${serializer}`;
  let run = scenarioRuns.get(key);
  if (!run) {
    if (!router) throw new Error('router not started');
    const prefix = `com.wampmesh.interop.py.${transport}_${serializer}.${uniqueSuffix()}`;
    run = runPythonScript(
      'scenarios.py',
      ['--transport', transport, '--serializer', serializer, ...routerArgs(router), '--prefix', prefix],
      SCRIPT_TIMEOUT_MS,
    );
    scenarioRuns.set(key, run);
  }
  return run;
}

for (const transport of TRANSPORTS) {
  for (const serializer of SERIALIZERS) {
    const label = `${transport === 'ws' ? 'WebSocket' : 'RawSocket'}/${serializer}`;
    for (const name of SCENARIO_CASES) {
      test(`${label} › ${name}`, async (t) => {
        assertCase(t, await scenarioRun(transport, serializer), name);
      });
    }
    test(`${label} › script completed and reported only known cases`, async (t) => {
      assertCleanRun(t, await scenarioRun(transport, serializer), SCENARIO_CASES);
    });
  }
}

// Cross-serializer: six sessions (3 serializers × 2 transports) in one Python process.
const NODES = TRANSPORTS.flatMap((transport) => SERIALIZERS.map((serializer) => `${serializer}/${transport}`));
const PAIRS = NODES.flatMap((a) => NODES.filter((b) => b !== a).map((b) => [a, b] as const));
const CROSS_CASES = [
  ...NODES.map((n) => `join ${n}`),
  ...NODES.map((n) => `register ${n}`),
  ...PAIRS.map(([caller, callee]) => `call ${caller} -> ${callee}`),
  ...PAIRS.map(([publisher, subscriber]) => `event ${publisher} -> ${subscriber}`),
];

let crossRun: Promise<PythonRun> | undefined;
function crossSerializerRun(): Promise<PythonRun> {
  if (!router) throw new Error('router not started');
  crossRun ??= runPythonScript(
    'cross_serializer.py',
    [...routerArgs(router), '--prefix', `com.wampmesh.interop.py.cross.${uniqueSuffix()}`],
    SCRIPT_TIMEOUT_MS,
  );
  return crossRun;
}

for (const name of CROSS_CASES) {
  test(`cross-serializer › ${name}`, async (t) => {
    assertCase(t, await crossSerializerRun(), name);
  });
}
test('cross-serializer › script completed and reported only known cases', async (t) => {
  assertCleanRun(t, await crossSerializerRun(), CROSS_CASES);
});
