// The messages of an established session (session.ts), routed to its realm's Dealer and Broker
// after the checks that belong to the session: the features it announced, and its grants
// (checkGrant, which also answers a refusal).

import { MessageType as T, messageName, type Call, type Dict, type Message } from '../wamp/messages.ts';
import type { ProtocolViolation } from '../wamp/parse.ts';
import type { RawPayload } from '../wamp/raw-payload.ts';
import { CloseUri, ErrorUri } from '../wamp/uris.ts';
import { refusalText, type Action, type AuthorizationRequest, type Authorizer } from './authorization.ts';
import { ENDED, type Ended } from './ended-calls.ts';
import type { SessionMeter } from './metrics.ts';
import type { LeaveReason, Realm } from './realm.ts';
import type { Target } from './target.ts';
import type { MatchPolicy } from './uri-table.ts';

/** What routing needs from the session whose message it is. */
export interface EstablishedHooks {
  readonly meter: SessionMeter | undefined;
  /** Ends the session with ABORT. */
  abort(reason: string, message: string): void;
  /** Checks a grant; a refusal is answered with ERROR not_authorized (when there is a request to answer). */
  authorized(
    action: Action,
    uri: string,
    match: MatchPolicy,
    requestType: number | undefined,
    request: number,
  ): boolean;
  /** The client ended the session. */
  close(why: LeaveReason): void;
}

export function routeEstablished(
  session: Target,
  realm: Realm,
  msg: Message,
  raw: RawPayload | undefined,
  hooks: EstablishedHooks,
): void {
  let violation: ProtocolViolation | Ended | undefined;
  switch (msg.type) {
    case T.CALL:
      // Spec "Progressive Call Invocations": a caller that did not announce the feature
      // must not send progress: true.
      if (msg.options.progress === true && !session.supports('caller', 'progressive_call_invocations')) {
        return hooks.abort(
          ErrorUri.PROTOCOL_VIOLATION,
          'CALL with progress: true from a caller that did not announce progressive_call_invocations',
        );
      }
      if (msg.options.ppt_scheme !== undefined && !session.supports('caller', 'payload_passthru_mode'))
        return pptViolation(hooks, 'CALL');
      hooks.meter?.callStarted(msg.request);
      // A chunk continuing a call was authorized with the call's first CALL; a progressive CALL
      // refused here is remembered, so that its further chunks start nothing (ended-calls.ts).
      if (
        !realm.dealer.continues(session, msg.request) &&
        !hooks.authorized('call', msg.procedure, 'exact', T.CALL, msg.request)
      )
        return realm.dealer.refusedCall(session, msg);
      violation = realm.dealer.call(session, msg, raw);
      break;
    case T.YIELD:
      if (msg.options.ppt_scheme !== undefined && !session.supports('callee', 'payload_passthru_mode'))
        return pptViolation(hooks, 'YIELD');
      violation = realm.dealer.yield(session, msg, raw);
      break;
    case T.CANCEL:
      violation = realm.dealer.cancel(session, msg);
      break;
    case T.PUBLISH:
      if (msg.options.ppt_scheme !== undefined && !session.supports('publisher', 'payload_passthru_mode'))
        return pptViolation(hooks, 'PUBLISH');
      if (
        !hooks.authorized(
          'publish',
          msg.topic,
          'exact',
          msg.options.acknowledge === true ? T.PUBLISH : undefined,
          msg.request,
        )
      )
        return;
      hooks.meter?.published();
      return realm.broker.publish(session, msg, raw);
    case T.REGISTER:
      if (!hooks.authorized('register', msg.procedure, matchOf(msg.options), T.REGISTER, msg.request)) return;
      return realm.dealer.register(session, msg);
    case T.UNREGISTER:
      return realm.dealer.unregister(session, msg);
    case T.SUBSCRIBE:
      if (!hooks.authorized('subscribe', msg.topic, matchOf(msg.options), T.SUBSCRIBE, msg.request)) return;
      return realm.broker.subscribe(session, msg);
    case T.UNSUBSCRIBE:
      return realm.broker.unsubscribe(session, msg);
    case T.ERROR:
      if (msg.requestType === T.INVOCATION) return realm.dealer.error(session, msg, raw);
      return hooks.abort(
        ErrorUri.PROTOCOL_VIOLATION,
        `ERROR for request type ${msg.requestType} is not valid from a client`,
      );
    case T.GOODBYE:
      session.send({ type: T.GOODBYE, details: {}, reason: CloseUri.GOODBYE_AND_OUT });
      return hooks.close('goodbye');
    case T.ABORT:
      return hooks.close('lost');
    case T.HELLO:
      return hooks.abort(ErrorUri.PROTOCOL_VIOLATION, 'HELLO received after the session was established');
    default:
      return hooks.abort(ErrorUri.PROTOCOL_VIOLATION, `${messageName[msg.type]} is not a message a client may send`);
  }
  if (violation === undefined) return;
  // A chunk of a progressive call already ended: dropped, so no answer will end its timing.
  if (violation === ENDED) hooks.meter?.callDropped((msg as Call).request);
  else hooks.abort(ErrorUri.PROTOCOL_VIOLATION, violation.message);
}

/**
 * Asks the authorizer; a refusal is answered with ERROR not_authorized when there is a request
 * to answer (`requestType`: a PUBLISH without acknowledge has none).
 */
export function checkGrant(
  authorizer: Authorizer,
  check: AuthorizationRequest,
  session: Target,
  requestType: number | undefined,
  request: number,
): boolean {
  const ok = authorizer.authorize(check);
  if (!ok && requestType !== undefined) {
    session.send({
      type: T.ERROR,
      requestType,
      request,
      details: {},
      error: ErrorUri.NOT_AUTHORIZED,
      args: [refusalText(check)],
    });
  }
  return ok;
}

/** Spec "Payload Passthru Mode": ppt_* options from a peer that did not announce the feature. */
function pptViolation(hooks: EstablishedHooks, what: string): void {
  hooks.abort(
    ErrorUri.PROTOCOL_VIOLATION,
    `${what} with ppt_scheme from a peer that did not announce payload_passthru_mode`,
  );
}

function matchOf(options: Dict): MatchPolicy {
  const m = options.match;
  return m === 'prefix' || m === 'wildcard' ? m : 'exact';
}
