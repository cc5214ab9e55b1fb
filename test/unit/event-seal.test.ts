// Sealed events (src/mesh/routing/event-seal.ts) alone: the seal's format (the digests checked
// with createHash; the pair key's HMAC itself is checked against createHmac in test/mesh/node-key.test.ts),
// and the destination's checks.

import test from 'ava';
import crypto from 'node:crypto';
import { DIGEST_SIZE, digestOf, makeSeal, SealCheck, type Unsealed } from '../../src/mesh/routing/event-seal.ts';
import { OriginIdentities } from '../../src/mesh/routing/origin-identity.ts';

function pair() {
  const dh = new Map<string, Uint8Array>();
  const a = new OriginIdentities('A', (n) => dh.get(n));
  const d = new OriginIdentities('D', (n) => dh.get(n));
  dh.set('A', a.publicKey);
  dh.set('D', d.publicKey);
  return { a, d };
}

const limits = { maxOrigins: 8, holdbackMs: 10_000, holdbackEvents: 4, outageHoldBytes: 1 << 20 };
const at = { src: 'A', ep: 7, dst: 'D', life: 3, seq: 10 };
const events = [Buffer.from('first event'), Buffer.from('second event'), Buffer.alloc(70_000, 1)];

test("a seal lists length and SHA-256 of each event, tagged with the pair key's HMAC over the documented header and that list", (t) => {
  const { a } = pair();
  const key = a.keyWith('D')!;
  const [tag, list] = makeSeal(key, at, events.map(digestOf));
  t.is(list.length, 3 * DIGEST_SIZE);
  events.forEach((b, i) => {
    const entry = Buffer.from(list.subarray(i * DIGEST_SIZE, (i + 1) * DIGEST_SIZE));
    t.is(entry.readUInt32BE(0), b.length);
    t.deepEqual(entry.subarray(4), crypto.createHash('sha256').update(b).digest().subarray(0, 12));
  });
  // The header names origin, epoch, destination, life and the seal's number.
  const head = JSON.stringify(['event-seal/1', 'A', 7, 'D', 3, 10]);
  const probe = key.tagBytes(head, list);
  t.deepEqual(Buffer.from(tag), Buffer.from(probe));
});

test("the destination delivers the origin's events, refuses altered, forged and small skipped ones, and lets a forged copy take no one's place", (t) => {
  const { a, d } = pair();
  const check = new SealCheck<string>('D', (n) => d.keyWith(n), limits);
  const seal = makeSeal(a.keyWith('D')!, at, events.map(digestOf));
  const ready: [string, string][] = [];
  // A forged copy of event 11 arrives before the seal, and so does the real event 12.
  const forged = Buffer.from('forged event');
  t.is(check.check('A', 7, 3, 11, forged), 'wait');
  t.true(check.hold('A', 7, 3, { seq: 11, b: forged, item: 'forged 11', at: 0 }));
  t.is(check.check('A', 7, 3, 12, events[1]), 'wait');
  t.true(check.hold('A', 7, 3, { seq: 12, b: events[1], item: 'real 12', at: 0 }));
  t.is(
    check.seal('A', 7, 3, 10, seal, (w: Unsealed<string>, verdict) => ready.push([w.item, verdict])),
    undefined,
  );
  t.deepEqual(ready, [
    ['forged 11', 'the event is not the one its origin sealed (changed on the way, or forged)'],
    ['real 12', 'ok'],
  ]);
  t.is(check.check('A', 7, 3, 11, events[0]), 'ok', 'the real event 11 after the forged copy');
  t.is(check.check('A', 7, 3, 12, events[1]), 'duplicate', 'a copy sent again is a duplicate');
  t.is(
    check.seal('A', 7, 3, 10, seal, () => {}),
    undefined,
    'the seal sent again',
  );
  t.is(check.check('A', 7, 3, 12, events[1]), 'duplicate', 'still: its digest is not taken again');
  // A skip of the 70,000-octet event 13 is believed; of a small one, not.
  t.is(check.check('A', 7, 3, 13, undefined), 'ok');
  const small = makeSeal(a.keyWith('D')!, { ...at, seq: 20 }, [digestOf(events[0]!)]);
  t.is(
    check.seal('A', 7, 3, 20, small, () => {}),
    undefined,
  );
  t.regex(check.check('A', 7, 3, 21, undefined), /a skip of an event of 11 octets/);
  // A seal changed on the way, or made without the pair key.
  const altered: [Uint8Array, Uint8Array] = [small[0], Buffer.from(small[1]).fill(0, 4)];
  t.regex(check.seal('A', 7, 3, 20, altered, () => {}) ?? '', /the seal is not A's/);
  const { a: stranger } = pair();
  t.regex(
    check.seal('A', 7, 3, 30, makeSeal(stranger.keyWith('D')!, { ...at, seq: 30 }, [digestOf(forged)]), () => {}) ?? '',
    /the seal is not A's/,
  );
  // From an earlier life of the origin.
  t.is(check.check('A', 6, 3, 11, events[0]), 'stale');
});

test('events waiting for a seal are bounded (all origins together) and refused after holdbackMs', (t) => {
  const { d } = pair();
  const check = new SealCheck<number>('D', (n) => d.keyWith(n), limits);
  // Events "of" made-up origins: they make no room for those origins, and wait in one pool.
  for (let i = 0; i < limits.holdbackEvents; i++)
    t.true(check.hold(`fake-${i}`, 1, 1, { seq: 1, b: Buffer.from('x'), item: i, at: i * 1000 }));
  t.false(check.hold('fake-x', 1, 1, { seq: 1, b: Buffer.from('x'), item: 99, at: 5000 }), 'the pool is full');
  const expired: number[] = [];
  check.expire(12_500, (w) => expired.push(w.item));
  t.deepEqual(expired, [0, 1, 2]);
  t.true(check.hold('fake-y', 1, 1, { seq: 1, b: Buffer.from('x'), item: 100, at: 12_500 }), 'room again');
});
