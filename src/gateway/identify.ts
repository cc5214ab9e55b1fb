// Who an HTTP request is, as a WAMP session of the API's realm: `Authorization: Bearer` (a
// token the BearerVerifier accepts), `Authorization: Basic` (a ticket user's name and
// password, checked by the realm's own authenticator at HELLO), or nobody (anonymous, where
// the realm admits anonymous sessions from this address). Failures from an address are
// counted (security/throttle.ts): past the budget, 429 before anything is checked.

import crypto from 'node:crypto';
import type { TransportInfo } from '../router/peer.ts';
import { parsePeer, throttleKey } from '../security/address.ts';
import type { FailureThrottle } from '../security/throttle.ts';
import type { HttpHead } from '../transport/http-exchange.ts';
import { isBearerRefusal, type BearerVerifier } from './bearer.ts';
import type { Credentials } from './client.ts';
import { GatewayErrorUri } from './errors.ts';
import type { SessionPool, Opened } from './sessions.ts';
import type { ApiSpec } from './spec.ts';

export interface Refused {
  readonly refused: string;
  readonly message: string;
  /** RFC 6750 error code for WWW-Authenticate (a bearer token was sent and refused). */
  readonly bearerError?: string;
}

export interface IdentifyDeps {
  readonly pool: SessionPool;
  readonly throttle: FailureThrottle;
  readonly bearer?: BearerVerifier | undefined;
  readonly anonymous: AnonymousLogins;
}

/** What a request logs in with: pool key, credentials and transport for its session. */
export type Login = { readonly key: string; readonly credentials: Credentials; readonly info: TransportInfo } | Refused;

export function transportOf(head: HttpHead): TransportInfo {
  return { type: 'http', peer: head.remote, local: head.local };
}

const ANONYMOUS: Credentials = { kind: 'anonymous' };

// Addresses remembered per realm; past this many that realm's memory starts again, so a client
// naming endless addresses costs a login made each time, never memory.
const REMEMBERED_ADDRESSES = 1024;

/**
 * The logins of anonymous requests, one per realm and client address, made once: most requests
 * are anonymous ones from an address seen before, and their login (pool key, credentials,
 * transport) is the same each time. The logins are shared: nobody changes them.
 */
export class AnonymousLogins {
  readonly #byRealm = new Map<string, Map<string, Exclude<Login, Refused>>>();

  get(realm: string, head: HttpHead): Exclude<Login, Refused> {
    let byAddress = this.#byRealm.get(realm);
    if (byAddress === undefined) this.#byRealm.set(realm, (byAddress = new Map()));
    let login = byAddress.get(head.remote);
    if (login === undefined || login.info.local !== head.local) {
      if (byAddress.size >= REMEMBERED_ADDRESSES) byAddress.clear();
      // Anonymous admission depends on the address (anonymousFrom, sources): one session per address.
      login = { key: `anonymous|${realm}|${head.remote}`, credentials: ANONYMOUS, info: transportOf(head) };
      byAddress.set(head.remote, login);
    }
    return login;
  }
}

const digest = (s: string): string => crypto.createHash('sha256').update(s).digest('base64url');

/**
 * Reads the Authorization header against the API's ways in. At once, except for a bearer token,
 * whose verification may take a promise: a request without one takes no promise hop here.
 */
export function loginFor(head: HttpHead, spec: ApiSpec, deps: IdentifyDeps): Login | Promise<Login> {
  const auth = head.headers.authorization;
  if (auth === undefined) {
    if (!spec.auth.includes('anonymous'))
      return { refused: GatewayErrorUri.NOT_AUTHENTICATED, message: 'credentials required' };
    return deps.anonymous.get(spec.realm, head);
  }
  const info = transportOf(head);
  // Only a request that presents credentials can fail authentication: only it is throttled.
  const address = throttleKey(parsePeer(head.remote), head.remote);
  if (!deps.throttle.allowed(address))
    return {
      refused: GatewayErrorUri.TOO_MANY_REQUESTS,
      message: 'too many failed attempts from this address; try again later',
    };
  const space = auth.indexOf(' ');
  const scheme = (space < 0 ? auth : auth.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : auth.slice(space + 1).trim();
  if (scheme === 'bearer' && spec.auth.includes('bearer')) {
    if (deps.bearer === undefined)
      return {
        refused: 'wamp.error.authentication_failed',
        message: 'bearer tokens are not accepted here',
        bearerError: 'invalid_token',
      };
    return bearerLogin(deps.bearer, spec.realm, value, { address, info, throttle: deps.throttle });
  }
  if (scheme === 'basic' && spec.auth.includes('basic')) {
    const text = Buffer.from(value, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) return { refused: 'wamp.error.authentication_failed', message: 'malformed Basic credentials' };
    const authid = text.slice(0, colon);
    const ticket = text.slice(colon + 1);
    // The password's digest in the key: another password for the same user is another login
    // (and is checked); the password itself is not kept.
    return {
      key: `basic|${spec.realm}|${head.remote}|${authid}|${digest(`${authid}\0${ticket}`)}`,
      credentials: { kind: 'ticket', authid, ticket },
      info,
    };
  }
  return { refused: GatewayErrorUri.NOT_AUTHENTICATED, message: `the ${scheme} scheme is not accepted here` };
}

/** A bearer token's login: the identity it asserts, or why it was refused (counted as a failure). */
async function bearerLogin(
  bearer: BearerVerifier,
  realm: string,
  token: string,
  from: { address: string; info: TransportInfo; throttle: FailureThrottle },
): Promise<Login> {
  const who = await bearer(realm, token);
  if (isBearerRefusal(who)) {
    from.throttle.failed(from.address);
    return {
      refused: who.status === 403 ? 'wamp.error.not_authorized' : who.error,
      message: who.description ?? 'the token was refused',
      bearerError: who.status === 403 ? 'insufficient_scope' : 'invalid_token',
    };
  }
  return {
    key: `bearer|${realm}|${who.authid}|${who.authrole}`,
    credentials: { kind: 'asserted' },
    info: { ...from.info, asserted: { authid: who.authid, authrole: who.authrole, authmethod: 'oauth2' } },
  };
}

/** The session for a login, from the pool (or dedicated); failures are counted. */
export async function sessionFor(
  login: Exclude<Login, Refused>,
  head: HttpHead,
  realm: string,
  deps: IdentifyDeps,
  open: (login: Exclude<Login, Refused>) => Promise<Opened> = (l) => deps.pool.get(l.key, realm, l.info, l.credentials),
): Promise<Exclude<Opened, { abort: string }> | Refused> {
  const opened = await open(login);
  if (!('abort' in opened)) return opened;
  const address = throttleKey(parsePeer(head.remote), head.remote);
  if (opened.abort === 'wamp.error.authentication_failed') deps.throttle.failed(address);
  // The realm's authenticator throttles too, and says so in its message.
  const throttled = opened.message.startsWith('too many failed attempts');
  return { refused: throttled ? GatewayErrorUri.TOO_MANY_REQUESTS : opened.abort, message: opened.message };
}
