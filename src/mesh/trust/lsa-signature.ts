// Link-state advertisements are signed by their origin (its node key), and every node checks the
// signature before using or flooding one: a member can advertise only its own links,
// registrations and subscriptions. The signature covers a canonical text of the advertisement
// (routing/frames.ts Lsa, without `sig`), so that it survives being decoded and encoded again
// at every hop.
//
// Cost (Node 24, x86-64, one core; bench/lsa-signature.ts): signing ~25 us and checking
// ~60 us per advertisement of a few registrations; making the canonical text grows with its size.
// A node signs once per origination (a change, or every lsaRefreshMs), and checks each
// advertisement once: an advertisement it already holds (same or older epoch and seq) is dropped
// before its signature is checked, so the copies that flooding brings from several neighbours
// cost nothing.

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
