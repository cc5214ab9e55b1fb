// How the Dealer and the Broker answer: an ERROR for a request, and the one mapping from a
// message that could not be sent on (SendResult) to the ERROR its caller gets instead.

import { MessageType as T } from '../wamp/messages.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { SendResult, Target } from './target.ts';

const CALLEE_GONE = 'callee disconnected from in-flight call';

/** [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list] */
export function sendError(to: Target, requestType: number, request: number, error: string, message?: string): void {
  to.send({
    type: T.ERROR,
    requestType,
    request,
    details: {},
    error,
    ...(message === undefined ? {} : { args: [message] }),
  });
}

/**
 * What was not sent on: the INVOCATION of a call (to its callee), or the RESULT or the ERROR
 * (carrying `error`) that answers it (to its caller).
 */
export type Undelivered =
  | { readonly kind: 'invocation' }
  | { readonly kind: 'result' }
  | { readonly kind: 'error'; readonly error: string };

/**
 * The ERROR a caller gets for its call `request` when a message of that call was not sent
 * (`sent` is not 'sent'); false when there is nobody to tell (the caller itself is gone).
 * 'too-large' is spec "Basic Profile URIs" wamp.error.payload_size_exceeded: a limit on the way
 * (a mesh link's maximum frame size), the peer still there.
 */
export function answerUndelivered(caller: Target, request: number, sent: SendResult, what: Undelivered): boolean {
  const reply = undeliveredError(sent, what);
  if (reply === undefined) return false;
  sendError(caller, T.CALL, request, reply.error, reply.message);
  return true;
}

function undeliveredError(sent: SendResult, what: Undelivered): { error: string; message?: string } | undefined {
  if (sent === 'sent') return undefined;
  switch (what.kind) {
    case 'invocation':
      if (sent === 'closed') return { error: ErrorUri.CANCELED, message: CALLEE_GONE };
      if (sent === 'too-large')
        return {
          error: ErrorUri.PAYLOAD_SIZE_EXCEEDED,
          message: 'the call payload exceeds the maximum message size on the way to the callee',
        };
      return { error: ErrorUri.INVALID_ARGUMENT, message: 'the call payload cannot be serialized for the callee' };
    case 'result':
      if (sent === 'too-large')
        return {
          error: ErrorUri.PAYLOAD_SIZE_EXCEEDED,
          message: 'the result exceeds the maximum message size on the way to the caller',
        };
      if (sent === 'unencodable')
        return { error: ErrorUri.INVALID_ARGUMENT, message: 'the result cannot be serialized for the caller' };
      return undefined;
    case 'error':
      if (sent === 'too-large') {
        return {
          error: ErrorUri.PAYLOAD_SIZE_EXCEEDED,
          message: `the callee's error ${what.error} exceeds the maximum message size on the way to the caller`,
        };
      }
      // The caller still learns the call failed, with the callee's error URI and no payload.
      if (sent === 'unencodable') return { error: what.error };
      return undefined;
  }
}

export { CALLEE_GONE };

/** Why a listener could not take a publication (a full bridge outbox), for the publisher's ERROR. */
export interface PublicationRefusal {
  readonly uri: string;
  readonly message: string;
}

/**
 * PUBLISHED for an acknowledged publication (`request` undefined: none was asked for), once
 * `hold` (a listener of the federation port keeping the event, see Broker) has settled; a
 * refusal becomes the publisher's ERROR with the listener's URI and message.
 */
export function acknowledgePublication(
  publisher: Target,
  request: number | undefined,
  publication: number,
  hold: Promise<void> | undefined,
): void {
  if (request === undefined) {
    // Nobody to tell: a refusal was counted where it happened.
    hold?.catch(() => {});
    return;
  }
  if (hold === undefined) {
    publisher.send({ type: T.PUBLISHED, request, publication });
    return;
  }
  hold.then(
    () => publisher.send({ type: T.PUBLISHED, request, publication }),
    (err: Partial<PublicationRefusal>) =>
      sendError(
        publisher,
        T.PUBLISH,
        request,
        typeof err?.uri === 'string' ? err.uri : ErrorUri.CANCELED,
        typeof err?.message === 'string' ? err.message : 'the publication could not be kept for forwarding',
      ),
  );
}
