// What a REGISTER asks for, checked before the Dealer changes anything: its options, its URI
// (valid, outside the spec's "wamp." namespace) and the spec's shared-registration rules
// against the registration already there.

import type { Register } from '../wamp/messages.ts';
import { ErrorUri, isReservedUri, isValidUri, type UriCheck } from '../wamp/uris.ts';
import { OptionError, optEnum } from './options.ts';
import { invokePolicies, type InvokePolicy, type Registration, type Registrations } from './registrations.ts';
import type { Target } from './target.ts';
import { matchPolicies, type MatchPolicy } from './uri-table.ts';

export type RegisterRequest =
  | { match: MatchPolicy; invoke: InvokePolicy; existing: Registration | undefined }
  | { error: string; message?: string };

export function readRegister(
  callee: Target,
  msg: Register,
  registrations: Registrations,
  uriCheck: UriCheck | undefined,
): RegisterRequest {
  const { procedure, options } = msg;
  const match = optEnum(options, 'match', matchPolicies, 'exact');
  if (match instanceof OptionError) return { error: ErrorUri.INVALID_ARGUMENT, message: match.message };
  const invoke = optEnum(options, 'invoke', invokePolicies, 'single');
  if (invoke instanceof OptionError) return { error: ErrorUri.INVALID_ARGUMENT, message: invoke.message };
  if (!isValidUri(procedure, uriCheck, match !== 'exact') || isReservedUri(procedure))
    return { error: ErrorUri.INVALID_URI, message: `invalid procedure URI '${procedure}'` };
  const existing = registrations.get(procedure, match);
  // Spec "Shared Registration": 'single' refuses any second callee; other policies must match.
  if (
    existing !== undefined &&
    (existing.invoke === 'single' || existing.invoke !== invoke || existing.callees.includes(callee))
  )
    return {
      error: ErrorUri.PROCEDURE_ALREADY_EXISTS,
      ...(existing.invoke !== invoke && { message: `registered with invoke policy '${existing.invoke}'` }),
    };
  return { match, invoke, existing };
}
