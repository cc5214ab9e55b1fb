// One connection's side of the link handshake (auth.ts describes the protocol): the hellos
// both sides sent, this side's nonce, the TLS channel binding, what is checked in the peer's
// hello, the proofs, and the MAC keys that protect the link afterwards without TLS
// (integrity.ts). No socket here: LinkConnection feeds it what it received.

import { TLSSocket } from 'node:tls';
import type { NodeId } from '../routing/frames.ts';
import {
  computeProof,
  encodeControl,
  HELLO_VERSION,
  newNonce,
  TLS_EXPORTER_LABEL,
  verifyProof,
  type CloseCode,
  type Hello,
  type Role,
} from './auth.ts';
import { macKey } from './integrity.ts';
import { keyTranscript } from './auth.ts';
import { verifySignature, type NodeKey } from '../trust/node-key.ts';

/** Who this side is, as its hello says. */
export interface LocalNode {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly instanceId: string;
  readonly key: Uint8Array;
  /** This node's identity (trust/node-key.ts): its hello names the public key, its auth signs with it. */
  readonly nodeKey: NodeKey;
  readonly maxFrameBytes: number;
}

/** Why a connection is refused, with the code the peer is told. */
export interface Refusal {
  readonly code: CloseCode;
  readonly reason: string;
}

export class Handshake {
  readonly #local: LocalNode;
  readonly #role: Role;
  #ourHello: Uint8Array | undefined;
  #theirHello: Uint8Array | undefined;
  #ourNonce: Uint8Array | undefined;
  #binding: Uint8Array = new Uint8Array(0);
  /** Without TLS: the MAC keys of this connection, known once both hellos are. */
  macKeys: { send: Uint8Array; receive: Uint8Array } | undefined;

  constructor(local: LocalNode, role: Role) {
    this.#local = local;
    this.#role = role;
  }

  /** Over TLS, the proofs are bound to the TLS session, so they cannot be relayed to another. */
  captureBinding(socket: unknown): void {
    if (socket instanceof TLSSocket) {
      try {
        this.#binding = socket.exportKeyingMaterial(32, TLS_EXPORTER_LABEL, Buffer.alloc(0));
      } catch {
        this.#binding = new Uint8Array(0);
      }
    }
  }

  /** This side's hello, encoded (made once, with a fresh nonce). */
  hello(): Uint8Array {
    const local = this.#local;
    this.#ourNonce = newNonce();
    this.#ourHello = encodeControl({
      c: 'hello',
      v: HELLO_VERSION,
      node: local.nodeId,
      cluster: local.clusterId,
      nonce: this.#ourNonce,
      inst: local.instanceId,
      max: local.maxFrameBytes,
      key: local.nodeKey.publicKey,
    });
    return this.#ourHello;
  }

  /**
   * The peer's hello (`bytes` as received): why it is refused, if it is. `expected`: the node a
   * dial was for, unless `anyNode` (a seed); `address` names the other end in the reason.
   */
  receiveHello(
    hello: Hello,
    bytes: Uint8Array,
    dial: { expected: NodeId | undefined; anyNode: boolean; address: string },
    tls: boolean,
  ): Refusal | undefined {
    this.#theirHello = Uint8Array.from(bytes);
    const local = this.#local;
    if (hello.v !== HELLO_VERSION)
      return {
        code: 'version',
        reason: `peer (node ${hello.node}) speaks link protocol version ${hello.v}; this node speaks ${HELLO_VERSION}`,
      };
    if (hello.cluster !== local.clusterId) {
      return {
        code: 'cluster',
        reason: `node ${hello.node} belongs to another cluster (cluster id ${hello.cluster}; ours is ${local.clusterId}): check the cluster name`,
      };
    }
    if (hello.node === local.nodeId) {
      if (hello.inst === local.instanceId) return { code: 'self', reason: 'connected to itself' };
      return {
        code: 'node-id-clash',
        reason: `another node uses this node's id "${hello.node}": node ids must be unique`,
      };
    }
    if (dial.expected !== undefined && hello.node !== dial.expected && !dial.anyNode) {
      return {
        code: 'unexpected-node',
        reason: `expected node ${dial.expected} at ${dial.address}, found node ${hello.node}`,
      };
    }
    if (!tls && this.#ourNonce !== undefined) {
      const dialer = this.#role === 'dialer';
      const [dialerNonce, acceptorNonce] = dialer ? [this.#ourNonce, hello.nonce] : [hello.nonce, this.#ourNonce];
      const toAcceptor = macKey(local.key, dialerNonce, acceptorNonce, 'dialer->acceptor');
      const toDialer = macKey(local.key, dialerNonce, acceptorNonce, 'acceptor->dialer');
      this.macKeys = dialer ? { send: toAcceptor, receive: toDialer } : { send: toDialer, receive: toAcceptor };
    }
    return undefined;
  }

  /** This side's proof of the cluster secret. */
  proof(): Uint8Array {
    const [dialer, acceptor] = this.#hellos();
    return computeProof(this.#local.key, this.#role, dialer, acceptor, this.#binding);
  }

  /** Whether the peer's proof shows it holds the cluster secret (and saw the same hellos). */
  verify(proof: Uint8Array): boolean {
    const [dialer, acceptor] = this.#hellos();
    return verifyProof(
      this.#local.key,
      this.#role === 'dialer' ? 'acceptor' : 'dialer',
      dialer,
      acceptor,
      this.#binding,
      proof,
    );
  }

  /** This side's signature with its node key over the transcript. */
  keySignature(): Uint8Array {
    const [dialer, acceptor] = this.#hellos();
    return this.#local.nodeKey.sign(keyTranscript(this.#role, dialer, acceptor, this.#binding));
  }

  /** Whether the peer holds the private half of the key its hello names. */
  verifyKey(peerKey: Uint8Array, sig: Uint8Array): boolean {
    const [dialer, acceptor] = this.#hellos();
    const role = this.#role === 'dialer' ? 'acceptor' : 'dialer';
    return verifySignature(peerKey, keyTranscript(role, dialer, acceptor, this.#binding), sig);
  }

  #hellos(): [Uint8Array, Uint8Array] {
    const ours = this.#ourHello ?? new Uint8Array(0);
    const theirs = this.#theirHello ?? new Uint8Array(0);
    return this.#role === 'dialer' ? [ours, theirs] : [theirs, ours];
  }
}
