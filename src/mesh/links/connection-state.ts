// The states of a link connection (links/connection.ts) and what it is opened with.
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

export type ConnectionState = 'connecting' | 'preamble' | 'hello' | 'auth' | 'decision' | 'up' | 'closed';
export type Direction = 'in' | 'out';

/** How a LinkConnection is opened (by MeshLinks, links/links.ts). */
export interface LinkConnectionOptions {
  direction: Direction; address: string; expected?: NodeId; anyNode?: boolean; handshakeTimeoutMs: number;
  /** Outbound: the socket event after which the handshake starts. */
  readyEvent?: 'connect' | 'secureConnect';
  /** TLS with a CA: the peer's certificate must verify (checked here, to say why it did not). */
  verifyPeer?: boolean;
}
