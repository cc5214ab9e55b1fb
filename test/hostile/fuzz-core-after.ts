// The last check of a core fuzz seed (fuzz-core.test.ts): after everything the fuzz sent, fresh
// sessions in every serialization can still register+call and subscribe+publish, nothing the
// fuzzed sessions held is left behind, and the bystanders still serve their prefix.

import type { Serializer } from '../../src/serializers/index.ts';
import { SERIALIZERS, ALL_ROLES, show } from '../helpers/fuzz-checks.ts';
import type { Bystander } from './fuzz-core-bystanders.ts';
import type { CorePeer } from './fuzz-core-peer.ts';

/** What the check needs of the run. */
export interface FuzzedRouter {
  readonly bystanders: readonly Bystander[];
  newPeer(serializer: Serializer, name: string): CorePeer;
  send(peer: CorePeer, message: unknown[]): void;
  settle(): void;
  fail(what: string, peer?: CorePeer): never;
}

export function checkStillServes(f: FuzzedRouter): void {
  // A fresh caller and callee in each serialization.
  const fresh = SERIALIZERS.map((s, i) => {
    const peer = f.newPeer(s, `fresh/${s.name}`);
    f.send(peer, [1, 'realm1', { roles: ALL_ROLES }]);
    f.settle();
    if (peer.messages[0]?.[0] !== 2) f.fail(`a fresh ${s.name} session could not join`, peer);
    return { peer, i };
  });
  const [a, b, c] = fresh as [(typeof fresh)[0], (typeof fresh)[0], (typeof fresh)[0]];
  const expectFrom = (peer: CorePeer, what: string, ok: (m: unknown[]) => boolean): unknown[] => {
    f.settle();
    const m = peer.messages.find(ok);
    if (m === undefined) f.fail(`after the fuzz: ${what}`, peer);
    return m;
  };
  // Registrations and subscriptions left are the bystanders' (and the meta API's events).
  f.send(a.peer, [48, 100, {}, 'wamp.registration.list']);
  const regs = expectFrom(a.peer, 'wamp.registration.list answered', (m) => m[0] === 50 && m[1] === 100);
  const lists = (regs[3] as unknown[])[0] as Record<string, number[]>;
  if (lists.exact!.length !== 0 || lists.prefix!.length !== 1 || lists.wildcard!.length !== 0)
    f.fail(`registrations leaked: ${show(lists)}`);
  f.send(a.peer, [48, 101, {}, 'wamp.subscription.list']);
  const subs = expectFrom(a.peer, 'wamp.subscription.list answered', (m) => m[0] === 50 && m[1] === 101);
  const subLists = (subs[3] as unknown[])[0] as Record<string, number[]>;
  if (subLists.exact!.length !== 2 || subLists.prefix!.length !== 1 || subLists.wildcard!.length !== 0)
    f.fail(`subscriptions leaked: ${show(subLists)}`);

  const payload = [1, 'two', { three: [3] }, 2 ** 40];
  f.send(a.peer, [64, 1, {}, 'fresh.proc']);
  expectFrom(a.peer, 'REGISTER answered', (m) => m[0] === 65);
  f.send(b.peer, [48, 1, {}, 'fresh.proc', payload, { k: 'v' }]);
  const inv = expectFrom(a.peer, 'INVOCATION for the fresh call', (m) => m[0] === 68);
  f.send(a.peer, [70, inv[1], {}, inv[4], inv[5]]);
  const result = expectFrom(b.peer, 'RESULT for the fresh call', (m) => m[0] === 50 && m[1] === 1);
  if (show(result.slice(3)) !== show([payload, { k: 'v' }])) f.fail(`fresh call returned ${show(result)}`);

  f.send(c.peer, [32, 1, {}, 'fresh.topic']);
  expectFrom(c.peer, 'SUBSCRIBE answered', (m) => m[0] === 33);
  f.send(b.peer, [16, 2, { acknowledge: true }, 'fresh.topic', payload]);
  expectFrom(b.peer, 'PUBLISHED', (m) => m[0] === 17 && m[1] === 2);
  const event = expectFrom(c.peer, 'EVENT for the fresh publication', (m) => m[0] === 36);
  if (show(event[4]) !== show(payload)) f.fail(`fresh event carried ${show(event)}`);

  // And the bystanders, which lived through it all, still serve their prefix.
  f.send(c.peer, [48, 2, {}, 'com.fuzz.final', ['still here']]);
  for (
    let i = 0;
    i < 20 && !c.peer.messages.some((m) => (m[0] === 50 || m[0] === 8) && (m[1] === 2 || m[2] === 2));
    i++
  ) {
    for (const by of f.bystanders)
      for (const request of by.held.splice(0)) f.send(by.peer, [70, request, {}, ['still here']]);
    f.settle();
  }
  expectFrom(
    c.peer,
    'a call to the bystanders answered',
    (m) => (m[0] === 50 && m[1] === 2) || (m[0] === 8 && m[2] === 2),
  );
}
