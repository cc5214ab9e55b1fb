// The seams between the session state machine and security: who a client is (Authenticator)
// and what it may do (Authorizer). The core ships permissive defaults for tests and the
// embedded local setup; src/security implements them on the SQLite realm store.

import type { Authenticate, Dict } from '../wamp/messages.ts';
import type { TransportInfo } from './peer.ts';
import type { RealmConfig } from './realm.ts';

// Authorization (grants) is authorization.ts; re-exported here for the modules that take both.
export { allowAll, grantRequest, refusalText } from './authorization.ts';
export type { Action, AuthorizationRequest, Authorizer, Grantee } from './authorization.ts';

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
