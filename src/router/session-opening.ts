// Opening a session (session.ts), spec "Session Establishment" and "Authentication": HELLO
// checked, the authenticator asked, a CHALLENGE and its AUTHENTICATE, until the session is
// welcomed or refused. Each step says what the session does next; the session does it.

import type { Authenticate, Dict, Hello } from '../wamp/messages.ts';
import { isDict } from '../wamp/parse.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { AuthOutcome, Authenticator, Identity, PendingAuthentication } from './auth.ts';
import { clientRoleNames, routerRoles } from './features.ts';
import { authMethodIndex } from './metrics.ts';
import type { TransportInfo } from './peer.ts';
import type { Realm } from './realm.ts';

export type OpeningStep =
  /** ABORT; `delayed`: a failed secret, answered only after the authentication failure delay. */
  | { readonly kind: 'abort'; readonly reason: string; readonly message: string; readonly delayed: boolean }
  | { readonly kind: 'challenge'; readonly authmethod: string; readonly extra: Dict }
  | { readonly kind: 'welcome'; readonly realm: Realm; readonly roles: Dict; readonly identity: Identity };

export class SessionOpening {
  readonly #ctx: { realm(uri: string): Realm | undefined; readonly authenticator: Authenticator };
  readonly #transport: TransportInfo;
  #pendingAuth: { realm: Realm; roles: Dict; pending: PendingAuthentication } | undefined;
  /** The authentication method tried, for the failure counter. */
  #authMethod = 'anonymous';

  constructor(
    ctx: { realm(uri: string): Realm | undefined; readonly authenticator: Authenticator },
    transport: TransportInfo,
  ) {
    this.#ctx = ctx;
    this.#transport = transport;
  }

  hello(msg: Hello): OpeningStep {
    const realm = this.#ctx.realm(msg.realm);
    if (realm === undefined) return abort(ErrorUri.NO_SUCH_REALM, `no realm '${msg.realm}'`);
    const { roles, authmethods, authid, authextra } = msg.details;
    if (!isDict(roles) || !clientRoleNames.some((r) => isDict(roles[r]))) {
      return abort(
        ErrorUri.PROTOCOL_VIOLATION,
        `HELLO.Details.roles must announce at least one of ${clientRoleNames.join(', ')}`,
      );
    }
    if (authmethods !== undefined && !(Array.isArray(authmethods) && authmethods.every((m) => typeof m === 'string'))) {
      return abort(ErrorUri.PROTOCOL_VIOLATION, 'HELLO.Details.authmethods must be a list of strings');
    }
    if (authid !== undefined && typeof authid !== 'string')
      return abort(ErrorUri.PROTOCOL_VIOLATION, 'HELLO.Details.authid must be a string');
    if (authextra !== undefined && !isDict(authextra))
      return abort(ErrorUri.PROTOCOL_VIOLATION, 'HELLO.Details.authextra must be a dict');
    this.#authMethod = authmethods?.[0] ?? 'anonymous';
    const outcome = this.#ctx.authenticator.hello({
      realm: realm.config,
      authid,
      authmethods: authmethods ?? ['anonymous'],
      authextra: authextra ?? {},
      transport: this.#transport,
    });
    return this.#proceed(outcome, realm, roles);
  }

  /** A CHALLENGE waits for its AUTHENTICATE (not while the one that came is being checked). */
  get challenged(): boolean {
    return this.#pendingAuth !== undefined;
  }

  /** A promise when the authenticator's check is one (a password hash): the session waits for it. */
  authenticate(msg: Authenticate): OpeningStep | Promise<OpeningStep> {
    const state = this.#pendingAuth!;
    this.#pendingAuth = undefined;
    const outcome = state.pending.authenticate(msg);
    if (outcome instanceof Promise) return outcome.then((o) => this.#proceed(o, state.realm, state.roles));
    return this.#proceed(outcome, state.realm, state.roles);
  }

  #proceed(outcome: AuthOutcome, realm: Realm, roles: Dict): OpeningStep {
    if (outcome.type === 'abort') {
      realm.counters.authFailures[authMethodIndex(this.#authMethod)]!++;
      return {
        kind: 'abort',
        reason: outcome.reason,
        message: outcome.message,
        delayed: outcome.reason === ErrorUri.AUTHENTICATION_FAILED,
      };
    }
    if (outcome.type === 'challenge') {
      this.#authMethod = outcome.authmethod;
      this.#pendingAuth = { realm, roles, pending: outcome.pending };
      return { kind: 'challenge', authmethod: outcome.authmethod, extra: outcome.extra };
    }
    // The realm may have been deleted while the client was authenticating.
    if (this.#ctx.realm(realm.uri) !== realm) return abort(ErrorUri.NO_SUCH_REALM, `no realm '${realm.uri}'`);
    return { kind: 'welcome', realm, roles, identity: outcome.identity };
  }
}

/** WELCOME.Details: who the client is now, and the roles and features of the router. */
export function welcomeDetails(realm: string, identity: Identity): Dict {
  const details: Dict = {
    realm,
    authid: identity.authid,
    authrole: identity.authrole,
    authmethod: identity.authmethod,
    authprovider: identity.authprovider,
    roles: routerRoles,
  };
  if (identity.authextra !== undefined) details.authextra = identity.authextra;
  return details;
}

function abort(reason: string, message: string): OpeningStep {
  return { kind: 'abort', reason, message, delayed: false };
}
