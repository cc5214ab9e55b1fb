// Authentication on the security store: anonymous, ticket, wampcra, cryptosign, wamp-scram
// (also under Autobahn/Crossbar's name "scram"), trust-by-source, oauth2 (an access token of
// the realm's OAuth2 token endpoint, checked by the TokenChecker src/oauth2 provides; also
// accepted as a ticket, for clients that only know ticket), and tls (a client certificate the
// listener verified, naming the user by its subject CN).
//
// Negotiation: the client's authmethods are tried in its order; the first one the realm
// enables, that a source matching the client's address allows, and that the HELLO carries
// what it needs for (authid; cryptosign's pubkey; scram's nonce) is used. The choice never
// depends on whether the authid exists or what credentials it has, so the answer to a HELLO
// cannot tell an attacker which users exist: an unknown user gets a mock challenge (same
// salt every time for the same name) and fails at AUTHENTICATE like a wrong secret, with the
// same message. Whether the matching source covers this particular user is checked at the end.
//
// Sources: a realm without any source accepts its authmethods from everywhere, except
// "trust", which always needs an explicit source.

import crypto from 'node:crypto';
import type { Authenticate, Dict } from '../wamp/messages.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { AuthOutcome, Authenticator, HelloInfo, Identity } from '../router/auth.ts';
import { parsePeer, throttleKey, type PeerAddress } from './address.ts';
import {
  dummyTicketHash,
  hmacSha256,
  randomBase64,
  scramAuthMessage,
  verifyCryptosign,
  verifyScramProof,
  verifyTicket,
  verifyWampcra,
  type ScramDialect,
  type ScramKeys,
} from './hash.ts';
import {
  AUTH_METHODS,
  authroleOf,
  DEFAULT_ROLE,
  type AuthMethod,
  type RealmRecord,
  type UserRecord,
} from './records.ts';
import { performable } from './negotiation.ts';
import { scramAuthenticateConsistent, scramChallengeExtra, scramWelcomeExtra } from './scram-dialects.ts';
import { SourceRules } from './sources.ts';
import type { SecurityStore } from './store.ts';
import { AccountGuard, FailureThrottle, type ThrottleOptions } from './throttle.ts';
import { JWT_SHAPE, type TokenChecker } from './token-checker.ts';

export const AUTHPROVIDER = 'wampmesh';
const FAILED = 'authentication failed';

export interface StoreAuthenticatorOptions {
  /** Clock for the throttle, challenge deadlines and WAMP-CRA timestamps. */
  now?: () => number;
  /** A shared throttle, or the options of this authenticator's own. */
  throttle?: FailureThrottle | ThrottleOptions;
  /** Failures per account (realm and authid), whatever the address; see AccountGuard. */
  accountThrottle?: ThrottleOptions;
  /** AUTHENTICATE must come within this long after CHALLENGE (default 60 s). */
  challengeTimeoutMs?: number;
  /** For realms the store does not know (e.g. realms of the config file); default: refuse. */
  fallback?: Authenticator;
}

interface Attempt {
  readonly realm: RealmRecord;
  readonly address: PeerAddress;
  readonly key: string;
  readonly info: HelloInfo;
  /** The name the client used (WELCOME and CHALLENGE repeat it: Autobahn looks it up). */
  readonly offered: string;
  readonly method: AuthMethod;
}

export class StoreAuthenticator implements Authenticator {
  readonly store: SecurityStore;
  readonly throttle: FailureThrottle;
  readonly accounts: AccountGuard;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #fallback: Authenticator | undefined;
  readonly #sources: SourceRules;
  #dummyTicketHash: string | undefined;
  #mockSecret: Buffer | undefined;
  #tokens: TokenChecker | undefined;

  constructor(store: SecurityStore, options: StoreAuthenticatorOptions = {}) {
    this.store = store;
    this.#now = options.now ?? Date.now;
    this.throttle =
      options.throttle instanceof FailureThrottle
        ? options.throttle
        : new FailureThrottle({ now: this.#now, ...options.throttle });
    this.accounts = new AccountGuard({ now: this.#now, ...options.accountThrottle });
    this.#timeoutMs = options.challengeTimeoutMs ?? 60_000;
    this.#fallback = options.fallback;
    this.#sources = new SourceRules(store);
  }

  /** Enables the oauth2 method (the OAuth2 service is built after the authenticator). */
  setTokenChecker(tokens: TokenChecker | undefined): void {
    this.#tokens = tokens;
  }

  hello(info: HelloInfo): AuthOutcome {
    const realm = this.store.getRealm(info.realm.uri);
    if (realm === undefined) {
      if (this.#fallback !== undefined) return this.#fallback.hello(info);
      return abort(ErrorUri.NO_AUTH_METHOD, `realm '${info.realm.uri}' has no security configuration`);
    }
    if (!realm.allow_connections)
      return abort(ErrorUri.NOT_AUTHORIZED, `realm '${realm.uri}' does not accept new sessions`);
    const address = parsePeer(info.transport.peer);
    const key = throttleKey(address, info.transport.peer);
    const throttled = this.#throttled(realm.uri, info.authid, key);
    if (throttled !== undefined) return throttled;

    for (const offered of info.authmethods) {
      const method = (offered === 'scram' ? 'wamp-scram' : offered) as AuthMethod;
      if (!AUTH_METHODS.includes(method) || !realm.authmethods.includes(method)) continue;
      if (!this.#sources.offeredFrom(realm.uri, address, method) || !performable(method, info)) continue;
      const attempt: Attempt = { realm, address, key, info, offered, method };
      switch (method) {
        case 'anonymous':
          return this.#anonymous();
        case 'trust':
          return this.#trust(attempt);
        case 'ticket':
          return this.#ticket(attempt);
        case 'wampcra':
          return this.#wampcra(attempt);
        case 'cryptosign':
          return this.#cryptosign(attempt);
        case 'wamp-scram':
          return this.#scram(attempt);
        case 'oauth2':
          return this.#oauth2(attempt);
        case 'tls':
          return this.#tls(attempt);
      }
    }
    return abort(
      ErrorUri.NO_AUTH_METHOD,
      `realm '${realm.uri}' accepts none of the offered authmethods (${info.authmethods.join(', ') || 'none'}) from this address`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Methods

  #anonymous(): AuthOutcome {
    const identity: Identity = {
      authid: `anonymous-${crypto.randomBytes(8).toString('hex')}`,
      authrole: 'anonymous',
      authmethod: 'anonymous',
      authprovider: AUTHPROVIDER,
    };
    return { type: 'welcome', identity };
  }

  #trust(a: Attempt): AuthOutcome {
    return this.#finish(a, a.info.authid!, true);
  }

  #ticket(a: Attempt): AuthOutcome {
    const authid = a.info.authid!;
    const hash = this.store.userRecord(a.realm.uri, authid)?.credentials.ticket?.hash;
    return this.#challenge(a, {}, (msg) => {
      // Autobahn|Python's and Crossbar's clients know ticket, not oauth2: a token sent as the
      // ticket counts as oauth2 (the realm and a source must offer oauth2 for it). A ticket that
      // only looks like one (a password "a.b.c") is checked as the password it is.
      if (JWT_SHAPE.test(msg.signature) && a.realm.authmethods.includes('oauth2')) {
        const viaToken: Attempt = { ...a, method: 'oauth2' };
        const tokenUser = this.#tokenUser(viaToken, msg.signature);
        if (tokenUser !== undefined) return this.#finish(viaToken, tokenUser, true);
      }
      return this.throttle.inTurn(a.key, async () => {
        // Failures counted while this one waited for its turn.
        const throttled = this.#throttled(a.realm.uri, authid, a.key);
        if (throttled !== undefined) return throttled;
        // An unknown user costs the same hash as a known one.
        const ok = await verifyTicket(msg.signature, hash ?? this.#dummyHash());
        return this.#finish(a, authid, ok && hash !== undefined);
      });
    });
  }

  #wampcra(a: Attempt): AuthOutcome {
    const authid = a.info.authid!;
    const user = this.store.userRecord(a.realm.uri, authid);
    const cred = user?.credentials.wampcra;
    const h = this.store.hashing.wampcra;
    const salt = cred?.salt ?? this.#mockSalt('wampcra', a.realm.uri, authid);
    const key = cred?.key ?? randomBase64(32);
    // Spec: a JSON object with authid, authrole, authmethod, authprovider, nonce, timestamp
    // (and session, which this seam does not know before WELCOME).
    const challenge = JSON.stringify({
      authid,
      authrole: user === undefined ? DEFAULT_ROLE : authroleOf(user),
      authmethod: 'wampcra',
      authprovider: AUTHPROVIDER,
      nonce: randomBase64(24),
      timestamp: new Date(this.#now()).toISOString(),
    });
    const extra = { challenge, salt, iterations: cred?.iterations ?? h.iterations, keylen: cred?.keylen ?? h.keylen };
    return this.#challenge(a, extra, (msg) =>
      this.#finish(a, authid, verifyWampcra(key, challenge, msg.signature) && cred !== undefined),
    );
  }

  #cryptosign(a: Attempt): AuthOutcome {
    const pubkey = (a.info.authextra.pubkey as string).toLowerCase();
    const owner = this.store.userByPubkey(a.realm.uri, pubkey);
    // With an authid, the key must be that user's; without, the key names the user.
    const authid = a.info.authid ?? owner;
    const known = owner !== undefined && owner === authid;
    const challenge = crypto.randomBytes(32);
    const extra = { challenge: challenge.toString('hex'), channel_binding: null };
    return this.#challenge(a, extra, (msg) => {
      const ok = verifyCryptosign(pubkey, challenge, msg.signature);
      return this.#finish(a, authid ?? '', ok && known, (user) => user.pubkeys.includes(pubkey));
    });
  }

  #scram(a: Attempt): AuthOutcome {
    const authid = a.info.authid!;
    const dialect: ScramDialect = a.offered === 'scram' ? 'autobahn' : 'spec';
    const cred = this.store.userRecord(a.realm.uri, authid)?.credentials['wamp-scram'];
    const h = this.store.hashing.scram;
    const kdf = cred?.kdf ?? h.kdf;
    const salt = cred?.salt ?? this.#mockSalt('wamp-scram', a.realm.uri, authid);
    const iterations = cred?.iterations ?? (kdf === 'argon2id' ? h.argon2.iterations : h.pbkdf2Iterations);
    const memory = kdf === 'argon2id' ? (cred?.memory ?? h.argon2.memory) : undefined;
    const clientNonce = a.info.authextra.nonce as string;
    const serverNonce = clientNonce + randomBase64(18);
    const extra = scramChallengeExtra(dialect, { nonce: serverNonce, salt, kdf, iterations, memory });
    const keys: ScramKeys = cred?.[dialect] ?? { stored_key: randomBase64(32), server_key: randomBase64(32) };
    return this.#challenge(a, extra, (msg) => {
      const consistent = scramAuthenticateConsistent(msg.extra, serverNonce);
      const authMessage = scramAuthMessage({ authid, clientNonce, serverNonce, salt, iterations }, dialect);
      const serverSignature = verifyScramProof(keys, authMessage, msg.signature);
      const ok = serverSignature !== undefined && consistent && cred !== undefined;
      return this.#finish(a, authid, ok, undefined, scramWelcomeExtra(dialect, serverSignature));
    });
  }

  #oauth2(a: Attempt): AuthOutcome {
    return this.#challenge(a, {}, (msg) => {
      const authid = this.#tokenUser(a, msg.signature);
      return authid === undefined ? this.#fail(a) : this.#finish(a, authid, true);
    });
  }

  /**
   * The listener verified the certificate's chain; its CN names the user. A HELLO authid (MQTT's
   * user name) must be that user: a certificate proves one name, not any the client picks. An
   * unknown, disabled or uncovered user fails like a wrong secret, and is throttled like one.
   */
  #tls(a: Attempt): AuthOutcome {
    const cn = a.info.transport.certificate?.cn;
    if (cn === undefined || (a.info.authid !== undefined && a.info.authid !== cn)) return this.#fail(a);
    return this.#finish(a, cn, true);
  }

  /**
   * The user a good token names, if oauth2 is on offer from this address; an authid in the
   * HELLO must be that user.
   */
  #tokenUser(a: Attempt, token: string): string | undefined {
    const checked = this.#tokens?.check(a.realm.uri, token);
    if (checked === undefined || !checked.ok) return undefined;
    const authid = checked.identity.authid;
    if (a.info.authid !== undefined && a.info.authid !== authid) return undefined;
    return this.#sources.offeredFrom(a.realm.uri, a.address, 'oauth2') ? authid : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  /** Refused before any secret is looked at: the address's or the account's budget of failures is spent. */
  #throttled(realm: string, authid: string | undefined, key: string): AuthOutcome | undefined {
    if (!this.throttle.allowed(key))
      return abort(ErrorUri.AUTHENTICATION_FAILED, 'too many failed attempts from this address; try again later');
    // Asked for every name, existing or not, so the answer tells nothing about which users exist.
    if (authid !== undefined && !this.accounts.allowed(realm, authid, key))
      return abort(ErrorUri.AUTHENTICATION_FAILED, 'too many failed attempts for this account; try again later');
    return undefined;
  }

  #challenge(a: Attempt, extra: Dict, verify: (msg: Authenticate) => AuthOutcome | Promise<AuthOutcome>): AuthOutcome {
    const issued = this.#now();
    return {
      type: 'challenge',
      authmethod: a.offered,
      extra,
      pending: {
        authenticate: (msg) => {
          if (this.#now() - issued > this.#timeoutMs) return this.#fail(a);
          return verify(msg);
        },
      },
    };
  }

  /**
   * The secret (if any) checked out as `ok`: the user must still exist and be enabled (it may
   * have changed while the client answered) and a source for this address must cover it.
   */
  #finish(
    a: Attempt,
    authid: string,
    ok: boolean,
    extraCheck?: (user: UserRecord) => boolean,
    authextra?: Dict,
  ): AuthOutcome {
    if (!ok) return this.#fail(a);
    const user = this.store.userRecord(a.realm.uri, authid);
    if (
      user === undefined ||
      user.disabled === true ||
      (extraCheck !== undefined && !extraCheck(user)) ||
      !this.#sources.covers(a.realm.uri, a.address, a.method, user)
    )
      return this.#fail(a);
    this.accounts.succeeded(a.realm.uri, authid, a.key);
    const identity: Identity = {
      authid,
      authrole: authroleOf(user),
      authmethod: a.offered,
      authprovider: AUTHPROVIDER,
      ...(authextra !== undefined && { authextra }),
    };
    return { type: 'welcome', identity };
  }

  #fail(a: Attempt): AuthOutcome {
    this.throttle.failed(a.key);
    if (a.info.authid !== undefined) this.accounts.failed(a.realm.uri, a.info.authid);
    return abort(ErrorUri.AUTHENTICATION_FAILED, FAILED);
  }

  #dummyHash(): string {
    this.#dummyTicketHash ??= dummyTicketHash(this.store.hashing.ticket);
    return this.#dummyTicketHash;
  }

  /** A salt that is the same for the same (method, realm, authid), so mocks look like users. */
  #mockSalt(method: string, realm: string, authid: string): string {
    this.#mockSecret ??= this.store.mockSecret();
    return hmacSha256(this.#mockSecret, `${method}\0${realm}\0${authid}`).subarray(0, 16).toString('base64');
  }
}

function abort(reason: string, message: string): AuthOutcome {
  return { type: 'abort', reason, message };
}
