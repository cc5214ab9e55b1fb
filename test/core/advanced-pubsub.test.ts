import test from 'ava';
import { MemoryEventStore, UnstorableEventError, type StoredEvent } from '../../src/router/event-store.ts';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

type Dict = Record<string, unknown>;

const ppt = { features: { payload_passthru_mode: true } };

function setup(realm: Dict = {}, store = new MemoryEventStore()) {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true, ...realm }], store });
  const client = () => {
    const c = new MemoryClient(router);
    c.join('realm1', { roles: { caller: ppt, callee: ppt, publisher: ppt, subscriber: ppt } });
    return c;
  };
  return { router, client, store };
}

function subscribe(c: MemoryClient, topic: string, options: Dict = {}): number {
  c.send([32, 1, options, topic]);
  const m = c.take().find((x) => x[0] === 33);
  if (m === undefined) throw new Error('not subscribed');
  return m[2] as number;
}

test('publisher identification on request', (t) => {
  const { client } = setup();
  const sub = client();
  const pub = client();
  subscribe(sub, 'com.app.t');
  pub.send([16, 1, { disclose_me: true }, 'com.app.t']);
  const details = sub.take()[0]![3] as Dict;
  t.is(typeof details.publisher, 'number');
  t.is(details.publisher_authrole, 'anonymous');
  pub.send([16, 2, {}, 'com.app.t']);
  t.deepEqual(sub.take()[0]![3], {});
});

test('every black- and whitelisting option', (t) => {
  const { client } = setup();
  const [a, b, c] = [client(), client(), client()];
  const pub = client();
  const ids = new Map<MemoryClient, number>();
  for (const s of [a, b, c]) {
    subscribe(s, 'com.app.bw');
  }
  // Learn each subscriber's ID from an event with publisher disclosure sent by itself.
  for (const s of [a, b, c]) {
    s.send([16, 1, { disclose_me: true, exclude_me: false }, 'com.app.bw']);
    const mine = s.take().find((m) => m[0] === 36)!;
    ids.set(s, (mine[3] as Dict).publisher as number);
    for (const o of [a, b, c]) o.take();
  }
  const authid = (s: MemoryClient) => {
    s.send([48, 1, {}, 'wamp.session.get', [ids.get(s)]]);
    return (s.take()[0]![3] as Dict[])[0]!.authid as string;
  };
  const got = () => [a, b, c].map((s) => s.take().length).join('');
  const cases: [Dict, string][] = [
    [{ exclude: [ids.get(a)] }, '011'],
    [{ eligible: [ids.get(a), ids.get(b)] }, '110'],
    [{ exclude_authid: [authid(b)] }, '101'],
    [{ eligible_authid: [authid(c)] }, '001'],
    [{ exclude_authrole: ['anonymous'] }, '000'],
    [{ eligible_authrole: ['anonymous'] }, '111'],
    [{ eligible: [ids.get(a), ids.get(b)], exclude: [ids.get(b)] }, '100'],
  ];
  for (const [options, expected] of cases) {
    pub.send([16, 1, options, 'com.app.bw']);
    t.is(got(), expected, JSON.stringify(options));
  }
  pub.send([16, 1, { acknowledge: true, exclude: ['x'] }, 'com.app.bw']);
  t.is(pub.take()[0]![4], 'wamp.error.invalid_argument');
});

test('prefix and wildcard subscriptions get the concrete topic; one event per matching subscription', (t) => {
  const { client } = setup();
  const s = client();
  const pub = client();
  const prefix = subscribe(s, 'com.app.', { match: 'prefix' });
  const wildcard = subscribe(s, 'com..x', { match: 'wildcard' });
  const exact = subscribe(s, 'com.app.x');
  pub.send([16, 1, {}, 'com.app.x', ['hi']]);
  const events = s.take();
  t.deepEqual(events.map((e) => e[1]).sort(), [prefix, wildcard, exact].sort());
  for (const e of events) {
    if (e[1] === exact) t.deepEqual(e[3], {});
    else t.deepEqual(e[3], { topic: 'com.app.x' });
  }
  pub.send([16, 1, {}, 'com.other.x']);
  t.deepEqual(
    s.take().map((e) => e[1]),
    [wildcard],
  );
});

test('retained events are delivered on subscribe with get_retained', (t) => {
  const store = new MemoryEventStore();
  const { client } = setup({}, store);
  const pub = client();
  pub.send([16, 1, { retain: true }, 'com.app.state', ['v1']]);
  pub.send([16, 2, { retain: true }, 'com.app.state', ['v2']]);
  const late2 = client();
  late2.send([32, 1, { get_retained: true }, 'com.app.state']);
  const msgs = late2.take();
  t.is(msgs[0]![0], 33);
  t.deepEqual([msgs[1]![0], msgs[1]![3], msgs[1]![4]], [36, { retained: true }, ['v2']]);
  const plain = client();
  plain.send([32, 1, {}, 'com.app.state']);
  t.is(plain.take().length, 1, 'no retained event without get_retained');
  const pattern = client();
  pattern.send([32, 1, { match: 'prefix', get_retained: true }, 'com.app.']);
  const pm = pattern.take();
  t.deepEqual(pm[1]![3], { retained: true, topic: 'com.app.state' });
});

test('a retained publication without payload clears the retained event (as an empty retained MQTT message)', (t) => {
  const store = new MemoryEventStore();
  const { client } = setup({}, store);
  const pub = client();
  pub.send([16, 1, { retain: true }, 'com.app.state', ['v1']]);
  t.truthy(store.retained('realm1', 'com.app.state'));
  pub.send([16, 2, { retain: true }, 'com.app.state', [], {}]);
  t.is(store.retained('realm1', 'com.app.state'), undefined);
  const late = client();
  late.send([32, 1, { get_retained: true }, 'com.app.state']);
  t.deepEqual(
    late.take().map((m) => m[0]),
    [33],
    'nothing retained to deliver',
  );
});

test('custom publish options ("_" and 3+ of [a-z0-9_]) reach subscribers as event details; others do not', (t) => {
  const { client } = setup({});
  const sub = client();
  sub.send([32, 1, {}, 'com.app.x']);
  sub.take();
  const pub = client();
  pub.send([16, 1, { _mqtt: { retain: true }, _ab: 1, _Bad: 2, custom: 3 }, 'com.app.x', [1]]);
  const [event] = sub.take();
  t.deepEqual(event![3], { _mqtt: { retain: true } });
});

test('event history is kept per configured topic and read with wamp.subscription.get_events', (t) => {
  const { client } = setup({ history: [{ topic: 'com.app.log', match: 'exact', limit: 3, maxAgeMs: 60_000 }] });
  const s = client();
  const pub = client();
  const sub = subscribe(s, 'com.app.log');
  const other = subscribe(s, 'com.app.nolog');
  for (let i = 1; i <= 5; i++) pub.send([16, i, {}, 'com.app.log', [i]]);
  s.take();
  s.send([48, 1, {}, 'wamp.subscription.get_events', [sub, 10]]);
  const [result] = s.take();
  t.is(result![0], 50);
  const events = (result![3] as Dict[][])[0]!;
  t.deepEqual(
    events.map((e) => (e.args as number[])[0]),
    [3, 4, 5],
  );
  s.send([48, 2, {}, 'wamp.subscription.get_events', [other]]);
  t.is(s.take()[0]![4], 'wamp.error.history_unavailable');
});

test('testaments are published when a session is lost, not after GOODBYE; flush removes them', (t) => {
  const { client } = setup();
  const watcher = client();
  subscribe(watcher, 'com.app.dead');
  const lost = client();
  lost.send([48, 1, {}, 'wamp.session.add_testament', ['com.app.dead', ['gone'], { who: 'lost' }]]);
  t.is(lost.take()[0]![0], 50);
  lost.handler.closed();
  const [ev] = watcher.take();
  t.deepEqual(ev!.slice(4), [['gone'], { who: 'lost' }]);
  const polite = client();
  polite.send([48, 1, {}, 'wamp.session.add_testament', ['com.app.dead', ['nope']]]);
  polite.take();
  polite.send([6, {}, 'wamp.close.close_realm']);
  t.deepEqual(watcher.take(), []);
  const flushed = client();
  flushed.send([48, 1, {}, 'wamp.session.add_testament', ['com.app.dead', ['x']]]);
  flushed.send([48, 2, {}, 'wamp.session.flush_testaments']);
  t.deepEqual(flushed.take().at(-1), [50, 2, {}, [1]]);
  flushed.handler.closed();
  t.deepEqual(watcher.take(), []);
});

test('payload passthru events keep the payload and ppt details', (t) => {
  const { client } = setup();
  const s = client();
  const pub = client();
  subscribe(s, 'com.app.e2e');
  pub.send([
    16,
    1,
    { ppt_scheme: 'wamp', ppt_serializer: 'cbor', ppt_cipher: 'xsalsa20poly1305', ppt_keyid: 'key' },
    'com.app.e2e',
    [new Uint8Array([9, 0, 9])],
  ]);
  const [ev] = s.take();
  t.deepEqual(ev![3], { ppt_scheme: 'wamp', ppt_serializer: 'cbor', ppt_cipher: 'xsalsa20poly1305', ppt_keyid: 'key' });
  t.deepEqual([...(ev![4] as Uint8Array[])[0]!], [9, 0, 9]);
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const plain = new MemoryClient(router);
  plain.join();
  plain.send([16, 1, { ppt_scheme: 'wamp' }, 'com.app.e2e', [new Uint8Array([1])]]);
  t.is(plain.take()[0]![2], 'wamp.error.protocol_violation', 'ppt from a publisher that did not announce it');
});

test('an event the store cannot keep is refused before delivery; a testament is delivered unkept', (t) => {
  // A store that cannot hold payloads marked "deep" (as SQLite's CBOR encoder cannot hold one
  // nested beyond its stack): what is acknowledged must be kept, so such a publication is an
  // ERROR for its publisher and reaches nobody.
  class PickyStore extends MemoryEventStore {
    override retain(realm: string, e: StoredEvent): void {
      if (e.args?.[0] === 'deep') throw new UnstorableEventError('the event cannot be stored');
      super.retain(realm, e);
    }
  }
  const { client, store } = setup({}, new PickyStore());
  const [sub, pub] = [client(), client()];
  subscribe(sub, 'com.app.state');
  pub.send([16, 1, { acknowledge: true, retain: true }, 'com.app.state', ['deep']]);
  t.deepEqual(
    pub.take().map((m) => m.slice(0, 5)),
    [[8, 16, 1, {}, 'wamp.error.invalid_argument']],
  );
  pub.send([16, 2, { retain: true }, 'com.app.state', ['deep']]);
  t.deepEqual(pub.take(), [], 'unacknowledged: no ERROR');
  t.deepEqual(sub.take(), [], 'refused publications reach no subscriber');
  t.is(store.retained('realm1', 'com.app.state'), undefined);
  // The same payload without retain is not stored, so it is delivered.
  pub.send([16, 3, { acknowledge: true }, 'com.app.state', ['deep']]);
  t.is(pub.take()[0]![0], 17);
  t.is(sub.take().length, 1);
  // A testament: its session is gone, so it is delivered though it cannot be retained.
  const dying = client();
  dying.send([
    48,
    1,
    {},
    'wamp.session.add_testament',
    ['com.app.state', ['deep'], {}, { publish_options: { retain: true } }],
  ]);
  t.is(dying.take()[0]![0], 50);
  dying.handler.closed(); // the transport lost the connection
  t.deepEqual(
    sub.take().map((m) => m[4]),
    [['deep']],
  );
  t.is(store.retained('realm1', 'com.app.state'), undefined);
});
