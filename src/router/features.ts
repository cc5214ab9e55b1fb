// What WELCOME.Details.roles announces: exactly the features that work, nothing more.
// Each is exercised by a test in test/core or test/interop. And what the router makes of what
// a client announces, where that is a decision rather than the letter of the spec.

import type { Dict } from '../wamp/messages.ts';
import { isDict } from '../wamp/parse.ts';

export const routerRoles = {
  broker: {
    features: {
      publisher_exclusion: true,
      publisher_identification: true,
      subscriber_blackwhite_listing: true,
      pattern_based_subscription: true,
      event_retention: true,
      event_history: true,
      subscription_meta_api: true,
      session_meta_api: true,
      testament_meta_api: true,
      payload_passthru_mode: true,
    },
  },
  dealer: {
    features: {
      progressive_call_results: true,
      progressive_call_invocations: true,
      call_canceling: true,
      call_timeout: true,
      caller_identification: true,
      pattern_based_registration: true,
      shared_registration: true,
      registration_meta_api: true,
      session_meta_api: true,
      testament_meta_api: true,
      payload_passthru_mode: true,
    },
  },
} as const;

export const clientRoleNames = ['caller', 'callee', 'publisher', 'subscriber'] as const;

/**
 * Whether INVOCATIONs to this callee may carry receive_progress. The spec treats a callee
 * without call_canceling as not supporting progressive call results (it could not be told to
 * stop a stream). Autobahn|JS announces progressive_call_results without call_canceling, and its
 * users expect the stream to flow, so the announcement alone decides; a cancel or a timeout
 * toward such a callee ends the call as in mode skip. README "Where the router departs from the
 * letter of the spec".
 */
export function takesProgressiveResults(callee: { supports(role: string, feature: string): boolean }): boolean {
  return callee.supports('callee', 'progressive_call_results');
}

/** Whether a client's HELLO.Details.roles announce `feature` under `role`. */
export function announces(clientRoles: Dict, role: string, feature: string): boolean {
  const r = clientRoles[role];
  if (!isDict(r) || !isDict(r.features)) return false;
  // The spec spells it both ways ("call_canceling", and "call_cancelling" in places).
  return r.features[feature] === true || (feature === 'call_canceling' && r.features.call_cancelling === true);
}
