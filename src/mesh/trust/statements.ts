// What the set of admitted nodes is made of: signed statements, flooded to every node like the
// link-state advertisements and kept by each (trust/membership.ts reads them).
//
// [member, op, node, key, by, at, sig]
//   op    'admit': the node `node` is a member, with the public key `key`;
//         'remove': the key `key` (of `node`) is revoked, for good.
//   by    the public key of the node that signed the statement (an admitted member), and
//   from  that node's id
//   at    when it was signed (ms since the epoch): orders two admissions of one node id
//   sig   Ed25519 signature by `by` over signedBytes()

import type { NodeId } from '../node-id.ts';
import { keyText, PUBLIC_KEY_SIZE, SIGNATURE_SIZE, verifySignature, type NodeKey } from './node-key.ts';

export interface MemberStatement {
  readonly t: 'member';
  readonly op: 'admit' | 'remove';
  readonly node: NodeId;
  readonly key: Uint8Array;
  readonly by: Uint8Array;
  readonly from: NodeId;
  readonly at: number;
  readonly sig: Uint8Array;
}

const MAX_NODE_ID_LENGTH = 256;

function signedBytes(s: Omit<MemberStatement, 'sig' | 't'>): Buffer {
  return Buffer.from(
    JSON.stringify(['wampmesh-member/1', s.op, s.node, keyText(s.key), keyText(s.by), s.from, s.at]),
    'utf8',
  );
}

export function signStatement(
  signer: NodeKey,
  from: NodeId,
  op: MemberStatement['op'],
  node: NodeId,
  key: Uint8Array,
  at: number,
): MemberStatement {
  const body = { op, node, key: Uint8Array.from(key), by: Uint8Array.from(signer.publicKey), from, at };
  return { t: 'member', ...body, sig: signer.sign(signedBytes(body)) };
}

/** Whether the statement is signed by the key it names as its signer (not whether that key is trusted). */
export function signatureHolds(s: MemberStatement): boolean {
  return verifySignature(s.by, signedBytes(s), s.sig);
}

/** One statement's identity: its signature (Ed25519 signatures are deterministic). */
export function statementId(s: MemberStatement): string {
  return keyText(s.sig.subarray(0, PUBLIC_KEY_SIZE)) + keyText(s.sig.subarray(PUBLIC_KEY_SIZE));
}

/** The statement, or what is wrong with it (its fields; the signature is checked apart). */
export function validateStatement(v: Record<string, unknown>): MemberStatement | string {
  const bytes = (x: unknown, n: number) => x instanceof Uint8Array && x.length === n;
  if (v.op !== 'admit' && v.op !== 'remove') return 'member: bad "op"';
  if (typeof v.node !== 'string' || v.node.length === 0 || v.node.length > MAX_NODE_ID_LENGTH)
    return 'member: bad "node"';
  if (typeof v.from !== 'string' || v.from.length === 0 || v.from.length > MAX_NODE_ID_LENGTH)
    return 'member: bad "from"';
  if (!bytes(v.key, PUBLIC_KEY_SIZE) || !bytes(v.by, PUBLIC_KEY_SIZE)) return 'member: bad key';
  if (!Number.isSafeInteger(v.at)) return 'member: bad "at"';
  if (!bytes(v.sig, SIGNATURE_SIZE)) return 'member: bad "sig"';
  return v as unknown as MemberStatement;
}
