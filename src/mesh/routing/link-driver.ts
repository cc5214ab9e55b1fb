// What routing needs from the links (links/links.ts implements it; tests use in-memory ones).

import type { NodeId, OutgoingFrame } from './frames.ts';

/**
 * 'too-large': the encoded frame exceeds the peer's maximum frame size; nothing was sent and the
 * link stays up. 'failed': no link to that peer, or it just failed (linkDown follows).
 */
export type FrameSendResult = 'sent' | 'too-large' | 'failed';

export interface LinkDriver {
  /** Open a link; answer later with linkUp(peer) or dialFailed(peer). */
  connect(peer: NodeId): void;
  /** Close a link: redundant, (dead: why) found dead by the routing layer, or (removed: why) to a removed node. */
  disconnect(peer: NodeId, options?: { dead?: string; removed?: string }): void;
  send(peer: NodeId, frame: OutgoingFrame): FrameSendResult;
}
