// Event retention and event history across a router restart: publications go to one router
// process, which is stopped; a second process on the same data folder must hand them out.
// History rules come from the config file (realms[].history).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { checkPythonDeps } from '../interop/support/python.ts';
import { PyAgent, type AgentEvent, type PySession } from './support/agent.ts';
import { T, rawJoin, rawSubscribe, type Dict } from './support/raw.ts';
import { configWithRealms, launchRouter, type RunningRouter } from './support/router.ts';
import { uniquePrefix, until } from './support/suite.ts';

const realm = 'persist';
const P = uniquePrefix('persist');
const config = configWithRealms([
  {
    uri: realm,
    history: [
      { topic: `${P}.log`, match: 'exact', limit: 3, maxAgeSec: 3600 },
      { topic: `${P}.flog`, match: 'exact', limit: 10, maxAgeSec: 3600 },
      { topic: `${P}.plog.`, match: 'prefix', limit: 10, maxAgeSec: 3600 },
    ],
  },
]);

interface Before {
  /** Publication IDs of the five events on P.log, in order. */
  logPublications: number[];
  firstExitCode: number;
}

interface Restarted {
  router: RunningRouter;
  agent: PyAgent;
  before: Before;
}

const dataDir = mkdtempSync(join(tmpdir(), 'wampmesh-adv-persist-'));
let phase: Promise<Restarted> | undefined;

/** Publishes everything on a first router, stops it, starts a second on the same data. */
function restarted(): Promise<Restarted> {
  phase ??= (async () => {
    const missing = checkPythonDeps();
    if (missing) throw new Error(missing);
    const first = await launchRouter(config, { dataDir });
    const agent1 = await PyAgent.start(first);
    const before: Before = { logPublications: [], firstExitCode: -1 };
    try {
      const pub = await agent1.connect('pub', { realm, transport: 'ws', serializer: 'json' });
      const ack = { acknowledge: true };
      // Retention: the most recent retained event is the one kept.
      await pub.publish(`${P}.state`, ['v1'], { rev: 1 }, { ...ack, retain: true });
      await pub.publish(`${P}.state`, ['v2'], { rev: 2 }, { ...ack, retain: true });
      await pub.publish(`${P}.state`, ['not retained'], {}, ack);
      // Only sessions with authrole "nobody" may get this one, then or later.
      await pub.publish(`${P}.secret`, ['secret'], {}, { ...ack, retain: true, eligible_authrole: ['nobody'] });
      // History: five events, the rule keeps three.
      for (let i = 1; i <= 5; i++) {
        before.logPublications.push((await pub.publish(`${P}.log`, [i], { n: i }, ack))!);
      }
      // History and black/whitelisting (see the test below).
      await pub.publish(`${P}.flog`, ['visible-1'], {}, ack);
      await pub.publish(`${P}.flog`, ['hidden-by-authrole'], {}, { ...ack, eligible_authrole: ['nobody'] });
      await pub.publish(`${P}.flog`, ['session-filtered'], {}, { ...ack, eligible: [pub.id] });
      await pub.publish(`${P}.flog`, ['visible-2'], {}, ack);
      // History for a prefix rule.
      await pub.publish(`${P}.plog.a`, ['pa'], {}, ack);
      await pub.publish(`${P}.plog.b`, ['pb'], {}, ack);
    } finally {
      await agent1.stop();
      before.firstExitCode = await first.stop();
    }
    const router = await launchRouter(config, { dataDir });
    return { router, agent: await PyAgent.start(router), before };
  })();
  return phase;
}

test.after.always('stop agent and router, remove the data folder', async () => {
  const r = await phase?.catch(() => undefined);
  if (r !== undefined) {
    await r.agent.stop();
    await r.router.stop();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const argsOf = (e: AgentEvent) => e.args as unknown[];

async function connect(
  name: string,
  transport: 'ws' | 'rs' = 'ws',
  serializer: 'json' | 'msgpack' | 'cbor' = 'json',
): Promise<PySession> {
  const { agent } = await restarted();
  return agent.connect(name, { realm, transport, serializer });
}

test('event retention: the last retained event is delivered to a get_retained subscriber after a router restart [event_retention]', async (t) => {
  const { router, before } = await restarted();
  t.is(before.firstExitCode, 0, 'the first router stopped cleanly on SIGTERM');
  const s1 = await connect('ret-exact', 'rs', 'msgpack');
  const plain = await connect('ret-plain', 'ws', 'cbor');
  const prefix = await connect('ret-prefix', 'ws', 'json');
  const sub1 = await s1.subscribe(`${P}.state`, { get_retained: true });
  const subPlain = await plain.subscribe(`${P}.state`);
  const subPrefix = await prefix.subscribe(`${P}.st`, { match: 'prefix', get_retained: true });
  await until(() => s1.eventsOn(sub1).length === 1 && prefix.eventsOn(subPrefix).length === 1, 'retained events');
  const [r1] = s1.eventsOn(sub1);
  t.deepEqual([argsOf(r1!), r1!.kwargs, r1!.retained], [['v2'], { rev: 2 }, true]);
  const [rp] = prefix.eventsOn(subPrefix);
  t.deepEqual([argsOf(rp!), rp!.retained, rp!.topic], [['v2'], true, `${P}.state`]);

  // Exact Details on the wire.
  const raw = await rawJoin(router, { realm, transport: 'rawsocket', serializer: 'cbor' });
  const rawSub = await rawSubscribe(raw, `${P}.state`, { get_retained: true });
  const rawEv = await raw.c.next((m) => m[0] === T.EVENT);
  t.deepEqual([rawEv[1], rawEv[3], rawEv[4], rawEv[5]], [rawSub, { retained: true }, ['v2'], { rev: 2 }]);

  // No retained event without get_retained, and none the subscriber was not eligible for:
  // a fresh publication must be the first thing each of them gets.
  const secret = await connect('ret-secret', 'rs', 'cbor');
  const subSecret = await secret.subscribe(`${P}.secret`, { get_retained: true });
  const pub = await connect('ret-pub');
  await pub.publish(`${P}.state`, ['v3'], {}, { acknowledge: true });
  await pub.publish(`${P}.secret`, ['fresh'], {}, { acknowledge: true });
  await until(
    () =>
      plain.eventsOn(subPlain).length >= 1 && secret.eventsOn(subSecret).length >= 1 && s1.eventsOn(sub1).length >= 2,
    'fresh events',
  );
  t.deepEqual(plain.eventsOn(subPlain).map(argsOf), [['v3']], 'no retained event without get_retained');
  t.deepEqual(
    secret.eventsOn(subSecret).map(argsOf),
    [['fresh']],
    'no retained event the subscriber was not eligible for',
  );
  t.deepEqual(
    s1.eventsOn(sub1).map((e) => [argsOf(e)[0], e.retained]),
    [
      ['v2', true],
      ['v3', null],
    ],
  );
  await raw.c.destroy();
});

/** wamp.subscription.get_events through Autobahn. */
async function getEvents(s: PySession, subscription: number, kwargs: Dict = {}): Promise<Dict[]> {
  const r = await s.call('wamp.subscription.get_events', [subscription], kwargs);
  if (!r.ok) throw new Error(`get_events: ${r.error} ${JSON.stringify(r.args)}`);
  return r.args[0] as Dict[];
}

test('event history: wamp.subscription.get_events returns the configured last events after a router restart [event_history]', async (t) => {
  const { before } = await restarted();
  const s = await connect('hist', 'rs', 'cbor');
  const subId = await s.subscribe(`${P}.log`);
  const events = await getEvents(s, subId, { limit: 10 });
  t.deepEqual(
    events.map((e) => e.args),
    [[3], [4], [5]],
    'the rule keeps the last three, oldest first',
  );
  t.deepEqual(
    events.map((e) => e.kwargs),
    [{ n: 3 }, { n: 4 }, { n: 5 }],
  );
  t.deepEqual(
    events.map((e) => e.publication),
    before.logPublications.slice(2),
    'the original publication IDs',
  );
  for (const e of events) {
    t.is(e.subscription, subId);
    t.true(
      typeof e.timestamp === 'string' &&
        !Number.isNaN(Date.parse(e.timestamp)) &&
        /T.*(Z|[+-]\d\d:\d\d)$/.test(e.timestamp),
      `RFC 3339 timestamp: ${String(e.timestamp)}`,
    );
  }
  t.deepEqual(
    (await getEvents(s, subId, { limit: 2 })).map((e) => e.args),
    [[4], [5]],
    'limit keeps the most recent',
  );
});

test("event history: records have the spec's fields and honour reverse [event_history]", async (t) => {
  // Spec: "an array of Event objects containing an additional timestamp attribute", with
  // "details": "The original details of the event"; kwarg "reverse" traverses newest first.
  await restarted();
  const s = await connect('hist-spec', 'ws', 'msgpack');
  const subId = await s.subscribe(`${P}.log`);
  const problems: string[] = [];
  const events = await getEvents(s, subId);
  const noDetails = events.filter((e) => typeof e.details !== 'object' || e.details === null);
  if (noDetails.length > 0) problems.push(`records without "details": ${JSON.stringify(noDetails[0])}`);
  const reversed = (await getEvents(s, subId, { reverse: true })).map((e) => (e.args as unknown[])[0]);
  if (JSON.stringify(reversed) !== '[5,4,3]')
    problems.push(`reverse: true gave ${JSON.stringify(reversed)}, expected [5,4,3]`);
  t.deepEqual(problems, []);
});

test('event history: publications restricted by black/whitelisting are filtered or not stored [event_history] [subscriber_blackwhite_listing]', async (t) => {
  // Spec (Event History, "Security Aspects"): if the original publication contains
  // eligible_authrole = 'admin' and the requester is not admin, that publication "must be
  // filtered out from the results"; publications with exclude|eligible session lists "should
  // be ignored by the Event History mechanism and not be saved at all".
  await restarted();
  const s = await connect('hist-filter', 'rs', 'json');
  const subId = await s.subscribe(`${P}.flog`);
  const got = (await getEvents(s, subId, { limit: 10 })).map((e) => (e.args as unknown[])[0]);
  const problems: string[] = [];
  if (got.includes('hidden-by-authrole'))
    problems.push('MUST: a publication with eligible_authrole ["nobody"] was returned to an "anonymous" requester');
  if (got.includes('session-filtered'))
    problems.push('should: a publication with an eligible session list was stored in the history');
  t.deepEqual(problems, [], `history returned ${JSON.stringify(got)}`);
  t.deepEqual(
    got.filter((a) => String(a).startsWith('visible')),
    ['visible-1', 'visible-2'],
  );
});

test("event history: a prefix subscription's history holds every matching publication [event_history] [pattern_based_subscription]", async (t) => {
  // Spec example: "Subscription to prefix-based 'com.mycompany.log' topic ... Event history for
  // subscription 3 contains all publications." Here a prefix history rule covers the topics.
  await restarted();
  const s = await connect('hist-prefix', 'ws', 'cbor');
  const subId = await s.subscribe(`${P}.plog.`, { match: 'prefix' });
  const r = await s.call('wamp.subscription.get_events', [subId], { limit: 10 });
  t.true(r.ok, `get_events on a prefix subscription: ${JSON.stringify(r)}`);
  if (r.ok)
    t.deepEqual(
      (r.args[0] as Dict[]).map((e) => (e.args as unknown[])[0]),
      ['pa', 'pb'],
    );
});
