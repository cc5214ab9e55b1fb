// OAuth2 for the realms the config lists (`oauth2.realms`): the token, revocation and JWKS
// endpoints as functions of a request (mounted on HTTP by http.ts), the access token checker the
// WAMP authenticator (authmethod oauth2) and the HTTP gateway (Bearer) share, and the records
// that replicate over the mesh (a RecordSource).

import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { RecordSource } from '../mesh/replication/source.ts';
import type { StoreAuthenticator } from '../security/authenticator.ts';
import type { SecurityStore } from '../security/store.ts';
import type { Db } from '../store/database.ts';
import type { OAuth2Reply } from './errors.ts';
import type { EndpointRequest } from './form.ts';
import { revoke } from './revoke.ts';
import type { OAuth2RealmSettings, OAuth2Settings } from './settings.ts';
import { OAuth2Store } from './store.ts';
import { TokenEndpoint } from './token.ts';
import { TokenVerifier, type TokenCheck } from './verifier.ts';

export interface OAuth2Options {
  readonly db: Db;
  readonly security: { readonly store: SecurityStore; readonly authenticator: StoreAuthenticator };
  readonly settings: OAuth2Settings;
  /** Names this node in its public key record (the mesh node id, or "local"). */
  readonly nodeId: string;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export class OAuth2Service {
  readonly store: OAuth2Store;
  readonly verifier: TokenVerifier;
  readonly #realms: ReadonlyMap<string, OAuth2RealmSettings>;
  readonly #token: TokenEndpoint;
  readonly #now: () => number;

  constructor(options: OAuth2Options) {
    this.#now = options.now ?? Date.now;
    this.#realms = new Map(options.settings.realms.map((r) => [r.realm, r]));
    this.store = new OAuth2Store(options.db, { now: this.#now });
    // Created (and its public half published) at start, so every node's key is in the JWKS
    // before its first token.
    const signer = this.store.signingKey(options.nodeId);
    const { authenticator } = options.security;
    this.#token = new TokenEndpoint({
      security: options.security.store,
      tokens: this.store,
      throttle: authenticator.throttle,
      accounts: authenticator.accounts,
      signer: () => signer,
      now: this.#now,
      logger: options.logger ?? silentLogger,
    });
    this.verifier = new TokenVerifier({
      tokens: this.store,
      security: options.security.store,
      settings: (realm) => this.#realms.get(realm),
      now: this.#now,
    });
    authenticator.setTokenChecker(this.verifier);
  }

  /** The records to replicate (Replicator `sources`). */
  get recordSource(): RecordSource {
    return this.store.source;
  }

  settingsFor(realm: string): OAuth2RealmSettings | undefined {
    return this.#realms.get(realm);
  }

  /** POST /oauth2/{realm}/token. `undefined`: the realm has no OAuth2 (answer 404). */
  token(realm: string, req: EndpointRequest): Promise<OAuth2Reply> | undefined {
    const settings = this.#realms.get(realm);
    return settings === undefined ? undefined : this.#token.handle(settings, req);
  }

  /** POST /oauth2/{realm}/revoke. */
  revoke(realm: string, req: EndpointRequest): Promise<OAuth2Reply> | undefined {
    const settings = this.#realms.get(realm);
    if (settings === undefined) return undefined;
    return revoke(
      { tokens: this.store, checkClient: (r, c, peer) => this.#token.checkClient(r, c, peer), now: this.#now },
      settings,
      req,
    );
  }

  /** GET /oauth2/{realm}/jwks: every node's public key (any node's tokens verify anywhere). */
  jwks(realm: string): OAuth2Reply | undefined {
    if (!this.#realms.has(realm)) return undefined;
    // A new node's key must be seen within minutes; verifiers refetch on an unknown kid anyway.
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'public, max-age=300' },
      body: JSON.stringify({ keys: this.store.publicKeys().map((k) => k.jwk) }),
    };
  }

  /** The check the WAMP authenticator runs, for Bearer tokens (the gateway's verifier). */
  check(realm: string, token: string): TokenCheck {
    return this.verifier.check(realm, token);
  }
}
