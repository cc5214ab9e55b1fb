// Advanced-profile PubSub against the real router process: Autobahn|Python publishers and
// subscribers, raw frames where Autobahn 22.7.1 lacks an option (disclose_me) or hides a
// detail (which keys EVENT.Details has), and testaments on connections that really die.

import test from 'ava';
import { PyAgent, type AgentEvent, type PySession } from './support/agent.ts';
import { T, rawBarrier, rawJoin, rawSubscribe, type Dict, type Msg } from './support/raw.ts';
import { fixture, uniquePrefix, until } from './support/suite.ts';

const realms = [
  'ps.exclusion',
  'ps.ident',
  'ps.bw',
  'ps.pattern',
  'ps.testament.lost',
  'ps.testament.goodbye',
  'ps.testament.raw',
];
const fx = fixture(realms.map((uri) => ({ uri })));
test.after.always('stop agent and router', () => fx.close());

const argsOf = (e: AgentEvent) => e.args as unknown[];

test('publisher exclusion: the publisher does not get its own event unless exclude_me is false [publisher_exclusion]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'ps.exclusion';
  const P = uniquePrefix('excl');
  const pub = await agent.connect('excl-pub', { realm, transport: 'ws', serializer: 'json' });
  const sub = await agent.connect('excl-sub', { realm, transport: 'rs', serializer: 'cbor' });
  const pubSub = await pub.subscribe(`${P}.t`);
  const subSub = await sub.subscribe(`${P}.t`);
  await pub.publish(`${P}.t`, ['default'], {}, { acknowledge: true });
  await pub.publish(`${P}.t`, ['included'], {}, { acknowledge: true, exclude_me: false });
  await until(() => sub.eventsOn(subSub).length === 2, 'subscriber got both events');
  await until(() => pub.eventsOn(pubSub).length >= 1, 'publisher got its event');
  t.deepEqual(sub.eventsOn(subSub).map(argsOf), [['default'], ['included']]);
  // Same connection, same order: had the first event been sent to the publisher, it would be here first.
  t.deepEqual(pub.eventsOn(pubSub).map(argsOf), [['included']]);
  await pub.publish(`${P}.t`, ['explicit'], {}, { acknowledge: true, exclude_me: true });
  await pub.publish(`${P}.t`, ['again'], {}, { acknowledge: true, exclude_me: false });
  await until(() => pub.eventsOn(pubSub).length >= 2, 'publisher got the second included event');
  t.deepEqual(pub.eventsOn(pubSub).map(argsOf), [['included'], ['again']]);
});

test('publisher identification: disclose_me puts publisher, publisher_authid and publisher_authrole in the EVENT [publisher_identification]', async (t) => {
  const { agent, router } = await fx.get();
  const realm = 'ps.ident';
  const P = uniquePrefix('ident');
  const sub = await agent.connect('ident-sub', { realm, transport: 'rs', serializer: 'msgpack' });
  const subId = await sub.subscribe(`${P}.t`);
  const rawSub = await rawJoin(router, { realm, transport: 'rawsocket', serializer: 'cbor' });
  const rawSubId = await rawSubscribe(rawSub, `${P}.t`);
  // Autobahn|Python 22.7.1 has no disclose_me for PUBLISH: a raw publisher asks for it.
  const pub = await rawJoin(router, { realm, transport: 'websocket', serializer: 'json' });
  const pubDetails = pub.welcome[2] as Dict;
  pub.c.send([T.PUBLISH, 1, { disclose_me: true, acknowledge: true }, `${P}.t`, ['who']]);
  t.is((await pub.c.next((m) => m[0] === T.PUBLISHED || m[0] === T.ERROR))[0], T.PUBLISHED);
  const ev = await sub.waitEvent((e) => e.event === 'event' && argsOf(e)[0] === 'who', 'disclosed event');
  t.deepEqual([ev.publisher, ev.publisher_authid, ev.publisher_authrole], [pub.id, pubDetails.authid, 'anonymous']);
  const rawEv = await rawSub.c.next((m) => m[0] === T.EVENT);
  t.deepEqual(
    [rawEv[1], rawEv[3]],
    [rawSubId, { publisher: pub.id, publisher_authid: pubDetails.authid, publisher_authrole: 'anonymous' }],
  );

  // Not asked: not disclosed (the realm's default "optional").
  const pyPub = await agent.connect('ident-pub', { realm, transport: 'ws', serializer: 'cbor' });
  await pyPub.publish(`${P}.t`, ['anon'], {}, { acknowledge: true });
  const ev2 = await sub.waitEvent((e) => e.event === 'event' && argsOf(e)[0] === 'anon', 'undisclosed event');
  t.deepEqual([ev2.publisher, ev2.publisher_authid, ev2.publisher_authrole], [null, null, null]);
  const rawEv2 = await rawSub.c.next((m) => m[0] === T.EVENT);
  t.deepEqual(rawEv2[3], {});
  t.is(sub.eventsOn(subId).length, 2);
  await pub.c.destroy();
  await rawSub.c.destroy();
});

test('subscriber black- and whitelisting: every option, and their combination [subscriber_blackwhite_listing]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'ps.bw';
  const P = uniquePrefix('bw');
  const topic = `${P}.t`;
  const pub = await agent.connect('bw-pub', { realm, transport: 'ws', serializer: 'json' });
  const subs: Record<'a' | 'b' | 'c', PySession> = {
    a: await agent.connect('bw-a', { realm, transport: 'ws', serializer: 'json' }),
    b: await agent.connect('bw-b', { realm, transport: 'rs', serializer: 'msgpack' }),
    c: await agent.connect('bw-c', { realm, transport: 'ws', serializer: 'cbor' }),
  };
  const subIds: Record<string, number> = {};
  for (const [n, s] of Object.entries(subs)) subIds[n] = await s.subscribe(topic);
  const { a, b, c } = subs;
  t.true(new Set([a.authid, b.authid, c.authid]).size === 3, 'anonymous sessions have distinct authids');
  const cases: Array<[Dict, string]> = [
    [{ exclude: [a.id] }, 'bc'],
    [{ exclude_authid: [b.authid] }, 'ac'],
    [{ exclude_authrole: ['anonymous'] }, ''],
    [{ exclude_authrole: ['someone.else'] }, 'abc'],
    [{ eligible: [a.id, b.id] }, 'ab'],
    [{ eligible_authid: [c.authid] }, 'c'],
    [{ eligible_authrole: ['anonymous'] }, 'abc'],
    [{ eligible_authrole: ['someone.else'] }, ''],
    // The spec's combined example: eligible and not excluded.
    [{ eligible: [a.id, b.id, c.id], exclude: [b.id] }, 'ac'],
    [{ eligible_authid: [a.authid, b.authid], exclude_authid: [a.authid] }, 'b'],
    [{ eligible: [a.id, c.id], eligible_authid: [c.authid] }, 'c'],
    [{ exclude: [a.id], exclude_authid: [c.authid] }, 'b'],
  ];
  for (const [i, [options, expected]] of cases.entries()) {
    const publication = await pub.publish(topic, ['case', i], {}, { acknowledge: true, ...options });
    t.is(typeof publication, 'number', 'acknowledged');
    // A barrier event to all three; the case's event, if sent, arrived before it.
    await pub.publish(topic, ['barrier', i], {}, { acknowledge: true });
    await until(
      () =>
        Object.entries(subs).every(([n, s]) =>
          s.eventsOn(subIds[n]!).some((e) => argsOf(e)[0] === 'barrier' && argsOf(e)[1] === i),
        ),
      `barrier ${i}`,
    );
    const got = Object.entries(subs)
      .filter(([n, s]) => s.eventsOn(subIds[n]!).some((e) => argsOf(e)[0] === 'case' && argsOf(e)[1] === i))
      .map(([n]) => n)
      .join('');
    t.is(got, expected, JSON.stringify(options));
  }
});

test('pattern-based subscriptions: prefix and wildcard get the concrete topic in details.topic [pattern_based_subscription]', async (t) => {
  const { agent, router } = await fx.get();
  const realm = 'ps.pattern';
  const P = uniquePrefix('pattern');
  const sub = await agent.connect('pattern-sub', { realm, transport: 'rs', serializer: 'json' });
  const prefixId = await sub.subscribe(`${P}.a`, { match: 'prefix' });
  const wildId = await sub.subscribe(`${P}..x`, { match: 'wildcard' });
  const exactId = await sub.subscribe(`${P}.a.x`);
  t.is(new Set([prefixId, wildId, exactId]).size, 3);
  const pub = await agent.connect('pattern-pub', { realm, transport: 'ws', serializer: 'msgpack' });
  const pubA = await pub.publish(`${P}.a.x`, ['ax'], {}, { acknowledge: true });
  await until(
    () => sub.agent.eventsWhere((e) => e.session === 'pattern-sub' && argsOf(e)[0] === 'ax').length === 3,
    'three deliveries of one publication',
  );
  const ax = sub.agent.eventsWhere((e) => e.session === 'pattern-sub' && argsOf(e)[0] === 'ax');
  t.deepEqual(ax.map((e) => e.subscription as number).sort(), [prefixId, wildId, exactId].sort());
  t.true(
    ax.every((e) => e.publication === pubA),
    'the same publication ID on every subscription',
  );
  t.true(ax.every((e) => e.topic === `${P}.a.x`));
  // Only the wildcard matches P.b.x; only the prefix matches P.a-b (a string prefix) and P.a.y.z.
  for (const [topic, expected] of [
    [`${P}.b.x`, wildId],
    [`${P}.a-b`, prefixId],
    [`${P}.a.y.z`, prefixId],
  ] as const) {
    await pub.publish(topic, [topic], {}, { acknowledge: true });
    const ev = await sub.waitEvent((e) => e.event === 'event' && argsOf(e)[0] === topic, topic);
    t.is(ev.subscription, expected, topic);
    t.is(ev.topic, topic, `${topic}: details.topic`);
  }
  await pub.publish(`${P}.end`, ['end'], {}, { acknowledge: true });
  await pub.publish(`${P}.a.end`, ['end'], {}, { acknowledge: true });
  await sub.waitEvent((e) => e.event === 'event' && argsOf(e)[0] === 'end', 'the last publication');
  t.is(
    sub.agent.eventsWhere((e) => e.session === 'pattern-sub' && e.event === 'event').length,
    3 + 3 + 1,
    'no stray deliveries',
  );

  // Raw frames: Details.topic on pattern subscriptions only.
  const raw = await rawJoin(router, { realm, transport: 'rawsocket', serializer: 'msgpack' });
  const rPrefix = await rawSubscribe(raw, `${P}.a`, { match: 'prefix' });
  const rExact = await rawSubscribe(raw, `${P}.a.x`);
  await pub.publish(`${P}.a.x`, ['raw'], {}, { acknowledge: true });
  const evs: Msg[] = [await raw.c.next((m) => m[0] === T.EVENT), await raw.c.next((m) => m[0] === T.EVENT)];
  const byId = new Map(evs.map((e) => [e[1], e[3]]));
  t.deepEqual(byId.get(rPrefix), { topic: `${P}.a.x` });
  t.deepEqual(byId.get(rExact), {});
  await raw.c.destroy();
});

// ---- testaments ---------------------------------------------------------------------------

test('testament: published when the client process is killed (TCP cut), detached scope first [testament_meta_api]', async (t) => {
  const { agent, router } = await fx.get();
  const realm = 'ps.testament.lost';
  const P = uniquePrefix('testament');
  const watcher = await agent.connect('lost-watcher', { realm, transport: 'ws', serializer: 'json' });
  const subId = await watcher.subscribe(`${P}.dead`);
  const leaveSub = await watcher.subscribe('wamp.session.on_leave');
  const doomedAgent = await PyAgent.start(router);
  try {
    const doomed = await doomedAgent.connect('doomed', { realm, transport: 'rs', serializer: 'cbor' });
    const added = await doomed.call('wamp.session.add_testament', [`${P}.dead`, ['gone', 1], { who: 'doomed' }]);
    t.true(added.ok, JSON.stringify(added));
    const detached = await doomed.call('wamp.session.add_testament', [`${P}.dead`, ['detached-first']], {
      scope: 'detached',
    });
    t.true(detached.ok, JSON.stringify(detached));
    await doomedAgent.kill();
    await until(() => watcher.eventsOn(subId).length === 2, 'both testaments published');
    const evs = watcher.eventsOn(subId);
    // "A Router that does not allow Session Resumption MUST send detached-scope Testaments before destroyed-scope Testaments."
    t.deepEqual(
      evs.map((e) => [e.args, e.kwargs]),
      [
        [['detached-first'], {}],
        [['gone', 1], { who: 'doomed' }],
      ],
    );
    const left = await watcher.waitEvent(
      (e) => e.event === 'event' && e.subscription === leaveSub && argsOf(e)[0] === doomed.id,
      'on_leave',
    );
    t.deepEqual(argsOf(left), [doomed.id, doomed.authid, doomed.authrole]);
  } finally {
    await doomedAgent.kill();
  }
});

test('testament: not published after a clean GOODBYE, nor after flush_testaments [testament_meta_api]', async (t) => {
  const { agent } = await fx.get();
  const realm = 'ps.testament.goodbye';
  const P = uniquePrefix('testament');
  const watcher = await agent.connect('goodbye-watcher', { realm, transport: 'rs', serializer: 'msgpack' });
  const subId = await watcher.subscribe(`${P}.dead`);
  const leaveSub = await watcher.subscribe('wamp.session.on_leave');
  const polite = await agent.connect('polite', { realm, transport: 'ws', serializer: 'json' });
  t.true((await polite.call('wamp.session.add_testament', [`${P}.dead`, ['polite']])).ok);
  await polite.leave();
  // The router publishes testaments before on_leave, to the same watcher connection.
  await watcher.waitEvent(
    (e) => e.event === 'event' && e.subscription === leaveSub && argsOf(e)[0] === polite.id,
    'on_leave of polite',
  );
  t.deepEqual(watcher.eventsOn(subId), [], 'no testament after GOODBYE');

  // flush_testaments removes them: a later lost connection publishes nothing.
  const doomedAgent = await PyAgent.start((await fx.get()).router);
  try {
    const flushed = await doomedAgent.connect('flushed', { realm, transport: 'rs', serializer: 'json' });
    t.true((await flushed.call('wamp.session.add_testament', [`${P}.dead`, ['flushed']])).ok);
    t.true((await flushed.call('wamp.session.flush_testaments')).ok);
    await doomedAgent.kill();
    await watcher.waitEvent(
      (e) => e.event === 'event' && e.subscription === leaveSub && argsOf(e)[0] === flushed.id,
      'on_leave of flushed',
    );
    t.deepEqual(watcher.eventsOn(subId), [], 'no testament after flush_testaments');
  } finally {
    await doomedAgent.kill();
  }
});

test('testament: published when a raw socket is destroyed [testament_meta_api]', async (t) => {
  const { agent, router } = await fx.get();
  const realm = 'ps.testament.raw';
  const P = uniquePrefix('testament');
  const watcher = await agent.connect('raw-watcher', { realm, transport: 'ws', serializer: 'cbor' });
  const subId = await watcher.subscribe(`${P}.dead`);
  const peer = await rawJoin(router, { realm, transport: 'rawsocket', serializer: 'json' });
  peer.c.send([T.CALL, 1, {}, 'wamp.session.add_testament', [`${P}.dead`, ['raw gone']], { publish_options: {} }]);
  t.is((await peer.c.next((m) => m[1] === 1 || m[2] === 1))[0], T.RESULT);
  await rawBarrier(peer);
  await peer.c.destroy();
  const ev = await watcher.waitEvent(
    (e) => e.event === 'event' && e.subscription === subId,
    'testament of the raw peer',
  );
  t.deepEqual(argsOf(ev), ['raw gone']);
});
