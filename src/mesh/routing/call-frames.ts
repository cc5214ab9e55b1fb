// The frames a node on a call's path makes of its own (the errors that end a call), and what it
// asks of the frames it receives (routing/calls.ts).

import { ErrorUri } from '../../wamp/uris.ts';
import {
  decodePassed,
  PassedFrame,
  type ErrorFrame,
  type NodeId,
  type ResultFrame,
  type RoutedFrame,
} from './frames.ts';

export const NETWORK_FAILURE = 'wamp.error.network_failure';
/** Spec "Basic Profile URIs": a message could not be delivered due to transport payload size limits. */
export const PAYLOAD_SIZE_EXCEEDED = ErrorUri.PAYLOAD_SIZE_EXCEEDED;

/** The error, made here, that ends the call `of` for its caller (with `message` as its one argument). */
export function callError(
  of: { readonly origin: NodeId; readonly id: number; readonly realm: string },
  error: string,
  message?: string,
): ErrorFrame {
  return {
    t: 'error',
    origin: of.origin,
    dst: of.origin,
    id: of.id,
    realm: of.realm,
    error,
    details: {},
    ...(message !== undefined && { args: [message] }),
  };
}

/**
 * The error that answers a call whose frame, passed on by the nodes in between, is invalid
 * where it is used (they read only its header): the link it came on stays up, as the
 * neighbour only passed it on.
 */
export function refused(frame: RoutedFrame | PassedFrame, self: NodeId, reason: string): ErrorFrame {
  return callError(frame, NETWORK_FAILURE, `invalid ${frame.t} frame refused at ${self}: ${reason}`);
}

/** The error that replaces a call's frame too large for the link from `self` to `peer`. */
export function tooLarge(frame: RoutedFrame | PassedFrame, self: NodeId, peer: NodeId): ErrorFrame {
  const error = frame.t === 'error' ? (frame as ErrorFrame | PassedFrame).error : '';
  const what = frame.t === 'result' ? 'result' : frame.t === 'error' ? `error ${error}` : 'call payload';
  const message = `the ${what} exceeds the maximum frame size of the mesh link ${self} -> ${peer}`;
  return callError(frame, PAYLOAD_SIZE_EXCEEDED, message);
}

/** The last frame of a call: an error, or a result that is not progressive. */
export function isFinal(frame: RoutedFrame | PassedFrame): boolean {
  return frame.t === 'error' || (frame.t === 'result' && !(frame as ResultFrame | PassedFrame).progress);
}

/** A received frame, decoded and validated whole if it came as a PassedFrame (for acting on it here). */
export function whole<F extends RoutedFrame>(frame: F | PassedFrame): F | string {
  return frame instanceof PassedFrame ? ((frame.whole ?? decodePassed(frame)) as F | string) : frame;
}
