// The mesh link handshake's messages and cryptography, sans-IO.
//
// Each side sends a hello (CONTROL frame, CBOR map):
//   { c: 'hello', v: 5, node, cluster, nonce, inst, max, key }
//     v        link protocol version (4). A peer of another version is refused right after the
//              hellos, with a log line on both sides naming both versions. Version 2 added
//              the integrity tags after the handshake (links/integrity.ts); version 1 nodes
//              sent none and cannot link with version 2 ones: upgrade every node.
//     node     the sender's node id
//     cluster  clusterIdOf(cluster name): a hash of the NAME, never of the secret, so nodes of
//              another cluster are told apart (and refused with a clear log line) before any
//              secret is involved
//     nonce    32 random octets, fresh per connection
//     inst     random id of the sending process (per start): tells a restarted peer from a
//              duplicate connection to the same process
//     max      the largest frame payload the sender accepts
//     key      the sender's node key (Ed25519 public key, 32 octets; trust/node-key.ts)
// then proves knowledge of the cluster secret, and of its node key's private half:
//   { c: 'auth', proof, sig }
//     proof = HMAC-SHA256(K, transcript(role))
//     sig   = Ed25519(node key, 'wampmesh-link/4 key' 0x00 transcript(role))
// A side lets the other in only once both check out and its membership admits the node id with
// that key (trust/membership.ts): a removed node is refused ('removed') even with the secret, a
// node not admitted ('not-admitted') when the cluster secret does not admit nodes (secretJoin
// off), and a node id presented with another key than the one it is admitted with
// ('key-mismatch').
//     K = HKDF-SHA256(secret, salt = '', info = 'wampmesh-link', 32 octets)
//     transcript(role) = 'wampmesh-link/1 proof' 0x00 role 0x00
//                        u32 len | dialer hello | u32 len | acceptor hello | u32 len | binding
// The hellos are covered byte for byte, so both nonces, both node ids, the cluster ids and the
// instance ids are bound; the role ('dialer' / 'acceptor') keeps one side's proof from being
// reflected back as the other's; the binding is a TLS exporter value when the link runs over
// TLS (empty otherwise), which ties the proof to that TLS session so a TLS-terminating relay
// cannot pass proofs through. Proofs are compared with crypto.timingSafeEqual.
//
// After its own proof, a side on a link without TLS tags every frame it sends with keys derived
// from K and both nonces (links/integrity.ts), so that the link stays authenticated past the
// handshake; over TLS, TLS does that.

import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { isDict } from '../../wamp/parse.ts';
import { cbor } from '../../serializers/cbor.ts';
import type { NodeId } from '../routing/frames.ts';

// 3: event copies carry per-link and per-destination numbers and are acknowledged ('ack'
// frames, routing/event-custody.ts); a version 2 node would refuse them mid-stream, so the two
// are told apart at the handshake.
// 4: node keys (hello "key", auth "sig"), signed advertisements and membership statements, and
// origin-bound identities on calls: a version 3 node would neither sign nor be admitted.
// 5: replicated records carry their writer's signature ("sig", trust/record-signature.ts); a
// version 4 node would push unsigned records, all refused.
// 6: events travel encoded as their origin wrote them ("b") behind a seal per batch and
// destination (routing/event-seal.ts); a version 5 node would neither send nor read them.
// 7: a seal rides with the first event it covers (EventFrame.seals beside "b") instead of being a
// frame of its own; a version 6 node would refuse such frames and close the link.
// 8: a call's origin tag no longer covers its call ID (routing/origin-identity.ts); a version 7
// node would refuse every call of a version 8 one as forged.
// 9: a call's frames are embedded CBOR data items (tag 24 on a byte string, links/routed-writer.ts;
// all that the routers' own writer takes, which is nearly all) so that a node they pass through
// steps over their payload; a version 8 node would refuse them.
// 10: an embedded call frame's keys are its fields' numbers (routing/field-numbers.ts), not
// texts; a version 9 node would refuse them.
// 11: a batch of 4 KiB or more is tagged with Poly1305, not HMAC-SHA256 (links/integrity.ts); a
// version 10 node would take its tags for forged and close the link.
export const HELLO_VERSION = 11;
export const NODE_KEY_SIZE = 32;
export const KEY_SIGNATURE_SIZE = 64;
export const NONCE_SIZE = 32;
export const PROOF_SIZE = 32;
const MAX_NODE_ID_LENGTH = 256;
export const TLS_EXPORTER_LABEL = 'EXPORTER-wampmesh-link';

export type Role = 'dialer' | 'acceptor';

export interface Hello {
  readonly v: number;
  readonly node: NodeId;
  readonly cluster: string;
  readonly nonce: Uint8Array;
  readonly inst: string;
  readonly max: number;
  readonly key: Uint8Array;
}

/** Why a connection ends; sent to the peer in a close notice and used in log lines. */
export type CloseCode =
  | 'version'
  | 'cluster'
  | 'self'
  | 'node-id-clash'
  | 'unexpected-node'
  | 'auth'
  | 'protocol'
  | 'timeout'
  | 'duplicate'
  | 'replaced'
  | 'disconnect'
  | 'shutdown'
  | 'dead'
  | 'slow'
  | 'invalid-frame'
  | 'eof'
  | 'error'
  | 'tls'
  | 'integrity'
  | 'removed'
  | 'not-admitted'
  | 'key-mismatch';

export type Control =
  | ({ readonly c: 'hello' } & Hello)
  | { readonly c: 'auth'; readonly proof: Uint8Array; readonly sig: Uint8Array }
  | { readonly c: 'use' }
  | { readonly c: 'close'; readonly code: string; readonly reason: string };

/** A stable public id for a cluster NAME (16 octets of SHA-256, hex). */
export function clusterIdOf(name: string): string {
  return createHash('sha256').update('wampmesh-cluster/1\u0000').update(name, 'utf8').digest('hex').slice(0, 32);
}

export function linkKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'wampmesh-link', 32));
}

export function newNonce(): Uint8Array {
  return randomBytes(NONCE_SIZE);
}

export function newInstanceId(): string {
  return randomBytes(16).toString('hex');
}

/** CBOR for control payloads (the serializer is typed for WAMP message arrays; any value works). */
export function encodeControl(message: Control): Uint8Array {
  return cbor.encode(message as unknown as unknown[]);
}

/** Parses a CONTROL payload; a string says what is wrong with it. */
export function decodeControl(payload: Uint8Array): Control | string {
  let v: unknown;
  try {
    v = cbor.decode(payload);
  } catch (error) {
    return `undecodable control frame: ${(error as Error).message}`;
  }
  if (!isDict(v) || typeof v.c !== 'string') return 'a control frame must be a map with a string "c"';
  switch (v.c) {
    case 'hello': {
      if (!Number.isSafeInteger(v.v)) return 'hello: bad "v"';
      if (typeof v.node !== 'string' || v.node.length === 0 || v.node.length > MAX_NODE_ID_LENGTH)
        return 'hello: bad "node"';
      if (typeof v.cluster !== 'string' || v.cluster.length > 128) return 'hello: bad "cluster"';
      if (!(v.nonce instanceof Uint8Array) || v.nonce.length !== NONCE_SIZE) return 'hello: bad "nonce"';
      if (typeof v.inst !== 'string' || v.inst.length === 0 || v.inst.length > 128) return 'hello: bad "inst"';
      if (!Number.isSafeInteger(v.max) || (v.max as number) < 1024) return 'hello: bad "max"';
      // Before version 4 there was no key: such a hello is refused for its version, not its form.
      const key = v.key instanceof Uint8Array && v.key.length === NODE_KEY_SIZE ? v.key : undefined;
      if (key === undefined && v.v === HELLO_VERSION) return 'hello: bad "key"';
      return {
        c: 'hello',
        v: v.v as number,
        node: v.node,
        cluster: v.cluster,
        nonce: v.nonce,
        inst: v.inst,
        max: v.max as number,
        key: key ?? new Uint8Array(0),
      };
    }
    case 'auth':
      if (!(v.proof instanceof Uint8Array)) return 'auth: bad "proof"';
      if (!(v.sig instanceof Uint8Array) || v.sig.length !== KEY_SIGNATURE_SIZE) return 'auth: bad "sig"';
      return { c: 'auth', proof: v.proof, sig: v.sig };
    case 'use':
      return { c: 'use' };
    case 'close':
      return {
        c: 'close',
        code: typeof v.code === 'string' ? v.code.slice(0, 40) : '?',
        reason: typeof v.reason === 'string' ? v.reason.slice(0, 500) : '',
      };
    default:
      return `unknown control message ${JSON.stringify(v.c).slice(0, 40)}`;
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** What a side signs with its node key: the same transcript as its proof, under another label. */
export function keyTranscript(
  role: Role,
  dialerHello: Uint8Array,
  acceptorHello: Uint8Array,
  binding: Uint8Array,
): Buffer {
  return Buffer.concat([
    Buffer.from(`wampmesh-link/4 key\u0000${role}\u0000`),
    u32(dialerHello.length),
    dialerHello,
    u32(acceptorHello.length),
    acceptorHello,
    u32(binding.length),
    binding,
  ]);
}

export function computeProof(
  key: Uint8Array,
  role: Role,
  dialerHello: Uint8Array,
  acceptorHello: Uint8Array,
  binding: Uint8Array,
): Buffer {
  return createHmac('sha256', key)
    .update(`wampmesh-link/1 proof\u0000${role}\u0000`)
    .update(u32(dialerHello.length))
    .update(dialerHello)
    .update(u32(acceptorHello.length))
    .update(acceptorHello)
    .update(u32(binding.length))
    .update(binding)
    .digest();
}

export function verifyProof(
  key: Uint8Array,
  role: Role,
  dialerHello: Uint8Array,
  acceptorHello: Uint8Array,
  binding: Uint8Array,
  proof: Uint8Array,
): boolean {
  if (proof.length !== PROOF_SIZE) return false;
  return timingSafeEqual(computeProof(key, role, dialerHello, acceptorHello, binding), proof);
}
