// Admin calls that would (mostly) succeed on the store's current state, for the admin API fuzz
// (test/security/admin-fuzz.test.ts) to send as they are or mutated.

import {
  ADMIN_REALM,
  AUTH_METHODS,
  PASSWORD_METHODS,
  type RealmDocument,
  type SecurityDocument,
} from '../../src/security/index.ts';
import type { Rng } from '../helpers/fuzz-input.ts';

const PROCEDURES = [
  'wampmesh.realm.create',
  'wampmesh.realm.list',
  'wampmesh.realm.get',
  'wampmesh.realm.update',
  'wampmesh.realm.delete',
  'wampmesh.user.create',
  'wampmesh.user.list',
  'wampmesh.user.get',
  'wampmesh.user.update',
  'wampmesh.user.delete',
  'wampmesh.group.create',
  'wampmesh.group.list',
  'wampmesh.group.get',
  'wampmesh.group.update',
  'wampmesh.group.delete',
  'wampmesh.grant.create',
  'wampmesh.grant.list',
  'wampmesh.grant.get',
  'wampmesh.grant.delete',
  'wampmesh.source.create',
  'wampmesh.source.list',
  'wampmesh.source.get',
  'wampmesh.source.delete',
  'wampmesh.security.export',
  'wampmesh.security.import',
] as const;
export type Procedure = (typeof PROCEDURES)[number];

/** Creates weigh more, so that state builds up for the other calls to work on. */
const WEIGHTS: Partial<Record<Procedure, number>> = {
  'wampmesh.realm.create': 3,
  'wampmesh.user.create': 5,
  'wampmesh.group.create': 5,
  'wampmesh.grant.create': 4,
  'wampmesh.source.create': 3,
  'wampmesh.user.update': 3,
  'wampmesh.group.update': 4,
  'wampmesh.security.import': 4,
};
const WEIGHTED: readonly Procedure[] = PROCEDURES.flatMap((p) => Array.from({ length: WEIGHTS[p] ?? 1 }, () => p));

export interface Call {
  procedure: Procedure;
  args: unknown[];
  kwargs?: Record<string, unknown>;
}
export type Dict = Record<string, unknown>;

const CIDRS = [
  'any',
  'unix',
  '10.0.0.0/8',
  '192.168.1.0/24',
  '127.0.0.1/32',
  '::1/128',
  'fd00::/8',
  '0.0.0.0/0',
  '10.0.0.1/33',
  '::ffff:10.0.0.0/104',
];
const GRANT_URIS = [
  'com.app',
  'com.app.',
  'com.app.echo',
  '',
  'com..x',
  'com.app.*',
  'wamp.session.count',
  'wampmesh.',
  'com.#',
  'a b',
];

function subset<T>(rng: Rng, items: readonly T[], min = 0): T[] {
  const out = items.filter(() => rng.chance(0.4));
  while (out.length < min && items.length > 0) out.push(rng.pick(items));
  return [...new Set(out)];
}

const hex64 = (rng: Rng): string => Buffer.from(rng.bytes(32)).toString('hex');

/** Builds calls from a seed's random source; names it makes up are fresh within the seed. */
export class CallBuilder {
  readonly rng: Rng;
  fresh = 0;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  #name(prefix: string): string {
    return `${prefix}${++this.fresh}`;
  }

  /** A realm to act on: mostly the fuzz's own, now and then the admin realm or one that is not there. */
  #realm(doc: SecurityDocument, forWrite: boolean): RealmDocument | undefined {
    const own = doc.realms.filter((r) => r.uri !== ADMIN_REALM);
    const r = this.rng.next();
    if (r < 0.05) return undefined;
    if (r < (forWrite ? 0.08 : 0.2) || own.length === 0) return doc.realms.find((x) => x.uri === ADMIN_REALM);
    return this.rng.pick(own);
  }

  #realmUri(realm: RealmDocument | undefined): string {
    return realm?.uri ?? 'com.fuzz.missing';
  }

  #groupOf(realm: RealmDocument | undefined): string {
    const names = realm?.groups.map((g) => g.name) ?? [];
    return names.length > 0 && this.rng.chance(0.85)
      ? this.rng.pick(names)
      : this.rng.pick(['nogroup', 'admin', this.#name('g')]);
  }

  #userOf(realm: RealmDocument | undefined): string {
    const names = realm?.users.map((u) => u.authid) ?? [];
    return names.length > 0 && this.rng.chance(0.85)
      ? this.rng.pick(names)
      : this.rng.pick(['nobody', 'admin', this.#name('u')]);
  }

  #principals(realm: RealmDocument | undefined, min: number): string[] {
    const pool = [
      'all',
      'anonymous',
      ...(realm?.groups.map((g) => `group:${g.name}`) ?? []),
      ...(realm?.users.map((u) => `user:${u.authid}`) ?? []),
    ];
    if (this.rng.chance(0.1)) pool.push('group:missing', 'user:missing');
    return subset(this.rng, pool, min);
  }

  #realmFields(): Dict {
    const f: Dict = {};
    if (this.rng.chance(0.5)) f.description = this.rng.pick(['', 'a realm', 'é😀']);
    if (this.rng.chance(0.3)) f.security_enabled = this.rng.chance(0.5);
    if (this.rng.chance(0.2)) f.allow_connections = this.rng.chance(0.7);
    return f;
  }

  #userFields(realm: RealmDocument | undefined, create: boolean): Dict {
    const rng = this.rng;
    const f: Dict = {};
    const groups = realm?.groups.map((g) => g.name) ?? [];
    if (create || rng.chance(0.5)) f.groups = subset(rng, groups);
    if (rng.chance(0.2) && Array.isArray(f.groups) && f.groups.length > 0) f.role = rng.pick(f.groups as string[]);
    if (rng.chance(0.2)) {
      const taken = realm?.users.flatMap((u) => u.pubkeys) ?? [];
      f.pubkeys = [taken.length > 0 && rng.chance(0.3) ? rng.pick(taken) : hex64(rng)];
    }
    if (rng.chance(0.2)) f.meta = { team: 'a', n: rng.int(10), nested: { list: [1, 'x', null] } };
    if (rng.chance(0.5)) {
      f.password = `pw-${rng.int(1e6)}-long`;
      if (rng.chance(0.4)) f.password_methods = subset(rng, PASSWORD_METHODS, 1);
      if (rng.chance(0.1)) f.wampcra = { iterations: 1000, keylen: 32 };
      if (rng.chance(0.1))
        f.scram = rng.chance(0.5)
          ? { kdf: 'argon2id', iterations: 1, memory: 1024 }
          : { kdf: 'pbkdf2', iterations: 4096 };
    } else if (rng.chance(0.3)) {
      // Derived credentials from another user's export.
      const others = realm?.users.filter((u) => Object.keys(u.credentials).length > 0) ?? [];
      if (others.length > 0) f.credentials = structuredClone(rng.pick(others).credentials);
    }
    if (rng.chance(0.1)) f.disabled = rng.chance(0.5);
    return f;
  }

  #explicitId(taken: readonly { id: number }[]): number {
    if (taken.length > 0 && this.rng.chance(0.3)) return this.rng.pick(taken).id;
    return this.rng.pick([1_000 + this.rng.int(1_000), 2 ** 31, 2 ** 52, Number.MAX_SAFE_INTEGER - this.rng.int(3)]);
  }

  /** A call that would (mostly) succeed on the current state. */
  validCall(doc: SecurityDocument): Call {
    const rng = this.rng;
    const procedure = rng.pick(WEIGHTED);
    const writes = !procedure.endsWith('.list') && !procedure.endsWith('.get') && !procedure.endsWith('.export');
    const realm = this.#realm(doc, writes);
    const uri = this.#realmUri(realm);
    const groups = realm?.groups.map((g) => g.name) ?? [];
    const idOf = (list: readonly { id: number }[] | undefined) =>
      list !== undefined && list.length > 0 && rng.chance(0.85) ? rng.pick(list).id : rng.pick([1, 2, 999_999]);
    switch (procedure) {
      case 'wampmesh.realm.create': {
        const name = rng.chance(0.9) ? this.#name('com.fuzz.r') : rng.pick(doc.realms).uri;
        return {
          procedure,
          args: [{ uri: name, authmethods: subset(rng, [...AUTH_METHODS, 'scram'], 1), ...this.#realmFields() }],
        };
      }
      case 'wampmesh.realm.update': {
        const patch = this.#realmFields();
        if (rng.chance(0.5)) patch.authmethods = subset(rng, AUTH_METHODS, 1);
        return { procedure, args: [uri, patch] };
      }
      case 'wampmesh.realm.list':
      case 'wampmesh.security.export':
        return { procedure, args: [] };
      case 'wampmesh.realm.get':
      case 'wampmesh.realm.delete':
      case 'wampmesh.user.list':
      case 'wampmesh.group.list':
      case 'wampmesh.grant.list':
      case 'wampmesh.source.list':
        return { procedure, args: [uri] };
      case 'wampmesh.user.create': {
        const authid = rng.chance(0.85) ? this.#name('user') : this.#userOf(realm);
        return { procedure, args: [uri, { authid, ...this.#userFields(realm, true) }] };
      }
      case 'wampmesh.user.update': {
        const patch = this.#userFields(realm, false);
        if (rng.chance(0.1)) patch.role = null;
        return { procedure, args: [uri, this.#userOf(realm), patch] };
      }
      case 'wampmesh.user.get':
      case 'wampmesh.user.delete':
        return { procedure, args: [uri, this.#userOf(realm)] };
      case 'wampmesh.group.create': {
        const name = rng.chance(0.85) ? this.#name('grp') : this.#groupOf(realm);
        const fields: Dict = { name, groups: subset(rng, groups) };
        if (rng.chance(0.3)) fields.description = 'a group';
        if (rng.chance(0.2)) fields.meta = { level: rng.int(5) };
        return { procedure, args: [uri, fields] };
      }
      case 'wampmesh.group.update': {
        const name = this.#groupOf(realm);
        // Often a parent nested in `name` already, or `name` itself: a cycle.
        const below = realm?.groups.filter((g) => g.groups.includes(name)).map((g) => g.name) ?? [];
        const parents =
          rng.chance(0.4) && below.length > 0 ? [rng.pick(below)] : rng.chance(0.1) ? [name] : subset(rng, groups);
        const patch: Dict = { groups: parents };
        if (rng.chance(0.3)) patch.description = 'changed';
        if (rng.chance(0.2)) patch.meta = {};
        return { procedure, args: [uri, name, patch] };
      }
      case 'wampmesh.group.get':
      case 'wampmesh.group.delete':
        return { procedure, args: [uri, this.#groupOf(realm)] };
      case 'wampmesh.grant.create': {
        const fields: Dict = {
          permissions: subset(rng, ['call', 'register', 'subscribe', 'publish'], 1),
          uri: rng.pick(GRANT_URIS),
          match: rng.pick(['exact', 'prefix', 'wildcard']),
          to: this.#principals(realm, 1),
        };
        // Explicit ids (as imports keep them): taken ones, and ones near the top of the range.
        if (rng.chance(0.1)) fields.id = this.#explicitId(doc.realms.flatMap((r) => r.grants));
        return { procedure, args: [uri, fields] };
      }
      case 'wampmesh.grant.get':
      case 'wampmesh.grant.delete':
        return { procedure, args: [uri, idOf(realm?.grants)] };
      case 'wampmesh.source.create': {
        const fields: Dict = {
          cidr: rng.pick(CIDRS),
          authmethods: subset(rng, AUTH_METHODS, 1),
          to: this.#principals(realm, 1),
        };
        if (rng.chance(0.3)) fields.description = 'from somewhere';
        if (rng.chance(0.1)) fields.id = this.#explicitId(doc.realms.flatMap((r) => r.sources));
        return { procedure, args: [uri, fields] };
      }
      case 'wampmesh.source.get':
      case 'wampmesh.source.delete':
        return { procedure, args: [uri, idOf(realm?.sources)] };
      case 'wampmesh.security.import':
        return { procedure, args: [this.#importDocument(doc)] };
    }
  }

  /** The current export, changed the way an operator might (or a broken tool would). */
  #importDocument(doc: SecurityDocument): unknown {
    const rng = this.rng;
    const d = structuredClone(doc) as unknown as { version: unknown; realms: Dict[] };
    const realms = d.realms as unknown as {
      uri: string;
      groups: Dict[];
      users: Dict[];
      grants: Dict[];
      sources: Dict[];
    }[];
    const own = realms.filter((r) => r.uri !== ADMIN_REALM);
    const target = own.length > 0 ? rng.pick(own) : undefined;
    switch (rng.int(10)) {
      case 0:
        break; // as exported: must be accepted
      case 1:
        realms.push({
          uri: this.#name('com.fuzz.imported'),
          authmethods: ['ticket'],
          users: [{ authid: 'new', password: 'a new password' }],
        } as never);
        break;
      case 2:
        if (target !== undefined) realms.splice(realms.indexOf(target), 1);
        break;
      case 3: // a cycle
        if (target !== undefined && target.groups.length > 0) {
          const a = rng.pick(target.groups);
          const b = rng.pick(target.groups);
          a.groups = [b.name];
          b.groups = [a.name];
        }
        break;
      case 4: // a reference to a group that is gone
        if (target !== undefined && target.groups.length > 0) target.groups.splice(rng.int(target.groups.length), 1);
        break;
      case 5: // duplicates
        if (target !== undefined && target.users.length > 0) target.users.push(structuredClone(rng.pick(target.users)));
        else realms.push(structuredClone(rng.pick(realms)));
        break;
      case 6: // the same grant id in two realms, or an id out of range
        if (target !== undefined && target.grants.length > 0)
          rng.pick(target.grants).id = rng.pick([1, 0, -1, 2 ** 53, 1.5]);
        break;
      case 7:
        d.realms = realms.filter((r) => r.uri !== ADMIN_REALM);
        break;
      case 8:
        if (target !== undefined) (target as Dict).uri = rng.pick(['com.known', ADMIN_REALM, 'bad uri', '']);
        break;
      default:
        d.version = rng.pick([2, '1', 0, null]);
    }
    return d;
  }
}
