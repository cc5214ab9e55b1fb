import test from 'ava';
import type { Authenticator, Authorizer } from '../../src/router/auth.ts';
import { Router } from '../../src/router/router.ts';
import { ManualScheduler } from '../../src/router/scheduler.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

// A challenge-response authenticator with a fixed secret, to exercise the state machine.
const authenticator: Authenticator = {
  hello(info) {
    if (!info.authmethods.includes('ticket'))
      return { type: 'abort', reason: 'wamp.error.no_auth_method', message: 'ticket only' };
    return {
      type: 'challenge',
      authmethod: 'ticket',
      extra: {},
      pending: {
        authenticate: (m) =>
          m.signature === 'open sesame'
            ? {
                type: 'welcome',
                identity: { authid: info.authid ?? '?', authrole: 'user', authmethod: 'ticket', authprovider: 'test' },
              }
            : { type: 'abort', reason: 'wamp.error.authentication_failed', message: 'wrong ticket' },
      },
    };
  },
};
const authorizer: Authorizer = { authorize: (r) => !(r.action === 'register' && r.uri.startsWith('com.locked.')) };

function setup() {
  const scheduler = new ManualScheduler();
  const router = new Router({
    realms: [{ uri: 'realm1', anonymous: false }],
    authenticator,
    authorizer,
    scheduler,
    authFailureDelayMs: 500,
  });
  return { router, scheduler };
}
const hello = (authmethods: string[]) => [
  1,
  'realm1',
  { roles: { caller: {}, callee: {} }, authmethods, authid: 'alice' },
];

test('CHALLENGE, AUTHENTICATE, WELCOME with the identity', (t) => {
  const { router } = setup();
  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  t.deepEqual(c.take(), [[4, 'ticket', {}]]);
  c.send([5, 'open sesame', {}]);
  const [welcome] = c.take();
  t.like(welcome![2] as object, { authid: 'alice', authrole: 'user', authmethod: 'ticket', authprovider: 'test' });
});

test('a wrong secret is answered with authentication_failed after the delay', (t) => {
  const { router, scheduler } = setup();
  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  c.take();
  c.send([5, 'guess', {}]);
  t.deepEqual(c.take(), []);
  scheduler.advance(500);
  t.is(c.take()[0]![2], 'wamp.error.authentication_failed');
  t.true(c.closed);
});

test('a GOODBYE while a failed authentication waits does not close without the ABORT', (t) => {
  // Regression (found by test/hostile/fuzz-*.test.ts): the GOODBYE was taken for the reply to a
  // GOODBYE the router never sent, and the connection closed without any answer.
  const { router, scheduler } = setup();
  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  c.take();
  c.send([5, 'guess', {}]);
  c.send([6, {}, 'wamp.close.close_realm']);
  t.false(c.closed);
  t.deepEqual(c.take(), []);
  scheduler.advance(500);
  t.is(c.take()[0]![2], 'wamp.error.authentication_failed');
  t.true(c.closed);
});

test('messages other than AUTHENTICATE while authenticating are protocol violations', (t) => {
  const { router } = setup();
  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  c.take();
  c.send([48, 1, {}, 'com.x']);
  t.is(c.take()[0]![2], 'wamp.error.protocol_violation');
});

/** An authenticator whose check answers when the test says (as a password hash off the event loop does). */
function deferred() {
  const answers: ((ok: boolean) => void)[] = [];
  const slow: Authenticator = {
    hello: (info) => ({
      type: 'challenge',
      authmethod: 'ticket',
      extra: {},
      pending: {
        authenticate: () =>
          new Promise((resolve, reject) =>
            answers.push((ok) =>
              ok
                ? resolve({
                    type: 'welcome',
                    identity: { authid: info.authid ?? '?', authrole: 'user', authmethod: 'ticket', authprovider: 'x' },
                  })
                : reject(new Error('the hash failed')),
            ),
          ),
      },
    }),
  };
  const scheduler = new ManualScheduler();
  const router = new Router({
    realms: [{ uri: 'realm1', anonymous: false }],
    authenticator: slow,
    scheduler,
    authFailureDelayMs: 500,
  });
  return { router, answers };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a check that answers later: WELCOME then; meanwhile a second AUTHENTICATE is a protocol violation', async (t) => {
  const { router, answers } = deferred();
  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  c.take();
  c.send([5, 'open sesame', {}]);
  t.deepEqual(c.take(), [], 'nothing while the check runs');
  answers[0]!(true);
  await turn();
  t.like(c.take()[0]![2] as object, { authid: 'alice', authmethod: 'ticket' });

  const d = new MemoryClient(router);
  d.send(hello(['ticket']));
  d.take();
  d.send([5, 'open sesame', {}]);
  d.send([5, 'open sesame', {}]);
  t.is(d.take()[0]![2], 'wamp.error.protocol_violation');
  t.true(d.closed);
  answers[1]!(true);
  await turn();
  t.deepEqual(d.take(), [], 'the late answer to a closed session is dropped');
});

test('a client gone while its check runs: the late answer is dropped; a failed check ends the session', async (t) => {
  const { router, answers } = deferred();
  const gone = new MemoryClient(router);
  gone.send(hello(['ticket']));
  gone.take();
  gone.send([5, 'open sesame', {}]);
  gone.send([3, {}, 'wamp.close.system_shutdown']);
  t.true(gone.closed);
  answers[0]!(true);
  await turn();
  t.deepEqual(gone.take(), []);
  t.is(router.sessionCount, 0);

  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  c.take();
  c.send([5, 'open sesame', {}]);
  answers[1]!(false);
  await turn();
  t.is(c.take()[0]![0], 3, 'ABORT');
  t.true(c.closed);
});

test('no acceptable authmethod is ABORTed with no_auth_method', (t) => {
  const { router } = setup();
  const c = new MemoryClient(router);
  c.send(hello(['anonymous']));
  t.is(c.take()[0]![2], 'wamp.error.no_auth_method');
});

test('the authorizer is asked before routing; refusals are not_authorized', (t) => {
  const { router } = setup();
  const c = new MemoryClient(router);
  c.send(hello(['ticket']));
  c.send([5, 'open sesame', {}]);
  c.take();
  c.send([64, 1, {}, 'com.locked.x']);
  t.is(c.take()[0]![4], 'wamp.error.not_authorized');
  c.send([64, 2, {}, 'com.open.x']);
  t.is(c.take()[0]![0], 65);
});

test('deleting a realm ends its sessions', (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const c = new MemoryClient(router);
  c.join();
  t.true(router.removeRealm('realm1'));
  t.deepEqual(c.take()[0], [6, { message: "realm 'realm1' was deleted" }, 'wamp.close.close_realm']);
  const d = new MemoryClient(router);
  d.send([1, 'realm1', { roles: { caller: {} } }]);
  t.is(d.take()[0]![2], 'wamp.error.no_such_realm');
});

test('anonymous sessions come from loopback only, unless the realm says anywhere', (t) => {
  const router = new Router({
    realms: [
      { uri: 'local', anonymous: true },
      { uri: 'open', anonymous: true, anonymousFrom: 'anywhere' },
    ],
  });
  const remote = new MemoryClient(router, undefined, '192.0.2.7:4000', false);
  remote.send([1, 'local', { roles: { caller: {} } }]);
  const [abort] = remote.take();
  t.is(abort![2], 'wamp.error.no_auth_method');
  t.regex((abort![1] as { message: string }).message, /loopback only/);
  const remote2 = new MemoryClient(router, undefined, '192.0.2.7:4001', false);
  remote2.send([1, 'open', { roles: { caller: {} } }]);
  t.is(remote2.take()[0]![0], 2);
  const near = new MemoryClient(router);
  near.send([1, 'local', { roles: { caller: {} } }]);
  t.is(near.take()[0]![0], 2);
});
