// The CPU cost of mesh trust's cryptography, alone (no sockets): signing and checking one
// link-state advertisement (a small one and one with 50 registrations), a membership statement,
// a replicated record (a user),
// the origin-identity tag of a call, and the seal of a batch of events (a digest per event, a tag
// per batch and destination; routing/event-seal.ts). CPU time per
// operation, median of 5 rounds after a warm-up round.
//
//   scripts/node24 test/bench/trust-crypto.ts
//
// Not part of `npm run bench`.

import type { CallFrame, Lsa, RealmAd } from '../../src/mesh/routing/frames.ts';
import { OriginIdentities } from '../../src/mesh/routing/origin-identity.ts';
import { digestOf, makeSeal, SealCheck } from '../../src/mesh/routing/event-seal.ts';
import { encodeEventContent } from '../../src/mesh/routing/event-content.ts';
import { lsaSignatureHolds, signLsa } from '../../src/mesh/trust/lsa-signature.ts';
import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import type { ReplicaRecord } from '../../src/mesh/replication/frames.ts';
import { recordSignatureHolds, signRecord, writtenText } from '../../src/mesh/trust/record-signature.ts';
import { signatureHolds, signStatement } from '../../src/mesh/trust/statements.ts';
import { median } from './common.ts';

const ROUNDS = 5;

function cpuMicros(n: number, fn: () => void): number {
  const results: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const used = process.cpuUsage(start);
    if (round > 0) results.push((used.user + used.system) / n);
  }
  return median(results);
}

function lsaWith(registrations: number): Omit<Lsa, 'sig'> {
  const ad: RealmAd = {
    registrations: Array.from({ length: registrations }, (_, i) => ({
      procedure: `com.example.device.procedure${i}`,
      match: 'exact' as const,
      invoke: 'single',
      callees: [{ session: 1000 + i, features: ['progressive_call_results', 'call_canceling'] }],
    })),
    subscriptions: [{ topic: 'com.example.events', match: 'prefix' }],
  };
  return {
    t: 'lsa',
    origin: 'n-a1b2c3d4e5f6',
    epoch: Date.now(),
    seq: 42,
    links: ['n-1', 'n-2', 'n-3'],
    realms: { realm1: ad },
  };
}

const key = NodeKey.generate();
const rows: [string, number][] = [];
for (const n of [3, 50]) {
  const lsa = lsaWith(n);
  const signed = signLsa(key, lsa);
  rows.push([`sign an advertisement (${n} registrations)`, cpuMicros(2000, () => signLsa(key, lsa))]);
  rows.push([
    `check an advertisement (${n} registrations)`,
    cpuMicros(2000, () => lsaSignatureHolds(signed, key.publicKey)),
  ]);
}
const statement = signStatement(key, 'a', 'admit', 'b', NodeKey.generate().publicKey, Date.now());
rows.push([
  'sign a membership statement',
  cpuMicros(2000, () => signStatement(key, 'a', 'admit', 'b', key.publicKey, 1)),
]);
rows.push(['check a membership statement', cpuMicros(2000, () => signatureHolds(statement))]);

// A replicated user record as the security store writes one: salted hashes for two methods.
const record: ReplicaRecord = {
  key: 'user|com.example.plant|operator-17',
  hlc: '001764921600000.000003',
  node: 'n-a1b2c3d4e5f6',
  deleted: false,
  value: {
    authid: 'operator-17',
    groups: ['operators'],
    pubkeys: [],
    meta: { site: 'hall 3', shift: 'night' },
    credentials: {
      ticket: {
        hash: '$argon2id$v=19$m=19456,t=2,p=1$peeJXANhyuSGOCdHQxBORg$o/fQhIIH+b6nwXgJ4IKHkJ52BQQSHpgq/mVGbr+qgPM',
      },
      wampcra: {
        salt: 'c2FsdHNhbHRzYWx0',
        iterations: 1000,
        keylen: 32,
        secret: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo',
      },
    },
  },
};
const signedRecord = { ...record, sig: signRecord(key, record) };
rows.push([
  `sign a replicated record (${writtenText(record).length} octets)`,
  cpuMicros(2000, () => signRecord(key, record)),
]);
rows.push(['check a replicated record', cpuMicros(2000, () => recordSignatureHolds(signedRecord, key.publicKey))]);

const dh = new Map<string, Uint8Array>();
const a = new OriginIdentities('A', (n) => dh.get(n));
const d = new OriginIdentities('D', (n) => dh.get(n));
dh.set('A', a.publicKey);
dh.set('D', d.publicKey);
// As the caller's node makes it (remote-targets.ts): the caller's identity in `who`, undisclosed.
const call = {
  t: 'call',
  origin: 'A',
  dst: 'D',
  id: 1,
  realm: 'realm1',
  procedure: 'com.example.echo',
  match: 'exact',
  session: 7,
  details: {},
  who: [5, 'alice', 'user', false],
  args: ['hello'],
} as CallFrame;
const sealed = a.seal(call);
if (d.problem(sealed) !== undefined) throw new Error('the call tag does not check out');
rows.push(['tag a call (caller node)', cpuMicros(50_000, () => a.seal(call))]);
rows.push(['check a call tag (callee node)', cpuMicros(50_000, () => d.problem(sealed))]);

// Events: what the benchmark's publisher sends (a short payload), as the origin encodes them.
const bodies = Array.from({ length: 32 }, (_, i) =>
  encodeEventContent({
    realm: 'realm1',
    topic: 'bench.topic',
    publication: 1_000_000 + i,
    timestamp: Date.now(),
    details: {},
    args: ['x'.repeat(40), i],
    retain: false,
  }),
);
const at = { src: 'A', ep: 1, dst: 'D', life: 1, seq: 1 };
const digests = bodies.map(digestOf);
const pairKey = a.keyWith('D')!;
const batchSeal = makeSeal(pairKey, at, digests);
const check = new SealCheck<undefined>('D', (n) => d.keyWith(n), {
  maxOrigins: 10,
  holdbackMs: 10_000,
  holdbackEvents: 50_000,
  outageHoldBytes: 1 << 24,
});
rows.push([
  `digest an event (${bodies[0]!.length} octets; origin, destination)`,
  cpuMicros(50_000, () => digestOf(bodies[0]!)),
]);
rows.push(['seal a batch of 32 events (per destination)', cpuMicros(20_000, () => makeSeal(pairKey, at, digests))]);
rows.push([
  'check a seal of 32 events (destination)',
  cpuMicros(20_000, () => {
    if (check.seal('A', 1, 1, 1, batchSeal, () => {}) !== undefined) throw new Error('the seal does not check out');
  }),
]);

console.log('mesh trust cryptography, CPU µs per operation (median of 5 rounds):');
for (const [what, us] of rows) console.log(`  ${what.padEnd(48)} ${us.toFixed(1)}`);
