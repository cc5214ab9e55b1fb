// The states of a link connection (links/connection.ts), what it is opened with, and what it
// needs from its owner.
//
// States:  connecting -> preamble -> hello -> auth -> decision -> up -> closed
//   connecting  outbound only, until TCP (and TLS) is connected
//   preamble    waiting for the peer's 8-octet preamble
//   hello       waiting for the peer's hello
//   auth        waiting for the peer's proof
//   decision    authenticated; waiting for the peer with the lower node id to say "use"
//   up          carrying mesh frames (only the node with the lower id sends "use", so both
//               ends always agree on which connection is the link)

import type { NodeId } from '../routing/frames.ts';
import type { CloseCode } from './auth.ts';
import type { NodeKey } from '../trust/node-key.ts';

export type ConnectionState = 'connecting' | 'preamble' | 'hello' | 'auth' | 'decision' | 'up' | 'closed';
export type Direction = 'in' | 'out';

/** How a LinkConnection is opened (by MeshLinks, links/links.ts). */
export interface LinkConnectionOptions {
  direction: Direction;
  address: string;
  expected?: NodeId;
  anyNode?: boolean;
  handshakeTimeoutMs: number;
  /** Outbound: the socket event after which the handshake starts. */
  readyEvent?: 'connect' | 'secureConnect';
  /** TLS with a CA: the peer's certificate must verify (checked here, to say why it did not). */
  verifyPeer?: boolean;
}

/**
 * What a connection needs from its owner; `Connection` is LinkConnection (named here by a
 * parameter, so this file need not import it). Callbacks are synchronous.
 */
export interface ConnectionOwner<Connection> {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly instanceId: string;
  readonly key: Uint8Array;
  readonly nodeKey: NodeKey;
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  /** The peer proved the secret and its node key: whether its membership lets it in. */
  admit(peer: NodeId, key: Uint8Array): { code: CloseCode; reason: string } | undefined;
  /** Both sides proved the secret; the connection is now in state "decision". */
  authenticated(conn: Connection): void;
  /** The peer (the lower node id) chose this connection as the link. */
  used(conn: Connection): void;
  /** Mesh frames decoded from one MESH payload, in order. */
  meshFrames(conn: Connection, frames: readonly unknown[]): void;
  /** The connection ended; called exactly once. byPeer: the peer or the network ended it. */
  closed(conn: Connection, code: CloseCode | string, reason: string, byPeer: boolean): void;
}
