// A progressive CALL refused before it started anything (the realm's pending-call limit, the
// caller's grant) ends there for its further chunks too, as a call that ended mid-stream does
// (ended-calls.ts): they get no second ERROR and, once there is room or a grant, start no call
// in the middle of the stream.

import test from 'ava';
import type { Authorizer } from '../../src/router/auth.ts';
import { Router } from '../../src/router/router.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const features = { progressive_call_invocations: true, call_canceling: true };
const roles = { roles: { caller: { features }, callee: { features } } };

function join(router: Router): MemoryClient {
  const c = new MemoryClient(router);
  c.send([1, 'realm1', roles]);
  c.take();
  return c;
}

test('a progressive CALL refused by the realm pending-call limit: its later chunks get nothing and start nothing', (t) => {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true, limits: { maxPendingCalls: 1 } }] });
  const callee = join(router);
  callee.send([64, 1, {}, 'com.p']);
  callee.take();
  const a = join(router);
  const b = join(router);
  a.send([48, 1, {}, 'com.p', ['occupy']]);
  const [invocation] = callee.take();
  b.send([48, 7, { progress: true }, 'com.p', ['chunk 1']]);
  t.is(b.take()[0]?.[4], 'wampmesh.error.limit_exceeded');
  b.send([48, 7, { progress: true }, 'com.p', ['chunk 2']]);
  t.deepEqual(b.take(), [], 'no second ERROR for the same request');
  callee.send([70, invocation![1], {}, ['done']]);
  a.take();
  b.send([48, 7, { progress: true }, 'com.p', ['chunk 3']]);
  b.send([48, 7, {}, 'com.p', ['last']]);
  t.deepEqual(callee.take(), [], 'with room again, no call started mid-stream');
  t.deepEqual(b.take(), []);
  b.send([48, 8, {}, 'com.p', ['new']]);
  t.is(callee.take()[0]?.[0], 68, 'a new call goes through');
});

test('a progressive CALL refused by its grant: one not_authorized, its later chunks get nothing', (t) => {
  let allowed = false;
  const authorizer: Authorizer = { authorize: (r) => r.action !== 'call' || allowed };
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }], authorizer });
  const callee = join(router);
  callee.send([64, 1, {}, 'com.p']);
  callee.take();
  const b = join(router);
  b.send([48, 7, { progress: true }, 'com.p', ['chunk 1']]);
  t.is(b.take()[0]?.[4], 'wamp.error.not_authorized');
  b.send([48, 7, { progress: true }, 'com.p', ['chunk 2']]);
  t.deepEqual(b.take(), [], 'no second ERROR for the same request');
  allowed = true;
  b.send([48, 7, { progress: true }, 'com.p', ['chunk 3']]);
  b.send([48, 7, {}, 'com.p', ['last']]);
  t.deepEqual(callee.take(), [], 'granted since, still no call started mid-stream');
  t.deepEqual(b.take(), []);
  b.send([48, 8, {}, 'com.p', ['new']]);
  t.is(callee.take()[0]?.[0], 68, 'a new call goes through');
});
