// The WAMP meta API of the real router: every session, registration and subscription meta
// procedure and meta event, called and watched through Autobahn|Python, with raw peers where a
// test needs to see exact frames (GOODBYE of a killed session, null results). Each test has a
// realm of its own, so counts and lists see only its sessions.

import test from 'ava';
import type { AgentEvent, PySession } from './support/agent.ts';
import {
  T,
  isCallAnswer,
  rawCall,
  rawJoin,
  rawRegister,
  rawSubscribe,
  type Dict,
  type Msg,
  type RawPeer,
} from './support/raw.ts';
import { fixture, uniquePrefix, until } from './support/suite.ts';

const realms = ['meta.session', 'meta.session.spec', 'meta.session.events', 'meta.reg', 'meta.sub'];
// The meta.session realms let every session end others (metaKill "all"): the spec's open meta API, tested
// here; the default (administrators only) is tested in test/advanced/meta-kill.test.ts.
const fx = fixture(realms.map((uri) => (uri.startsWith('meta.session') ? { uri, metaKill: 'all' } : { uri })));
test.after.always('stop agent and router', () => fx.close());

const NO_SUCH_ID = 9007199254740000; // a valid WAMP ID no test session, registration or subscription has

async function raw(realm: string, serializer: 'json' | 'msgpack' | 'cbor' = 'json'): Promise<RawPeer> {
  return rawJoin((await fx.get()).router, { realm, serializer });
}

/** A meta procedure called over raw frames: the exact RESULT/ERROR. */
async function rawMeta(p: RawPeer, procedure: string, args: unknown[] = [], kwargs?: Dict): Promise<Msg> {
  return p.c.next(isCallAnswer(rawCall(p, procedure, {}, args, kwargs)));
}

const outcome = async (s: PySession, procedure: string, args: unknown[] = [], kwargs: Dict = {}) => {
  const r = await s.call(procedure, args, kwargs);
  return r.ok ? r.args[0] : `ERROR ${r.error}`;
};
const sorted = (v: unknown) => [...(v as number[])].sort((a, b) => a - b);
const argsOf = (e: AgentEvent) => e.args as unknown[];
const isIso = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v);

// ---- session meta API ---------------------------------------------------------------------

test('session meta procedures: count, list, get, kill, kill_by_authid, kill_by_authrole, kill_all [session_meta_api]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'meta.session';
  const admin = await agent.connect('sm-admin', { realm, transport: 'ws', serializer: 'json' });
  const x = await agent.connect('sm-x', { realm, transport: 'rs', serializer: 'msgpack' });
  const y = await raw(realm, 'cbor');
  const yAuthid = (y.welcome[2] as Dict).authid as string;
  const z = await agent.connect('sm-z', { realm, transport: 'ws', serializer: 'cbor' });

  t.is(await outcome(admin, 'wamp.session.count'), 4);
  t.is(await outcome(admin, 'wamp.session.count', [['anonymous']]), 4);
  t.is(await outcome(admin, 'wamp.session.count', [['nobody']]), 0);
  t.deepEqual(sorted(await outcome(admin, 'wamp.session.list')), sorted([admin.id, x.id, y.id, z.id]));
  t.deepEqual(await outcome(admin, 'wamp.session.list', [['nobody']]), []);

  const details = (await outcome(admin, 'wamp.session.get', [x.id])) as Dict;
  t.like(details, { session: x.id, authid: x.authid, authrole: 'anonymous', authmethod: 'anonymous' });
  t.is(typeof details.authprovider, 'string');
  if (details.transport !== undefined) t.is(typeof details.transport, 'object', 'transport, when present, is a dict');
  t.is(await outcome(admin, 'wamp.session.get', [NO_SUCH_ID]), 'ERROR wamp.error.no_such_session');

  // kill: GOODBYE with the given reason and message.
  t.true((await admin.call('wamp.session.kill', [x.id], { reason: 'com.adv.meta.bye', message: 'out' })).ok);
  const xLeft = await x.waitEvent((e) => e.event === 'leave', 'killed session leaves');
  t.deepEqual([xLeft.reason, xLeft.message], ['com.adv.meta.bye', 'out']);
  t.is(await outcome(admin, 'wamp.session.kill', [NO_SUCH_ID]), 'ERROR wamp.error.no_such_session');

  // kill_by_authid: the IDs of the sessions killed.
  t.deepEqual(await outcome(admin, 'wamp.session.kill_by_authid', [yAuthid], { reason: 'com.adv.meta.byid' }), [y.id]);
  const goodbye = await y.c.next((m) => m[0] === T.GOODBYE);
  t.is(goodbye[2], 'com.adv.meta.byid');
  y.c.send([T.GOODBYE, {}, 'wamp.close.goodbye_and_out']);
  await y.c.closed;
  t.deepEqual(await outcome(admin, 'wamp.session.kill_by_authid', ['nobody']), []);

  // kill_by_authrole: a count; the caller's own session is spared.
  const p = await agent.connect('sm-p', { realm, transport: 'rs', serializer: 'json' });
  const q = await agent.connect('sm-q', { realm, transport: 'ws', serializer: 'msgpack' });
  t.is(await outcome(admin, 'wamp.session.kill_by_authrole', ['anonymous'], { reason: 'com.adv.meta.byrole' }), 3);
  for (const s of [z, p, q]) {
    const left = await s.waitEvent((e) => e.event === 'leave', 'killed by authrole');
    t.is(left.reason, 'com.adv.meta.byrole', s.name);
  }
  t.is(await outcome(admin, 'wamp.session.kill_by_authrole', ['nobody']), 0);

  // kill_all: everyone but the caller; a count.
  const r = await agent.connect('sm-r', { realm, transport: 'rs', serializer: 'cbor' });
  const s = await agent.connect('sm-s', { realm, transport: 'ws', serializer: 'json' });
  t.is(await outcome(admin, 'wamp.session.kill_all', [], { reason: 'com.adv.meta.all' }), 2);
  for (const k of [r, s])
    t.is((await k.waitEvent((e) => e.event === 'leave', 'killed by kill_all')).reason, 'com.adv.meta.all');
  t.is(await outcome(admin, 'wamp.session.count'), 1);
  t.deepEqual(await outcome(admin, 'wamp.session.list'), [admin.id]);
});

test("session meta procedures: kill's defaults and errors as the spec defines them [session_meta_api]", async (t) => {
  // Spec (Session Meta API): "Specifying the caller's own session will result in a
  // wamp.error.no_such_session"; "if not provided the reason defaults to wamp.close.normal and
  // the message is omitted from the GOODBYE"; an invalid reason -> wamp.error.invalid_uri.
  const realm = 'meta.session.spec';
  const admin = await raw(realm, 'msgpack');
  const victim = await raw(realm, 'json');
  const problems: string[] = [];
  const self = await rawMeta(admin, 'wamp.session.kill', [admin.id]);
  if (self[0] !== T.ERROR || self[4] !== 'wamp.error.no_such_session')
    problems.push(`kill(own session) answered ${JSON.stringify(self)}, expected ERROR wamp.error.no_such_session`);
  const bad = await rawMeta(admin, 'wamp.session.kill', [victim.id], { reason: 'not a uri!' });
  if (bad[0] !== T.ERROR || bad[4] !== 'wamp.error.invalid_uri')
    problems.push(`kill(reason "not a uri!") answered ${JSON.stringify(bad)}, expected ERROR wamp.error.invalid_uri`);
  if (!victim.c.isClosed && bad[0] === T.ERROR) {
    const plain = await rawMeta(admin, 'wamp.session.kill', [victim.id]);
    t.is(plain[0], T.RESULT);
    const goodbye = await victim.c.next((m) => m[0] === T.GOODBYE);
    if (goodbye[2] !== 'wamp.close.normal')
      problems.push(`default GOODBYE.Reason is ${String(goodbye[2])}, expected wamp.close.normal`);
    if ((goodbye[1] as Dict).message !== undefined)
      problems.push(`GOODBYE.Details has a message without one being given: ${JSON.stringify(goodbye[1])}`);
  } else {
    // The invalid reason killed the session already; look at what it got.
    const goodbye = await victim.c.next((m) => m[0] === T.GOODBYE);
    problems.push(`the session was killed despite the invalid reason (GOODBYE ${JSON.stringify(goodbye)})`);
    const other = await raw(realm, 'cbor');
    t.is((await rawMeta(admin, 'wamp.session.kill', [other.id]))[0], T.RESULT);
    const g2 = await other.c.next((m) => m[0] === T.GOODBYE);
    if (g2[2] !== 'wamp.close.normal')
      problems.push(`default GOODBYE.Reason is ${String(g2[2])}, expected wamp.close.normal`);
    if ((g2[1] as Dict).message !== undefined)
      problems.push(`GOODBYE.Details has a message without one being given: ${JSON.stringify(g2[1])}`);
    await other.c.destroy();
  }
  t.deepEqual(problems, []);
  await admin.c.destroy();
  await victim.c.destroy();
});

test('session meta events: on_join with the session details, on_leave with session, authid, authrole [session_meta_api]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'meta.session.events';
  const watcher = await agent.connect('se-watcher', { realm, transport: 'ws', serializer: 'msgpack' });
  const joinSub = await watcher.subscribe('wamp.session.on_join');
  const leaveSub = await watcher.subscribe('wamp.session.on_leave');
  const j = await agent.connect('se-j', { realm, transport: 'rs', serializer: 'cbor' });
  const joined = await watcher.waitEvent(
    (e) => e.event === 'event' && e.subscription === joinSub && (argsOf(e)[0] as Dict).session === j.id,
    'on_join',
  );
  const d = argsOf(joined)[0] as Dict;
  t.like(d, { session: j.id, authid: j.authid, authrole: j.authrole, authmethod: 'anonymous' });
  t.is(typeof d.authprovider, 'string');
  await j.leave();
  const left = await watcher.waitEvent(
    (e) => e.event === 'event' && e.subscription === leaveSub && argsOf(e)[0] === j.id,
    'on_leave after GOODBYE',
  );
  t.deepEqual(argsOf(left), [j.id, j.authid, j.authrole]);
  // A connection that just drops leaves too.
  const k = await raw(realm, 'json');
  await watcher.waitEvent(
    (e) => e.event === 'event' && e.subscription === joinSub && (argsOf(e)[0] as Dict).session === k.id,
    'on_join of the raw peer',
  );
  await k.c.destroy();
  const kLeft = await watcher.waitEvent(
    (e) => e.event === 'event' && e.subscription === leaveSub && argsOf(e)[0] === k.id,
    'on_leave after a dropped connection',
  );
  t.deepEqual(argsOf(kLeft), [k.id, (k.welcome[2] as Dict).authid, 'anonymous']);
});

// ---- registration meta API ----------------------------------------------------------------

test('registration meta API: list, lookup, match, get, list_callees, count_callees and every meta event [registration_meta_api]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'meta.reg';
  const P = uniquePrefix('metareg');
  const watcher = await agent.connect('rm-watcher', { realm, transport: 'ws', serializer: 'json' });
  const topics = ['on_create', 'on_register', 'on_unregister', 'on_delete'] as const;
  const subOf: Record<string, number> = {};
  for (const topic of topics) subOf[topic] = await watcher.subscribe(`wamp.registration.${topic}`);
  const metaEvents = () =>
    watcher.agent
      .eventsWhere((e) => e.session === 'rm-watcher' && e.event === 'event')
      .map((e) => [topics.find((tp) => subOf[tp] === e.subscription)!, ...argsOf(e)] as unknown[]);

  const c1 = await agent.connect('rm-c1', { realm, transport: 'rs', serializer: 'msgpack' });
  const reg = await c1.register(`${P}.`, { kind: 'echo' }, { match: 'prefix', invoke: 'roundrobin' });
  await until(() => metaEvents().length === 2, 'on_create and on_register');
  const [created, registered] = metaEvents();
  t.deepEqual(created!.slice(0, 2), ['on_create', c1.id], 'on_create first');
  const regDetails = created![2] as Dict;
  t.deepEqual(
    { ...regDetails, created: 'x' },
    { id: reg, created: 'x', uri: `${P}.`, match: 'prefix', invoke: 'roundrobin' },
  );
  t.true(isIso(regDetails.created), `created is an ISO 8601 string: ${String(regDetails.created)}`);
  t.deepEqual(registered, ['on_register', c1.id, reg]);

  const c2 = await raw(realm, 'cbor');
  t.is(await rawRegister(c2, `${P}.`, { match: 'prefix', invoke: 'roundrobin' }), reg, 'joins the same registration');
  await until(() => metaEvents().length === 3, 'on_register of the second callee');
  t.deepEqual(metaEvents()[2], ['on_register', c2.id, reg], 'no second on_create');
  const exact = await c1.register(`${P}.exact`);
  const wild = await c1.register(`${P}..w`, { kind: 'echo' }, { match: 'wildcard' });

  const rc = await raw(realm, 'msgpack');
  const result = async (procedure: string, args: unknown[] = []) => {
    const m = await rawMeta(rc, procedure, args);
    return m[0] === T.RESULT ? (m[3] as unknown[])[0] : `ERROR ${String(m[4])}`;
  };
  t.deepEqual(await result('wamp.registration.list'), { exact: [exact], prefix: [reg], wildcard: [wild] });
  t.is(await result('wamp.registration.lookup', [`${P}.`, { match: 'prefix' }]), reg);
  t.is(await result('wamp.registration.lookup', [`${P}.`]), null, 'lookup defaults to exact matching');
  t.is(await result('wamp.registration.lookup', [`${P}.exact`]), exact);
  t.is(await result('wamp.registration.lookup', [`${P}..w`, { match: 'wildcard' }]), wild);
  t.is(await result('wamp.registration.match', [`${P}.x.y`]), reg);
  t.is(await result('wamp.registration.match', [`${P}.exact`]), exact, 'the best match: exact before prefix');
  t.is(await result('wamp.registration.match', ['com.nothing.here']), null);
  const got = (await result('wamp.registration.get', [reg])) as Dict;
  t.deepEqual(got, regDetails);
  t.deepEqual(sorted(await result('wamp.registration.list_callees', [reg])), sorted([c1.id, c2.id]));
  t.is(await result('wamp.registration.count_callees', [reg]), 2);
  for (const procedure of [
    'wamp.registration.get',
    'wamp.registration.list_callees',
    'wamp.registration.count_callees',
  ]) {
    t.is(await result(procedure, [NO_SUCH_ID]), 'ERROR wamp.error.no_such_registration', procedure);
  }
  // Through Autobahn too (a foreign client decoding the same answers).
  t.deepEqual(await outcome(watcher, 'wamp.registration.list'), { exact: [exact], prefix: [reg], wildcard: [wild] });
  t.is(await outcome(watcher, 'wamp.registration.count_callees', [reg]), 2);

  // Unregister and leave: on_unregister, then on_delete for the last callee.
  const before = metaEvents().length;
  c2.c.send([T.UNREGISTER, 99, reg]);
  await c2.c.next((m) => m[0] === T.UNREGISTERED && m[1] === 99);
  await until(() => metaEvents().length === before + 1, 'on_unregister');
  t.deepEqual(metaEvents()[before], ['on_unregister', c2.id, reg]);
  await c1.leave();
  await until(() => metaEvents().length === before + 1 + 6, 'three on_unregister and three on_delete');
  const tail = metaEvents().slice(before + 1);
  for (const id of [reg, exact, wild]) {
    const unreg = tail.findIndex((e) => e[0] === 'on_unregister' && e[2] === id);
    const del = tail.findIndex((e) => e[0] === 'on_delete' && e[2] === id);
    t.true(unreg >= 0 && del > unreg, `registration ${id}: on_unregister, then on_delete: ${JSON.stringify(tail)}`);
    t.deepEqual([tail[unreg]?.[1], tail[del]?.[1]], [c1.id, c1.id]);
  }
  t.deepEqual(await result('wamp.registration.list'), { exact: [], prefix: [], wildcard: [] });
  await c2.c.destroy();
  await rc.c.destroy();
});

// ---- subscription meta API ----------------------------------------------------------------

test('subscription meta API: list, lookup, match, get, list_subscribers, count_subscribers and every meta event [subscription_meta_api]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'meta.sub';
  const P = uniquePrefix('metasub');
  const watcher = await agent.connect('sub-watcher', { realm, transport: 'rs', serializer: 'cbor' });
  const topics = ['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete'] as const;
  const subOf: Record<string, number> = {};
  for (const topic of topics) subOf[topic] = await watcher.subscribe(`wamp.subscription.${topic}`);
  const metaEvents = () =>
    watcher.agent
      .eventsWhere((e) => e.session === 'sub-watcher' && e.event === 'event')
      .map((e) => [topics.find((tp) => subOf[tp] === e.subscription)!, ...argsOf(e)] as unknown[])
      // The watcher's own meta subscriptions were announced too; only this test's topics count.
      .filter((e) => typeof e[2] !== 'object' || String((e[2] as Dict).uri).startsWith(P));
  const ownMeta = new Set(Object.values(subOf));
  const mine = () => metaEvents().filter((e) => !ownMeta.has(e[2] as number));

  const s1 = await agent.connect('sub-s1', { realm, transport: 'ws', serializer: 'json' });
  const wild = await s1.subscribe(`${P}..t`, { match: 'wildcard' });
  await until(() => mine().length === 2, 'on_create and on_subscribe');
  const [created, subscribed] = mine();
  t.deepEqual(created!.slice(0, 2), ['on_create', s1.id]);
  const subDetails = created![2] as Dict;
  t.deepEqual({ ...subDetails, created: 'x' }, { id: wild, created: 'x', uri: `${P}..t`, match: 'wildcard' });
  t.true(isIso(subDetails.created), String(subDetails.created));
  t.deepEqual(subscribed, ['on_subscribe', s1.id, wild]);

  const s2 = await raw(realm, 'msgpack');
  t.is(await rawSubscribe(s2, `${P}..t`, { match: 'wildcard' }), wild);
  await until(() => mine().length === 3, 'on_subscribe of the second subscriber');
  t.deepEqual(mine()[2], ['on_subscribe', s2.id, wild], 'no second on_create');
  const exact = await s1.subscribe(`${P}.e`);
  const prefix = await s1.subscribe(`${P}.p`, { match: 'prefix' });

  const rc = await raw(realm, 'json');
  const result = async (procedure: string, args: unknown[] = []) => {
    const m = await rawMeta(rc, procedure, args);
    return m[0] === T.RESULT ? (m[3] as unknown[])[0] : `ERROR ${String(m[4])}`;
  };
  const list = (await result('wamp.subscription.list')) as Record<string, number[]>;
  t.deepEqual([list.prefix, list.wildcard], [[prefix], [wild]]);
  t.true(list.exact!.includes(exact), JSON.stringify(list));
  t.is(await result('wamp.subscription.lookup', [`${P}..t`, { match: 'wildcard' }]), wild);
  t.is(await result('wamp.subscription.lookup', [`${P}..t`]), null, 'lookup defaults to exact matching');
  t.is(await result('wamp.subscription.lookup', [`${P}.e`]), exact);
  t.is(await result('wamp.subscription.lookup', [`${P}.p`, { match: 'prefix' }]), prefix);
  t.deepEqual(await result('wamp.subscription.match', [`${P}.x.t`]), [wild]);
  t.deepEqual(
    sorted(await result('wamp.subscription.match', [`${P}.p.t`])),
    sorted([prefix, wild]),
    'every matching subscription',
  );
  t.deepEqual(await result('wamp.subscription.match', [`${P}.e`]), [exact]);
  t.is(await result('wamp.subscription.match', ['com.nothing.here']), null);
  t.deepEqual(await result('wamp.subscription.get', [wild]), subDetails);
  t.deepEqual(sorted(await result('wamp.subscription.list_subscribers', [wild])), sorted([s1.id, s2.id]));
  t.is(await result('wamp.subscription.count_subscribers', [wild]), 2);
  for (const procedure of [
    'wamp.subscription.get',
    'wamp.subscription.list_subscribers',
    'wamp.subscription.count_subscribers',
  ]) {
    t.is(await result(procedure, [NO_SUCH_ID]), 'ERROR wamp.error.no_such_subscription', procedure);
  }
  t.is(await outcome(watcher, 'wamp.subscription.count_subscribers', [wild]), 2, 'through Autobahn too');

  const before = mine().length;
  s2.c.send([T.UNSUBSCRIBE, 99, wild]);
  await s2.c.next((m) => m[0] === T.UNSUBSCRIBED && m[1] === 99);
  await until(() => mine().length === before + 1, 'on_unsubscribe');
  t.deepEqual(mine()[before], ['on_unsubscribe', s2.id, wild]);
  await s1.leave();
  await until(() => mine().length === before + 1 + 6, 'three on_unsubscribe and three on_delete');
  const tail = mine().slice(before + 1);
  for (const id of [wild, exact, prefix]) {
    const unsub = tail.findIndex((e) => e[0] === 'on_unsubscribe' && e[2] === id);
    const del = tail.findIndex((e) => e[0] === 'on_delete' && e[2] === id);
    t.true(unsub >= 0 && del > unsub, `subscription ${id}: on_unsubscribe, then on_delete: ${JSON.stringify(tail)}`);
    t.deepEqual([tail[unsub]?.[1], tail[del]?.[1]], [s1.id, s1.id]);
  }
  await s2.c.destroy();
  await rc.c.destroy();
});
