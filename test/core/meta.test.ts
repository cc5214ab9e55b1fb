import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

type Dict = Record<string, unknown>;

function setup() {
  const router = new Router({
    realms: [
      { uri: 'realm1', anonymous: true, metaKill: 'all' },
      { uri: 'realm2', anonymous: true },
    ],
  });
  const client = () => {
    const c = new MemoryClient(router);
    const id = c.join();
    return Object.assign(c, { id });
  };
  return { router, client };
}

let req = 100;
function call(c: MemoryClient, procedure: string, args: unknown[] = [], kwargs: Dict = {}): unknown[] {
  c.send([48, ++req, {}, procedure, args, kwargs]);
  const reply = c.take().find((m) => (m[0] === 50 || m[0] === 8) && m[m[0] === 8 ? 2 : 1] === req);
  if (reply === undefined) throw new Error(`no reply to ${procedure}`);
  return reply;
}
const result = (reply: unknown[]): unknown =>
  reply[0] === 50 ? (reply[3] as unknown[] | undefined)?.[0] : `ERROR ${reply[4]}`;

test('session meta procedures', (t) => {
  const { client } = setup();
  const admin = client();
  const a = client();
  const b = client();
  t.is(result(call(admin, 'wamp.session.count')), 3);
  t.deepEqual((result(call(admin, 'wamp.session.list')) as number[]).sort(), [admin.id, a.id, b.id].sort());
  t.is(result(call(admin, 'wamp.session.count', [['nobody']])), 0);
  const details = result(call(admin, 'wamp.session.get', [a.id])) as Dict;
  t.is(details.session, a.id);
  t.is(details.authrole, 'anonymous');
  t.is(result(call(admin, 'wamp.session.get', [12345])), 'ERROR wamp.error.no_such_session');
  t.is(
    result(call(admin, 'wamp.session.kill', [admin.id])),
    'ERROR wamp.error.no_such_session',
    'a session cannot kill itself',
  );
  t.is(result(call(admin, 'wamp.session.kill', [a.id], { reason: 'not a uri!' })), 'ERROR wamp.error.invalid_uri');
  t.deepEqual(a.take(), [], 'an invalid reason kills nobody');
  call(admin, 'wamp.session.kill', [a.id], { reason: 'com.app.bye', message: 'out' });
  t.deepEqual(a.take()[0], [6, { message: 'out' }, 'com.app.bye']);
  const authid = (result(call(admin, 'wamp.session.get', [b.id])) as Dict).authid;
  t.deepEqual(result(call(admin, 'wamp.session.kill_by_authid', [authid])), [b.id]);
  const c = client();
  const d = client();
  t.is(result(call(admin, 'wamp.session.kill_by_authrole', ['anonymous'])), 2, 'all but the caller');
  for (const x of [c, d]) t.deepEqual(x.take()[0], [6, {}, 'wamp.close.normal'], 'default reason, no message');
  client();
  t.is(result(call(admin, 'wamp.session.kill_all')), 1);
  t.is(result(call(admin, 'wamp.session.count')), 1);
});

test('session meta events on_join and on_leave', (t) => {
  const { client } = setup();
  const watcher = client();
  watcher.send([32, 1, {}, 'wamp.session.on_join']);
  watcher.send([32, 2, {}, 'wamp.session.on_leave']);
  watcher.take();
  const x = client();
  const [join] = watcher.take();
  t.is((join![4] as Dict[])[0]!.session, x.id);
  x.send([6, {}, 'wamp.close.close_realm']);
  const [leave] = watcher.take();
  t.is((leave![4] as unknown[])[0], x.id);
});

test('registration meta procedures and events', (t) => {
  const { client } = setup();
  const watcher = client();
  for (const [i, topic] of ['on_create', 'on_register', 'on_unregister', 'on_delete'].entries())
    watcher.send([32, i + 1, {}, `wamp.registration.${topic}`]);
  watcher.take();
  const callee = client();
  callee.send([64, 1, { match: 'prefix', invoke: 'roundrobin' }, 'com.app.']);
  const regId = callee.take()[0]![2];
  const events = watcher.take();
  t.deepEqual(
    events.map((e) => (e[4] as unknown[])[0]),
    [callee.id, callee.id],
  );
  t.like((events[0]![4] as Dict[])[1], { id: regId, uri: 'com.app.', match: 'prefix', invoke: 'roundrobin' });
  t.deepEqual(result(call(watcher, 'wamp.registration.list')), { exact: [], prefix: [regId], wildcard: [] });
  t.is(result(call(watcher, 'wamp.registration.lookup', ['com.app.', { match: 'prefix' }])), regId);
  t.is(result(call(watcher, 'wamp.registration.lookup', ['com.app.'])), null);
  t.is(result(call(watcher, 'wamp.registration.match', ['com.app.x'])), regId);
  t.is(result(call(watcher, 'wamp.registration.match', ['org.x'])), null);
  t.like(result(call(watcher, 'wamp.registration.get', [regId])) as Dict, { id: regId, match: 'prefix' });
  t.deepEqual(result(call(watcher, 'wamp.registration.list_callees', [regId])), [callee.id]);
  t.is(result(call(watcher, 'wamp.registration.count_callees', [regId])), 1);
  t.is(result(call(watcher, 'wamp.registration.get', [999])), 'ERROR wamp.error.no_such_registration');
  callee.send([66, 2, regId]);
  t.deepEqual(
    watcher.take().map((e) => (e[4] as unknown[])[1]),
    [regId, regId],
  );
});

test('subscription meta procedures and events', (t) => {
  const { client } = setup();
  const watcher = client();
  for (const [i, topic] of ['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete'].entries())
    watcher.send([32, i + 1, {}, `wamp.subscription.${topic}`]);
  watcher.take();
  const s = client();
  s.send([32, 1, { match: 'wildcard' }, 'com..t']);
  const subId = s.take()[0]![2];
  t.is(watcher.take().length, 2);
  const list = result(call(watcher, 'wamp.subscription.list')) as Record<string, number[]>;
  t.deepEqual(
    [list.exact!.length, list.prefix, list.wildcard],
    [4, [], [subId]],
    "the watcher's four meta subscriptions are exact ones",
  );
  t.is(result(call(watcher, 'wamp.subscription.lookup', ['com..t', { match: 'wildcard' }])), subId);
  t.deepEqual(result(call(watcher, 'wamp.subscription.match', ['com.x.t'])), [subId]);
  t.is(result(call(watcher, 'wamp.subscription.match', ['com.x.y'])), null);
  t.like(result(call(watcher, 'wamp.subscription.get', [subId])) as Dict, {
    id: subId,
    uri: 'com..t',
    match: 'wildcard',
  });
  t.deepEqual(result(call(watcher, 'wamp.subscription.list_subscribers', [subId])), [s.id]);
  t.is(result(call(watcher, 'wamp.subscription.count_subscribers', [subId])), 1);
  s.handler.closed();
  t.deepEqual(
    watcher.take().map((e) => e[3] !== undefined && (e[4] as unknown[])[1]),
    [subId, subId],
  );
  t.is(result(call(watcher, 'wamp.subscription.get', [subId])), 'ERROR wamp.error.no_such_subscription');
});

test('by default only authrole admin may end other sessions (metaKill); reads stay open', (t) => {
  const router = new Router({
    realms: [{ uri: 'realm2', anonymous: true }],
    authenticator: {
      hello: (info) => ({
        type: 'welcome',
        identity: {
          authid: info.authid ?? 'x',
          authrole: info.authid === 'root' ? 'admin' : 'anonymous',
          authmethod: 'anonymous',
          authprovider: 'test',
        },
      }),
    },
  });
  const join = (authid: string) => {
    const c = new MemoryClient(router);
    const id = c.join('realm2', { authid });
    return Object.assign(c, { id });
  };
  const mallory = join('mallory');
  const victim = join('victim');
  for (const [procedure, args] of [
    ['wamp.session.kill', [victim.id]],
    ['wamp.session.kill_by_authid', ['victim']],
    ['wamp.session.kill_by_authrole', ['anonymous']],
    ['wamp.session.kill_all', []],
  ] as const) {
    const reply = call(mallory, procedure, [...args]);
    t.is(result(reply), 'ERROR wamp.error.not_authorized', procedure);
    t.regex(String((reply[5] as unknown[])[0]), /authrole 'admin'.*metaKill/);
  }
  t.deepEqual(victim.take(), [], 'nobody was killed');
  t.is(result(call(mallory, 'wamp.session.count')), 2, 'the read-only meta API stays open');
  const root = join('root');
  t.is(result(call(root, 'wamp.session.kill_all')), 2, 'an administrator may');
});
