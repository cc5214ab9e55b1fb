// Replicated records are signed by their writer (the node whose version they carry), once, when
// it writes them: the signature covers the record as written (key, version, deletion, value,
// expiry) as one canonical text. Every node keeps that text and the signature as received and
// passes both on unchanged (replication/replicator.ts); what it derives from a record (a user
// whose group is gone loses that group) is its own state, never re-signed under the writer's
// name. A receiver checks the signature against the writer's admitted key before applying it.
//
// Cost (test/bench/trust-crypto.ts, CPU per record of a user with salted hashes, ~400 octets
// as text): see README "Trust", *Signed records*. A node checks only versions newer than the
// one it holds, so each version is checked once per node; the copies flooding and anti-entropy
// bring from other neighbours are dropped before the check.

import { canonical } from '../replication/records.ts';
import type { ReplicaRecord } from '../replication/frames.ts';
import type { NodeKey } from './node-key.ts';
import { verifySignature } from './node-key.ts';

const DOMAIN = 'wampmesh-record/1\u0000';

function body(r: ReplicaRecord) {
  const { key, hlc, node, deleted, value, expires } = r;
  return { key, hlc, node, deleted, value: value ?? null, expires: expires ?? null };
}

/**
 * The record as its writer wrote it, without its signature: the text every node keeps and
 * pushes. Its keys stay in the writer's order (a user's `meta` reads the same on every node).
 */
export function writtenText(r: ReplicaRecord): string {
  return JSON.stringify(body(r));
}

/** What the signature covers: the record with every object's keys sorted. */
function signedBytes(r: ReplicaRecord): Buffer {
  return Buffer.from(DOMAIN + canonical(body(r)), 'utf8');
}

/** The record a kept text stands for (the inverse of writtenText), with its signature. */
export function recordFromText(text: string, sig: Uint8Array | null): ReplicaRecord {
  const w = JSON.parse(text) as Omit<ReplicaRecord, 'value' | 'expires'> & {
    value: ReplicaRecord['value'] | null;
    expires: number | null;
  };
  return {
    key: w.key,
    hlc: w.hlc,
    node: w.node,
    deleted: w.deleted,
    ...(w.value !== null && { value: w.value }),
    ...(w.expires !== null && { expires: w.expires }),
    ...(sig !== null && { sig: new Uint8Array(sig) }),
  };
}

export function signRecord(key: NodeKey, r: ReplicaRecord): Uint8Array {
  return key.sign(signedBytes(r));
}

/** Whether `r` carries `writerKey`'s signature. */
export function recordSignatureHolds(r: ReplicaRecord, writerKey: Uint8Array): boolean {
  return r.sig !== undefined && verifySignature(writerKey, signedBytes(r), r.sig);
}
