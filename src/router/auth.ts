// The seams between the session state machine and security: who a client is (Authenticator)
// and what it may do (Authorizer). The core ships permissive defaults for tests and the
// embedded local setup; src/security implements them on the SQLite realm store.

import type { Authenticate, Dict } from '../wamp/messages.ts';
import type { TransportInfo } from './peer.ts';
import type { RealmConfig } from './realm.ts';
import type { MatchPolicy } from './uri-table.ts';

export interface HelloInfo {
  readonly realm: RealmConfig;
  readonly authid: string | undefined;
  /** HELLO.Details.authmethods, in the client's order of preference. */
  readonly authmethods: readonly string[];
  readonly authextra: Dict;
  readonly transport: TransportInfo;
}

export interface Identity {
  readonly authid: string;
  readonly authrole: string;
  readonly authmethod: string;
  readonly authprovider: string;
  readonly authextra?: Dict;
}

/** A CHALLENGE was sent; the client's AUTHENTICATE completes it. */
export interface PendingAuthentication {
  /**
   * A promise when the check takes long (a password hash on the thread pool): the session waits
   * for it while the router serves everyone else.
   */
  authenticate(message: Authenticate): AuthOutcome | Promise<AuthOutcome>;
}

export type AuthOutcome =
  | { readonly type: 'welcome'; readonly identity: Identity }
  | {
      readonly type: 'challenge';
      readonly authmethod: string;
      readonly extra: Dict;
      readonly pending: PendingAuthentication;
    }
  | { readonly type: 'abort'; readonly reason: string; readonly message: string };

export interface Authenticator {
  hello(info: HelloInfo): AuthOutcome;
}

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

let anonymousCounter = 0;

/** Realms with `anonymous: true` admit anyone offering "anonymous" (or no authmethods). */
export const anonymousAuthenticator: Authenticator = {
  hello(info) {
    if (!info.realm.anonymous || !info.authmethods.includes('anonymous')) {
      return {
        type: 'abort',
        reason: 'wamp.error.no_auth_method',
        message: `realm '${info.realm.uri}' accepts none of the offered authmethods`,
      };
    }
    if (!info.transport.local && info.realm.anonymousFrom !== 'anywhere') {
      return {
        type: 'abort',
        reason: 'wamp.error.no_auth_method',
        message: `realm '${info.realm.uri}' admits anonymous sessions from loopback only`,
      };
    }
    anonymousCounter = (anonymousCounter + 1) % Number.MAX_SAFE_INTEGER;
    const authid = `anonymous-${Date.now().toString(36)}-${anonymousCounter.toString(36)}`;
    return {
      type: 'welcome',
      identity: { authid, authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static' },
    };
  },
};

export const allowAll: Authorizer = { authorize: () => true };
