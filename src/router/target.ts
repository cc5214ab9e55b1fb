// What the Dealer and the Broker route to. Today a Target is a local Session; a mesh link
// implements the same interface for sessions on other routers, so routing code doesn't change.

import type { Dict, Message } from '../wamp/messages.ts';
import type { SharedFrame } from './shared-frame.ts';

/**
 * 'unencodable': this peer's serializer cannot carry the message; 'too-large': it exceeds a size
 * limit on the way to the peer (a mesh link's maximum frame size), nothing was sent and the peer
 * is still there; 'closed': the peer is gone.
 */
export type SendResult = 'sent' | 'unencodable' | 'too-large' | 'closed';

export interface Target {
  /** Session ID, unique within the router (and across the mesh for remote sessions). */
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;
  /** True for a proxy of a session on another router (mesh); it gets no meta events. */
  readonly remote?: boolean;
  /** Sends one message (see SendResult). */
  send(message: Message): SendResult;
  /** Sends a fan-out message; may be dropped under backpressure (counted). */
  sendShared(frame: SharedFrame): void;
  /** Next router-to-peer request ID (INVOCATION, INTERRUPT), session scope. */
  nextRequestId(): number;
  /** Whether the client announced HELLO.Details.roles.<role>.features.<feature> = true. */
  supports(role: string, feature: string): boolean;
  /** The session as the meta API describes it (wamp.session.get). */
  details(): Dict;
  /** Ends the session with GOODBYE (meta API kill); without a message, GOODBYE.Details is empty. */
  kill(reason: string, message?: string): void;
}
