// Which registration a call reaches (pattern-based, shared with each invocation policy) and
// what the INVOCATION tells the callee about its caller (disclose_me).
// Through Autobahn|Python where it has the feature, raw frames where it has not; expectations
// are the spec's (wamp-proto rfc/text/advanced), quoted where a test hinges on one sentence.

import test from 'ava';
import { fixture, uniquePrefix } from './support/suite.ts';
import { T, isCallAnswer, rawCall, rawRegister, type Dict } from './support/raw.ts';
import type { PySession } from './support/agent.ts';
import { rawJoiner } from './support/raw-joiner.ts';

const realms = [
  'rpc.ident',
  'rpc.pattern',
  'rpc.shared.single',
  'rpc.shared.roundrobin',
  'rpc.shared.random',
  'rpc.shared.first',
  'rpc.shared.last',
  'rpc.shared.mismatch',
];
const fx = fixture(realms.map((uri) => ({ uri })));
test.after.always('stop agent and router', () => fx.close());
const raw = rawJoiner(fx);

// ---- caller identification ----------------------------------------------------------------

test('caller identification: disclose_me puts caller, caller_authid and caller_authrole in the INVOCATION [caller_identification]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.ident';
  const P = uniquePrefix('ident');
  const callee = await agent.connect('ident-callee', { realm, transport: 'rs', serializer: 'msgpack' });
  await callee.register(`${P}.who`);
  const rc = await raw(realm, { transport: 'rawsocket', serializer: 'cbor' });
  const req = rawCall(rc, `${P}.who`, { disclose_me: true }, ['x']);
  await rc.c.next(isCallAnswer(req));
  const inv = await callee.waitInvocation((e) => (e.args as unknown[])[0] === 'x');
  const welcomeDetails = rc.welcome[2] as Dict;
  t.deepEqual(
    [inv.caller, inv.caller_authid, inv.caller_authrole],
    [rc.id, welcomeDetails.authid, welcomeDetails.authrole],
  );
  t.is(inv.caller_authrole, 'anonymous');

  // Without disclose_me (the spec's default, and the realm's "optional"), nothing is disclosed.
  const pyCaller = await agent.connect('ident-caller', { realm, transport: 'ws', serializer: 'json' });
  const r = await pyCaller.call(`${P}.who`, ['y']);
  t.true(r.ok);
  const inv2 = await callee.waitInvocation((e) => (e.args as unknown[])[0] === 'y');
  t.deepEqual([inv2.caller, inv2.caller_authid, inv2.caller_authrole], [null, null, null]);
  await rc.c.destroy();
});

// ---- pattern-based registrations ----------------------------------------------------------

test('pattern-based registrations: exact, then longest prefix, then best wildcard; details.procedure [pattern_based_registration]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'rpc.pattern';
  const P = uniquePrefix('pattern');
  // The spec's example table ("Calls matching multiple registrations"), under a unique prefix.
  // One change: its RPC 5 'a1.b2.c33..e5' is 'a1.b2.c44..e5' here. The example says a call to
  // 'a1.b2.c33.d4.e5' has "no prefix match", yet its prefix section says prefix matching is a
  // string prefix ('com.myapp.myobject1' matches 'com.myapp.myobject1-mysubobject1'), by which
  // the prefix 'a1.b2.c3' does match it. Renaming keeps what the row tests (wildcard
  // precedence) out of that contradiction.
  const regs: Array<[string, 'exact' | 'prefix' | 'wildcard']> = [
    ['a1.b2.c3.d4.e55', 'exact'],
    ['a1.b2.c3', 'prefix'],
    ['a1.b2.c3.d4', 'prefix'],
    ['a1.b2..d4.e5', 'wildcard'],
    ['a1.b2.c44..e5', 'wildcard'],
    ['a1.b2..d4.e5..g7', 'wildcard'],
    ['a1.b2..d4..f6.g7', 'wildcard'],
  ];
  const callee = await agent.connect('pattern-callee', { realm, transport: 'ws', serializer: 'cbor' });
  const ids: number[] = [];
  for (const [uri, match] of regs)
    ids.push(await callee.register(`${P}.${uri}`, { kind: 'echo' }, match === 'exact' ? {} : { match }));
  const caller = await agent.connect('pattern-caller', { realm, transport: 'rs', serializer: 'json' });
  const cases: Array<[string, number]> = [
    ['a1.b2.c3.d4.e55', 1],
    ['a1.b2.c3.d98.e74', 2],
    ['a1.b2.c3.d4.e325', 3],
    ['a1.b2.c55.d4.e5', 4],
    ['a1.b2.c44.d4.e5', 5],
    ['a1.b2.c88.d4.e5.f6.g7', 6],
  ];
  for (const [uri, rpc] of cases) {
    const procedure = `${P}.${uri}`;
    const r = await caller.call(procedure, [uri]);
    t.true(r.ok, `${uri}: ${JSON.stringify(r)}`);
    const inv = await callee.waitInvocation((e) => (e.args as unknown[])[0] === uri, uri);
    t.is(inv.registration, ids[rpc - 1], `${uri} should be routed to RPC ${rpc}`);
    // (Autobahn fills CallDetails.procedure from its registration when the INVOCATION has none,
    // so the exact row is checked on raw frames below.)
    if (rpc !== 1) t.is(inv.procedure, procedure, `${uri}: INVOCATION.Details.procedure`);
  }
  const none = await caller.call(`${P}.a2.b2.c2.d2.e2`);
  t.deepEqual(none.ok ? 'ok' : none.error, 'wamp.error.no_such_procedure');

  // Raw frames: Details.procedure only for pattern-based registrations.
  const rawCallee = await raw(realm, { transport: 'rawsocket', serializer: 'msgpack' });
  await rawRegister(rawCallee, `${P}.raw.exact`);
  await rawRegister(rawCallee, `${P}.raw.pre`, { match: 'prefix' });
  await rawRegister(rawCallee, `${P}.raw..wild`, { match: 'wildcard' });
  const rc = await raw(realm);
  for (const [procedure, expected] of [
    [`${P}.raw.exact`, undefined],
    [`${P}.raw.prefixed.x`, `${P}.raw.prefixed.x`],
    [`${P}.raw.any.wild`, `${P}.raw.any.wild`],
  ] as const) {
    rawCall(rc, procedure);
    const inv = await rawCallee.c.next((m) => m[0] === T.INVOCATION);
    t.deepEqual(inv[3], expected === undefined ? {} : { procedure: expected }, procedure);
    rawCallee.c.send([T.YIELD, inv[1], {}]);
  }
  await rawCallee.c.destroy();
  await rc.c.destroy();
});

// ---- shared registrations -----------------------------------------------------------------

type Policy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

async function sharedSetup(policy: Policy, realm: string, label: string = policy) {
  const { agent } = await fx.get();
  const P = uniquePrefix(`shared.${policy}`);
  const proc = `${P}.work`;
  const names = ['a', 'b', 'c'] as const;
  const transports = [
    ['ws', 'json'],
    ['rs', 'msgpack'],
    ['ws', 'cbor'],
  ] as const;
  const callees: PySession[] = [];
  for (const [i, n] of names.entries()) {
    callees.push(
      await agent.connect(`${label}-${n}`, { realm, transport: transports[i]![0], serializer: transports[i]![1] }),
    );
  }
  const caller = await agent.connect(`${label}-caller`, { realm, transport: 'rs', serializer: 'cbor' });
  return { agent, proc, callees, caller };
}

async function callMany(caller: PySession, proc: string, n: number, prefix: string): Promise<string[]> {
  const who: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await caller.call(proc);
    if (!r.ok) throw new Error(`call ${i}: ${r.error}`);
    who.push(String(r.args[0]).slice(prefix.length));
  }
  return who;
}

for (const policy of ['roundrobin', 'random', 'first', 'last'] as const) {
  test(`shared registration, invoke "${policy}": 60 calls over 3 callees [shared_registration]`, async (t) => {
    const { proc, callees, caller } = await sharedSetup(policy, `rpc.shared.${policy}`);
    const regIds = new Set<number>();
    for (const c of callees) regIds.add(await c.register(proc, { kind: 'whoami' }, { invoke: policy }));
    t.is(regIds.size, 1, 'every callee joined the same registration');
    const who = await callMany(caller, proc, 60, `${policy}-`);
    const count = (n: string) => who.filter((w) => w === n).length;
    if (policy === 'roundrobin') {
      // "callees are picked subsequently from the list of registrations (ordered by the order of registration)"
      t.is(who.join(''), 'abc'.repeat(20));
    } else if (policy === 'random') {
      // Each callee has p = 1/3 per call: fewer than 5 of 60 has probability ~1e-5.
      for (const n of ['a', 'b', 'c'])
        t.true(count(n) >= 5, `random spread: ${['a', 'b', 'c'].map((x) => `${x}=${count(x)}`).join(' ')}`);
    } else {
      // Hot stand-by: "the first respectively last callee on the current list of registrations".
      const expected = policy === 'first' ? 'a' : 'c';
      t.is(count(expected), 60, who.join(''));
      // Remove that callee: the next on the current list takes over.
      const leaving = callees[policy === 'first' ? 0 : 2]!;
      await leaving.leave();
      const after = await callMany(caller, proc, 6, `${policy}-`);
      t.deepEqual(after, Array(6).fill('b'), `after ${expected} left`);
    }
  });
}

test('shared registration, invoke "single": a second callee is refused with procedure_already_exists [shared_registration]', async (t) => {
  const { proc, callees, caller } = await sharedSetup('single', 'rpc.shared.single');
  await callees[0]!.register(proc, { kind: 'whoami' }, { invoke: 'single' });
  for (const c of callees.slice(1)) {
    const err = await c.register(proc, { kind: 'whoami' }, { invoke: 'single' }).then(
      () => 'registered',
      (e: { error?: string }) => e.error,
    );
    t.is(err, 'wamp.error.procedure_already_exists');
  }
  // Without an invoke option the policy is single too ("If the option is not set, 'single' is applied").
  const dflt = await callees[1]!.register(proc).then(
    () => 'registered',
    (e: { error?: string }) => e.error,
  );
  t.is(dflt, 'wamp.error.procedure_already_exists');
  t.deepEqual(await callMany(caller, proc, 6, 'single-'), Array(6).fill('a'));
});

test("shared registration: a policy different from the registration's is refused with procedure_already_exists [shared_registration]", async (t) => {
  const { proc, callees } = await sharedSetup('roundrobin', 'rpc.shared.mismatch', 'mismatch');
  await callees[0]!.register(proc, { kind: 'whoami' }, { invoke: 'roundrobin' });
  for (const invoke of ['first', 'last', 'random', 'single']) {
    const err = await callees[1]!.register(proc, { kind: 'whoami' }, { invoke }).then(
      () => 'registered',
      (e: { error?: string }) => e.error,
    );
    t.is(err, 'wamp.error.procedure_already_exists', invoke);
  }
  t.is(
    await callees[2]!.register(proc, { kind: 'whoami' }, { invoke: 'roundrobin' }).then(() => 'registered'),
    'registered',
  );
});
