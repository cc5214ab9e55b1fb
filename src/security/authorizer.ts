// Authorization from grants. A request (action, uri, match) is allowed when one grant of the
// realm lists the action, is given to one of the session's principals, and covers the request.
//
// Principals of a session: "all"; for an anonymous session (authrole "anonymous") also
// "anonymous"; for a user of the store also "user:<authid>" and "group:<g>" for each of its
// groups and, transitively, every group those are nested in.
//
// "Covers" is set inclusion: a grant covers a request when every URI the request can ever
// touch is matched by the grant.
// - An exact request (CALL, PUBLISH, exact REGISTER/SUBSCRIBE) names one URI: covered by an
//   exact grant for that URI, a prefix grant it starts with, or a wildcard grant it matches.
// - A prefix request P (REGISTER/SUBSCRIBE with match prefix) stands for every URI starting
//   with P, of any length: covered only by a prefix grant G with P starting with G. A prefix
//   grant "com.app." covers a prefix registration "com.app.x"; an exact grant never does, nor
//   does a wildcard grant (its URIs have a fixed number of components).
// - A wildcard request W stands for every URI with W's components where W's are not empty:
//   covered by a wildcard grant with as many components, each empty or equal to W's (and
//   not empty in W); by a prefix grant that is a prefix of W's fixed leading part ("com.app."
//   for "com.app..x"); by an exact grant only when W has no empty component (one URI).
//
// Decisions are cached per session (checked against its realm, authid and authrole) and per
// (action, match, uri); any committed change to the store drops the cache, so a revoked grant
// applies to the very next action. Per session, so the hot path (CALL, PUBLISH: exact URIs)
// is two map lookups with no key to build.
// Realms with security disabled allow everything.

import type { AuthorizationRequest, Authorizer } from '../router/auth.ts';
import type { MatchPolicy } from '../router/uri-table.ts';
import type { GrantRecord } from './records.ts';
import type { SecurityStore } from './store.ts';

export interface UriPattern {
  readonly uri: string;
  readonly match: MatchPolicy;
}

/** Whether `uri`, a concrete URI, is matched by `pattern`. */
export function matchesUri(pattern: UriPattern, uri: string): boolean {
  switch (pattern.match) {
    case 'exact':
      return uri === pattern.uri;
    case 'prefix':
      return uri.startsWith(pattern.uri);
    case 'wildcard': {
      const g = pattern.uri.split('.');
      const parts = uri.split('.');
      return g.length === parts.length && g.every((p, i) => p === '' || p === parts[i]);
    }
  }
}

/** Whether every URI `request` can touch is matched by `grant` (see the header). */
export function covers(grant: UriPattern, request: UriPattern): boolean {
  switch (request.match) {
    case 'exact':
      return matchesUri(grant, request.uri);
    case 'prefix':
      return grant.match === 'prefix' && request.uri.startsWith(grant.uri);
    case 'wildcard': {
      const parts = request.uri.split('.');
      const first = parts.indexOf('');
      if (first < 0) return matchesUri(grant, request.uri);
      if (grant.match === 'exact') return false;
      if (grant.match === 'prefix')
        return parts
          .slice(0, first)
          .map((p) => `${p}.`)
          .join('')
          .startsWith(grant.uri);
      const g = grant.uri.split('.');
      return g.length === parts.length && g.every((p, i) => p === '' || (parts[i] !== '' && p === parts[i]));
    }
  }
}

export interface StoreAuthorizerOptions {
  /** For realms the store does not know (e.g. realms of the config file); default: deny. */
  fallback?: Authorizer;
  /** Cached decisions kept at most before the cache starts over (default 100 000). */
  maxCachedDecisions?: number;
}

interface CompiledGrant extends UriPattern {
  readonly actions: ReadonlySet<string>;
  readonly to: readonly string[];
}

/** One session's decisions: by URI for exact requests of each action, by a composite key for patterns. */
interface SessionDecisions {
  readonly realm: string;
  readonly authid: string;
  readonly authrole: string;
  readonly exact: Record<AuthorizationRequest['action'], Map<string, boolean>>;
  readonly patterns: Map<string, boolean>;
}
interface Policy {
  readonly enabled: boolean;
  readonly grants: readonly CompiledGrant[];
}

export class StoreAuthorizer implements Authorizer {
  readonly store: SecurityStore;
  readonly #fallback: Authorizer | undefined;
  readonly #max: number;
  readonly #bySession = new Map<number, SessionDecisions>();
  #cachedDecisions = 0;
  readonly #policies = new Map<string, Policy | null>();
  readonly #principals = new Map<string, ReadonlySet<string>>();
  readonly #unsubscribe: () => void;

  constructor(store: SecurityStore, options: StoreAuthorizerOptions = {}) {
    this.store = store;
    this.#fallback = options.fallback;
    this.#max = options.maxCachedDecisions ?? 100_000;
    this.#unsubscribe = store.subscribe(() => this.invalidate());
  }

  authorize(request: AuthorizationRequest): boolean {
    let mine = this.#bySession.get(request.session);
    // Session IDs are unique among live sessions only: an entry left by an ended session is
    // not another's, so the identity is checked on every hit.
    if (
      mine === undefined ||
      mine.realm !== request.realm ||
      mine.authid !== request.authid ||
      mine.authrole !== request.authrole
    ) {
      mine = {
        realm: request.realm,
        authid: request.authid,
        authrole: request.authrole,
        exact: { call: new Map(), publish: new Map(), register: new Map(), subscribe: new Map() },
        patterns: new Map(),
      };
      this.#bySession.set(request.session, mine);
    }
    const table = request.match === 'exact' ? mine.exact[request.action] : mine.patterns;
    const key = request.match === 'exact' ? request.uri : `${request.action}\u0000${request.match}\u0000${request.uri}`;
    const cached = table.get(key);
    if (cached !== undefined) return cached;
    const policy = this.#policy(request.realm);
    if (policy === null) return this.#fallback?.authorize(request) ?? false;
    const decision = policy.enabled ? this.#decide(policy, request) : true;
    if (this.#cachedDecisions >= this.#max) {
      // Full: start over (entries of ended sessions go too), keeping only this decision.
      this.#bySession.clear();
      this.#cachedDecisions = 0;
      for (const m of [mine.patterns, ...Object.values(mine.exact)]) m.clear();
      this.#bySession.set(request.session, mine);
    }
    this.#cachedDecisions++;
    table.set(key, decision);
    return decision;
  }

  /** Drops every cached decision (the store calls this on each change). */
  invalidate(): void {
    this.#bySession.clear();
    this.#cachedDecisions = 0;
    this.#policies.clear();
    this.#principals.clear();
  }

  /** Stops following the store. */
  close(): void {
    this.#unsubscribe();
  }

  #decide(policy: Policy, request: AuthorizationRequest): boolean {
    const principals = this.#principalsOf(request);
    return policy.grants.some(
      (g) => g.actions.has(request.action) && g.to.some((p) => principals.has(p)) && covers(g, request),
    );
  }

  #policy(realm: string): Policy | null {
    let policy = this.#policies.get(realm);
    if (policy === undefined) {
      const record = this.store.getRealm(realm);
      policy =
        record === undefined
          ? null
          : {
              enabled: record.security_enabled,
              grants: this.store
                .listGrants(realm)
                .map((g: GrantRecord) => ({ uri: g.uri, match: g.match, actions: new Set(g.permissions), to: g.to })),
            };
      this.#policies.set(realm, policy);
    }
    return policy;
  }

  #principalsOf(request: AuthorizationRequest): ReadonlySet<string> {
    const key = `${request.realm}\u0000${request.authid}\u0000${request.authrole}`;
    let set = this.#principals.get(key);
    if (set === undefined) {
      const out = new Set<string>(['all']);
      if (request.authrole === 'anonymous') {
        out.add('anonymous');
      } else {
        const user = this.store.userRecord(request.realm, request.authid);
        if (user !== undefined) {
          out.add(`user:${user.authid}`);
          for (const g of this.store.groupClosure(request.realm, user.groups)) out.add(`group:${g}`);
        }
      }
      if (this.#principals.size >= 10_000) this.#principals.clear();
      this.#principals.set(key, (set = out));
    }
    return set;
  }
}
