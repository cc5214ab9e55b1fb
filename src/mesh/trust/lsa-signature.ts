// Link-state advertisements are signed by their origin (its node key), and every node checks the
// signature before using or flooding one: a member can advertise only its own links,
// registrations and subscriptions. The signature covers a canonical text of the advertisement
// (routing/frames.ts Lsa, without `sig`), so that it survives being decoded and encoded again
// at every hop.
//
// Cost (test/bench/trust-crypto.ts; Node 24, AMD EPYC, CPU time per operation, measured on a
// busy box, load average 11 on 2 cores, so high): signing 49 us and checking 120 us for an
// advertisement of 3 registrations, 159 and 222 us for one of 50 (the canonical text grows with
// it). A Pi 4 is estimated 4-6 times slower (no SHA-512 or wide multipliers to speak of). A node
// signs once per origination (a change, or every lsaRefreshMs), and checks each advertisement
// once: an advertisement it already holds (same or older epoch and seq) is dropped before its
// signature is checked, so the copies that flooding brings from several neighbours cost nothing.
// No cache or batching beyond that: advertisements are rare (per change, per 30 s refresh).
// Calls and events carry no signature (routing/origin-identity.ts says why).

import { canonical } from '../replication/records.ts';
import type { Lsa } from '../routing/frames.ts';
import type { NodeKey } from './node-key.ts';
import { verifySignature } from './node-key.ts';

function signedBytes(lsa: Lsa): Buffer {
  const { origin, epoch, seq, links, realms, dh } = lsa;
  return Buffer.from(
    `wampmesh-lsa/1\u0000${canonical({ origin, epoch, seq, links, realms, dh: dh === undefined ? null : Buffer.from(dh).toString('base64url') })}`,
    'utf8',
  );
}

export function signLsa(key: NodeKey, lsa: Omit<Lsa, 'sig'>): Lsa {
  return { ...lsa, sig: key.sign(signedBytes(lsa as Lsa)) };
}

/** Whether `lsa` is signed by `originKey` (the key its origin is admitted with). */
export function lsaSignatureHolds(lsa: Lsa, originKey: Uint8Array): boolean {
  return lsa.sig !== undefined && verifySignature(originKey, signedBytes(lsa), lsa.sig);
}
