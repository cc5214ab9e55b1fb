// What a CALL's options make of its INVOCATION (spec "Progressive Call Results", "Progressive
// Call Invocations", "Call Timeouts", "Caller Identification", "Payload Passthru Mode"): the
// options checked, the callee picked, and the details it is sent, as far as it announced the
// features they need. The Dealer (dealer.ts) sends it.

import type { Call, Dict } from '../wamp/messages.ts';
import { ErrorUri } from '../wamp/uris.ts';
import { takesProgressiveResults } from './features.ts';
import { OptionError, optBool, optNonNegativeInt, pptOptions } from './options.ts';
import type { Registration } from './registrations.ts';
import type { Target } from './target.ts';

export type Disclosure = 'optional' | 'always' | 'never';

/** The INVOCATION a CALL with options makes. */
export interface PlannedInvocation {
  readonly callee: Target;
  /** Empty when no option asked for any. */
  readonly details: Dict;
  /** Call timeout in ms (0: none). */
  readonly timeout: number;
  readonly receiveProgress: boolean;
}

/**
 * A key of INVOCATION.Details for a callee on another router (Target.remote) only: the caller's
 * identity in the details is there for that router, not for its callee (see mesh
 * routing/origin-identity.ts, which takes it out).
 */
export const UNDISCLOSED_CALLER = 'x_wampmesh_undisclosed_caller';

/**
 * INVOCATION.Details' caller identity. A callee on another router gets it even undisclosed: that
 * router applies the realm's grants to the caller, and hands the identity to its callee only if
 * disclosed (marked UNDISCLOSED_CALLER otherwise).
 */
export function callerDetails(caller: Target, disclosed: boolean): Dict {
  const details: Dict = { caller: caller.id, caller_authid: caller.authid, caller_authrole: caller.authrole };
  if (!disclosed) details[UNDISCLOSED_CALLER] = true;
  return details;
}

/** Why the CALL is refused: the ERROR the caller gets. */
export interface CallRefusal {
  readonly error: string;
  readonly message: string;
}

/**
 * Checks the options of `msg` and builds the INVOCATION's details. `pick` chooses the callee
 * (once, and only for a CALL whose options are valid: it advances a round-robin).
 */
export function planInvocation(
  caller: Target,
  msg: Call,
  registration: Registration,
  disclosure: Disclosure,
  pick: () => Target,
): PlannedInvocation | CallRefusal {
  const { procedure, options } = msg;
  const fail = (error: string, message: string): CallRefusal => ({ error, message });

  const progress = optBool(options, 'progress');
  const receiveProgress = optBool(options, 'receive_progress');
  const discloseMe = optBool(options, 'disclose_me');
  const timeout = optNonNegativeInt(options, 'timeout');
  const ppt = pptOptions(options, msg);
  for (const v of [progress, receiveProgress, discloseMe, timeout, ppt])
    if (v instanceof OptionError) return fail(ErrorUri.INVALID_ARGUMENT, v.message);
  if (discloseMe === true && disclosure === 'never')
    return fail('wamp.error.option_disallowed.disclose_me', 'this realm does not disclose callers');

  const callee = pick();
  if (
    progress === true &&
    !(callee.supports('callee', 'progressive_call_invocations') && callee.supports('callee', 'call_canceling'))
  ) {
    return fail('wamp.error.feature_not_supported', 'the callee does not support progressive call invocations');
  }
  const details: Dict = {};
  if (registration.match !== 'exact') details.procedure = procedure;
  const wantsProgress = receiveProgress === true && takesProgressiveResults(callee);
  if (ppt !== undefined && !callee.supports('callee', 'payload_passthru_mode')) {
    return fail('wamp.error.feature_not_supported', 'the callee does not support payload passthru mode');
  }
  if (wantsProgress) details.receive_progress = true;
  if (progress === true) details.progress = true;
  if ((timeout as number) > 0 && callee.supports('callee', 'call_timeout')) details.timeout = timeout;
  const disclosed = discloseMe === true || disclosure === 'always';
  if (disclosed || callee.remote === true) Object.assign(details, callerDetails(caller, disclosed));
  if (ppt !== undefined) Object.assign(details, ppt);
  return { callee, details, timeout: timeout as number, receiveProgress: receiveProgress === true };
}
