// The security model (after Bondy's realm spec): realms, groups, users, grants and sources as
// the store keeps them and the admin API and export/import show them.

import type { Action } from '../router/auth.ts';
import type { MatchPolicy } from '../router/uri-table.ts';
import type { ScramCredential, WampcraCredential } from './hash.ts';

// oauth2: an access token of the realm's OAuth2 token endpoint (src/oauth2/) as the secret.
// tls: a client certificate the listener verified; its subject CN is the authid (no credential
// is stored: the listener's CA vouches, the realm and its sources say who may use it).
export const AUTH_METHODS = [
  'anonymous',
  'ticket',
  'wampcra',
  'cryptosign',
  'wamp-scram',
  'trust',
  'oauth2',
  'tls',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
/** Methods whose credential is derived from a password. */
export const PASSWORD_METHODS = ['ticket', 'wampcra', 'wamp-scram'] as const;
export type PasswordMethod = (typeof PASSWORD_METHODS)[number];
export const ACTIONS: readonly Action[] = ['call', 'register', 'subscribe', 'publish'];
export const MATCH_POLICIES: readonly MatchPolicy[] = ['exact', 'prefix', 'wildcard'];

/**
 * Who a grant or a source applies to: "all" (every session of the realm, anonymous ones
 * included), "anonymous" (sessions that joined with authmethod anonymous), "user:<authid>",
 * or "group:<name>" (the group's members, and members of groups nested in it).
 */
export type Principal = string;

export type Dict = Record<string, unknown>;

export interface RealmRecord {
  readonly uri: string;
  readonly description: string;
  /** The methods this realm accepts at all; sources narrow them down per address and user. */
  readonly authmethods: readonly AuthMethod[];
  /** false: every action is allowed (authentication still applies). */
  readonly security_enabled: boolean;
  /** false: new sessions are refused; established ones stay. */
  readonly allow_connections: boolean;
}

export interface GroupRecord {
  readonly name: string;
  readonly description: string;
  /** Groups this group is a member of: their grants apply to its members too. */
  readonly groups: readonly string[];
  readonly meta: Dict;
}

export interface Credentials {
  readonly ticket?: { readonly hash: string };
  readonly wampcra?: WampcraCredential;
  readonly 'wamp-scram'?: ScramCredential;
}

/** A user as stored and exported: only salted hashes and derived keys, never a password. */
export interface UserRecord {
  readonly authid: string;
  readonly groups: readonly string[];
  /** The authrole; must be one of the user's groups. Without it: the first group, else "user". */
  readonly role?: string;
  /** Ed25519 public keys (hex) for cryptosign. */
  readonly pubkeys: readonly string[];
  readonly meta: Dict;
  readonly credentials: Credentials;
  /** Refused at login, its sessions ended. Absent when false, so records of enabled users stay as they were. */
  readonly disabled?: boolean;
}

/** A user as get/list show it: which methods it has credentials for, no key material. */
export interface UserView {
  readonly authid: string;
  readonly groups: readonly string[];
  readonly role?: string;
  /** The authrole its sessions get. */
  readonly authrole: string;
  readonly pubkeys: readonly string[];
  readonly meta: Dict;
  readonly authmethods: readonly string[];
  readonly disabled?: boolean;
}

export interface GrantRecord {
  readonly id: number;
  readonly permissions: readonly Action[];
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly to: readonly Principal[];
}

export interface SourceRecord {
  readonly id: number;
  /** "any", "unix", or a CIDR block ("127.0.0.0/8", "::1/128"). */
  readonly cidr: string;
  readonly authmethods: readonly AuthMethod[];
  readonly to: readonly Principal[];
  readonly description: string;
}

export interface RealmDocument extends RealmRecord {
  readonly groups: readonly GroupRecord[];
  readonly users: readonly UserRecord[];
  readonly grants: readonly GrantRecord[];
  readonly sources: readonly SourceRecord[];
  /** HTTP API gateway specs (src/gateway/spec.ts; checked by document.ts). Exported only when there are any. */
  readonly apis?: readonly Record<string, unknown>[];
}

/** The whole configuration, as wampmesh.security.export gives it and import takes it. */
export interface SecurityDocument {
  readonly version: 1;
  readonly realms: readonly RealmDocument[];
}

export const DEFAULT_ROLE = 'user';

export function authroleOf(user: { groups: readonly string[]; role?: string | undefined }): string {
  return user.role ?? user.groups[0] ?? DEFAULT_ROLE;
}
