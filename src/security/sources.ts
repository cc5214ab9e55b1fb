// A realm's sources as the authenticator reads them: which methods are on offer from an address
// (to anyone, before the user is known), and whether a source covers a given user. Compiled
// once per store version: sources change rarely, logins are frequent.

import { parseCidr, type Cidr, type PeerAddress } from './address.ts';
import type { AuthMethod, UserRecord } from './records.ts';
import type { SecurityStore } from './store.ts';

interface CompiledSource {
  readonly cidr: Cidr;
  readonly authmethods: ReadonlySet<string>;
  readonly to: ReadonlySet<string>;
}

export class SourceRules {
  readonly #store: SecurityStore;
  #sources = new Map<string, CompiledSource[]>();
  #version = -1;

  constructor(store: SecurityStore) {
    this.#store = store;
  }

  /** Whether the method is on offer from this address at all (to anyone). */
  offeredFrom(realm: string, address: PeerAddress, method: AuthMethod): boolean {
    const sources = this.#compiled(realm);
    // A realm without any source accepts its methods from everywhere, except trust.
    if (sources === undefined) return method !== 'trust';
    return sources.some(
      (s) =>
        s.authmethods.has(method) &&
        s.cidr.matches(address) &&
        (method !== 'anonymous' || s.to.has('anonymous') || s.to.has('all')),
    );
  }

  /** Whether a source offers the method from this address to this user (or one of its groups). */
  covers(realm: string, address: PeerAddress, method: AuthMethod, user: UserRecord): boolean {
    const sources = this.#compiled(realm);
    if (sources === undefined) return method !== 'trust';
    const principals = [
      'all',
      `user:${user.authid}`,
      ...this.#store.groupClosure(realm, user.groups).map((g) => `group:${g}`),
    ];
    return sources.some(
      (s) => s.authmethods.has(method) && s.cidr.matches(address) && principals.some((p) => s.to.has(p)),
    );
  }

  #compiled(realm: string): CompiledSource[] | undefined {
    if (this.#version !== this.#store.version) {
      this.#sources = new Map();
      this.#version = this.#store.version;
    }
    let list = this.#sources.get(realm);
    if (list === undefined) {
      list = this.#store
        .listSources(realm)
        .map((s) => ({ cidr: parseCidr(s.cidr)!, authmethods: new Set(s.authmethods), to: new Set(s.to) }));
      this.#sources.set(realm, list);
    }
    return list.length === 0 ? undefined : list;
  }
}
