// A persistent MQTT session brought back at start has no client to log in for it: the MQTT
// side asks for a one-time token (kept in memory only, never on the wire) and the session's
// HELLO presents it; this authenticator, wrapped around the router's, admits that HELLO as the
// identity the session had, after `check` has confirmed it still may (the user exists and is
// enabled, the realm still admits anonymous sessions) and taken today's role. Every other
// HELLO goes to the router's own authenticator unchanged.

import { randomBytes } from 'node:crypto';
import type { AuthOutcome, Authenticator, Identity } from '../router/auth.ts';
import type { RealmConfig } from '../router/realm.ts';
import { ErrorUri } from '../wamp/uris.ts';

/** The authmethod a restored session offers; only MQTT sessions of this process can hold a token. */
export const RESUME_AUTHMETHOD = 'x-wampmesh-mqtt-resume';

/** The identity as it stands today, or why the session may not come back. */
export type ResumeCheck = (realm: RealmConfig, identity: Identity) => Identity | { refused: string };

export class ResumeTokens {
  readonly #tokens = new Map<string, { realm: string; identity: Identity }>();

  issue(realm: string, identity: Identity): string {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, { realm, identity });
    return token;
  }

  /** The token's identity, once: a token is spent by the HELLO that shows it, whatever follows. */
  take(token: string, realm: string): Identity | undefined {
    const entry = this.#tokens.get(token);
    this.#tokens.delete(token);
    return entry?.realm === realm ? entry.identity : undefined;
  }
}

export function resumingAuthenticator(inner: Authenticator, tokens: ResumeTokens, check: ResumeCheck): Authenticator {
  return {
    hello(info): AuthOutcome {
      if (info.transport.type !== 'mqtt' || info.authmethods[0] !== RESUME_AUTHMETHOD) return inner.hello(info);
      const token = info.authextra.resume;
      const identity = typeof token === 'string' ? tokens.take(token, info.realm.uri) : undefined;
      if (identity === undefined)
        return { type: 'abort', reason: ErrorUri.AUTHENTICATION_FAILED, message: 'no such session to resume' };
      const today = check(info.realm, identity);
      if ('refused' in today) return { type: 'abort', reason: ErrorUri.NOT_AUTHORIZED, message: today.refused };
      return { type: 'welcome', identity: today };
    },
  };
}
