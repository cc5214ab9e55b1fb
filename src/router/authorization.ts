// Authorization: whether a session may call, register, subscribe to or publish on a URI. The
// router asks an Authorizer (the security store's grants, or allowAll) before it routes a
// request; one request shape and one refusal text for every check.

import type { MatchPolicy } from './uri-table.ts';

export type Action = 'call' | 'register' | 'subscribe' | 'publish';

export interface AuthorizationRequest {
  readonly realm: string;
  readonly session: number;
  readonly authid: string;
  readonly authrole: string;
  readonly action: Action;
  readonly uri: string;
  /** The match policy of a REGISTER or SUBSCRIBE; 'exact' for CALL and PUBLISH. */
  readonly match: MatchPolicy;
}

export interface Authorizer {
  authorize(request: AuthorizationRequest): boolean;
}

/** Who asks for a grant: the parts of a session an AuthorizationRequest names. */
export interface Grantee {
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;
}

/** The request for `session` to do `action` on `uri`: one shape for every check of a grant. */
export function grantRequest(
  realm: string,
  session: Grantee,
  action: Action,
  uri: string,
  match: MatchPolicy,
): AuthorizationRequest {
  return { realm, session: session.id, authid: session.authid, authrole: session.authrole, action, uri, match };
}

/** The text of the ERROR not_authorized answering a refused request. */
export function refusalText(check: AuthorizationRequest): string {
  return `${check.authrole} may not ${check.action} '${check.uri}'`;
}

export const allowAll: Authorizer = { authorize: () => true };
