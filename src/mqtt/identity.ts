// Who an MQTT session is to the router: the HELLO it sends (a verified client certificate as
// the realm's tls authentication, MQTT's user name and password as its ticket authentication,
// or anonymous; a kept session's one-time resume token) and its answer to a CHALLENGE, the key
// its session is kept under, and the record that brings it back after a restart.

import { MessageType as T, type Dict, type Message, type Welcome } from '../wamp/messages.ts';
import type { SessionParams } from './link.ts';
import type { SessionRecord } from './persistence.ts';
import { RESUME_AUTHMETHOD } from './resume.ts';

const ROLES = { publisher: {}, subscriber: {}, caller: {} };

/**
 * With a password, ticket; a user name alone proves nothing, so without one: anonymous. A client
 * certificate the listener verified comes first (authmethod tls: the certificate's CN is the
 * user, and a user name, if given, must be that CN); where the realm does not take it, the
 * client logs in as it would without one.
 */
export function helloDetails(username: string | undefined, password: string | undefined, certified: boolean): Dict {
  const fallback = password === undefined ? 'anonymous' : 'ticket';
  const authmethods = certified ? ['tls', fallback] : [fallback];
  if (password === undefined && !certified) return { roles: ROLES, authmethods };
  return { roles: ROLES, authmethods, ...(username !== undefined && { authid: username }) };
}

export function resumeDetails(token: string, authid: string): Dict {
  return { roles: ROLES, authmethods: [RESUME_AUTHMETHOD], authid, authextra: { resume: token } };
}

/** The answer to a CHALLENGE: the password as the ticket; ABORT when it asks for anything else, or there is none. */
export function challengeAnswer(authmethod: string, password: string | undefined): Message {
  if (authmethod !== 'ticket' || password === undefined)
    return { type: T.ABORT, details: {}, reason: 'wamp.error.no_auth_method' };
  return { type: T.AUTHENTICATE, signature: password, extra: {} };
}

/** Keyed by identity: nobody can take over or resume another user's session by its client identifier. */
export function sessionKey(realm: string, welcome: Welcome, clientId: string): string {
  const identity = welcome.details.authmethod === 'anonymous' ? '' : String(welcome.details.authid ?? '');
  return `${realm}\u0000${identity}\u0000${clientId}`;
}

export function recordOf(welcome: Welcome, realm: string, p: SessionParams): SessionRecord {
  const d = welcome.details;
  return {
    realm,
    clientId: p.clientId,
    authid: String(d.authid ?? ''),
    authrole: String(d.authrole ?? ''),
    authmethod: String(d.authmethod ?? ''),
    authprovider: String(d.authprovider ?? ''),
    v5: p.v5,
    expiryMs: p.expiryMs,
    clientMaxPacket: Number.isFinite(p.clientMaxPacket) ? p.clientMaxPacket : 0,
    window: p.window,
  };
}
