// Caller and publisher identification forced or forbidden by realm configuration
// (realms[].callerDisclosure / publisherDisclosure: "optional" | "always" | "never").
// Spec: a Dealer/Broker MAY disclose without being asked "when the configuration is set up to
// do so", and MAY deny a request to disclose.

import test from 'ava';
import type { AgentEvent } from './support/agent.ts';
import { T, isCallAnswer, rawCall, rawJoin, type Dict } from './support/raw.ts';
import { fixture, uniquePrefix, until } from './support/suite.ts';

const fx = fixture([
  { uri: 'disclose.always', callerDisclosure: 'always', publisherDisclosure: 'always' },
  { uri: 'disclose.never', callerDisclosure: 'never', publisherDisclosure: 'never' },
  { uri: 'disclose.always.pub', callerDisclosure: 'always', publisherDisclosure: 'always' },
  { uri: 'disclose.never.pub', callerDisclosure: 'never', publisherDisclosure: 'never' },
]);
test.after.always('stop agent and router', () => fx.close());

const argsOf = (e: AgentEvent) => e.args as unknown[];
// The spec names both: the Caller Identification example uses wamp.error.disclose_me.not_allowed,
// Publisher Identification and the basic profile's error list wamp.error.option_disallowed.disclose_me.
const DENIED = ['wamp.error.option_disallowed.disclose_me', 'wamp.error.disclose_me.not_allowed'];

test('caller identification: a realm configured "always" discloses unasked, "never" refuses disclose_me [caller_identification]', async (t) => {
  const { agent, router } = await fx.get();
  const P = uniquePrefix('disclose');
  // always
  const calleeA = await agent.connect('always-callee', {
    realm: 'disclose.always',
    transport: 'rs',
    serializer: 'cbor',
  });
  await calleeA.register(`${P}.who`);
  const callerA = await agent.connect('always-caller', {
    realm: 'disclose.always',
    transport: 'ws',
    serializer: 'json',
  });
  t.true((await callerA.call(`${P}.who`, ['always'])).ok);
  const invA = await calleeA.waitInvocation((e) => argsOf(e)[0] === 'always');
  t.deepEqual([invA.caller, invA.caller_authid, invA.caller_authrole], [callerA.id, callerA.authid, callerA.authrole]);

  // never
  const calleeN = await agent.connect('never-callee', {
    realm: 'disclose.never',
    transport: 'ws',
    serializer: 'msgpack',
  });
  await calleeN.register(`${P}.who`);
  const rawCaller = await rawJoin(router, { realm: 'disclose.never', transport: 'rawsocket', serializer: 'json' });
  const req = rawCall(rawCaller, `${P}.who`, { disclose_me: true }, ['asked']);
  const denied = await rawCaller.c.next(isCallAnswer(req));
  t.is(denied[0], T.ERROR, JSON.stringify(denied));
  t.true(DENIED.includes(denied[4] as string), `denial URI ${String(denied[4])}`);
  const callerN = await agent.connect('never-caller', {
    realm: 'disclose.never',
    transport: 'rs',
    serializer: 'msgpack',
  });
  t.true((await callerN.call(`${P}.who`, ['unasked'])).ok);
  const invN = await calleeN.waitInvocation((e) => argsOf(e)[0] === 'unasked');
  t.deepEqual([invN.caller, invN.caller_authid, invN.caller_authrole], [null, null, null]);
  t.deepEqual(
    calleeN.agent.eventsWhere(
      (e) => e.event === 'invocation' && e.session === 'never-callee' && argsOf(e)[0] === 'asked',
    ),
    [],
    'the refused call was not invoked',
  );
  await rawCaller.c.destroy();
});

test('publisher identification: a realm configured "always" discloses unasked, "never" refuses disclose_me [publisher_identification]', async (t) => {
  const { agent, router } = await fx.get();
  const P = uniquePrefix('disclose');
  // always
  const subA = await agent.connect('always-sub', { realm: 'disclose.always.pub', transport: 'ws', serializer: 'cbor' });
  const subAId = await subA.subscribe(`${P}.t`);
  const pubA = await agent.connect('always-pub', { realm: 'disclose.always.pub', transport: 'rs', serializer: 'json' });
  await pubA.publish(`${P}.t`, ['always'], {}, { acknowledge: true });
  await until(() => subA.eventsOn(subAId).length === 1, 'event');
  const evA = subA.eventsOn(subAId)[0]!;
  t.deepEqual([evA.publisher, evA.publisher_authid, evA.publisher_authrole], [pubA.id, pubA.authid, pubA.authrole]);

  // never
  const subN = await agent.connect('never-sub', {
    realm: 'disclose.never.pub',
    transport: 'rs',
    serializer: 'msgpack',
  });
  const subNId = await subN.subscribe(`${P}.t`);
  const rawPub = await rawJoin(router, { realm: 'disclose.never.pub', transport: 'websocket', serializer: 'cbor' });
  rawPub.c.send([T.PUBLISH, 7, { acknowledge: true, disclose_me: true }, `${P}.t`, ['asked']]);
  const denied = await rawPub.c.next((m) => (m[0] === T.PUBLISHED && m[1] === 7) || (m[0] === T.ERROR && m[2] === 7));
  // The spec's example: [8, 239714735, {}, "wamp.error.option_disallowed.disclose_me"].
  t.deepEqual([denied[0], denied[1], denied[4]], [T.ERROR, T.PUBLISH, 'wamp.error.option_disallowed.disclose_me']);
  const pubN = await agent.connect('never-pub', { realm: 'disclose.never.pub', transport: 'ws', serializer: 'json' });
  await pubN.publish(`${P}.t`, ['unasked'], {}, { acknowledge: true });
  await until(() => subN.eventsOn(subNId).length >= 1, 'event');
  t.deepEqual(
    subN.eventsOn(subNId).map((e) => [argsOf(e)[0], e.publisher] as [unknown, unknown]),
    [['unasked', null]],
    'the refused publication was not delivered; the other undisclosed',
  );
  const details = subN.eventsOn(subNId)[0] as Dict;
  t.is(details.publisher_authid, null);
  await rawPub.c.destroy();
});
