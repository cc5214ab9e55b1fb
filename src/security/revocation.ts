// When a change to a user must end the sessions authenticated as that user. A session proved
// a secret once, at login: when that secret stops letting anyone in, the session must not
// outlive it. A change that only adds a way in (a first password for a user that had none,
// one more public key) ends nothing, so keys can be rotated add-then-remove without a
// reconnect. Groups and role end nothing either: grants are checked on every action.

import type { Credentials, UserRecord } from './records.ts';

/** Why the sessions of a user are ended (deletion has its own change). */
export type Revocation = 'credentials' | 'disabled';

type LoginState = Pick<UserRecord, 'credentials' | 'pubkeys' | 'disabled'>;

export function revocationOf(before: LoginState, after: LoginState): Revocation | undefined {
  // A disabled user has no sessions left to end.
  if (before.disabled === true) return undefined;
  if (after.disabled === true) return 'disabled';
  for (const [method, credential] of Object.entries(before.credentials)) {
    if (credential !== undefined && !sameJson(credential, after.credentials[method as keyof Credentials]))
      return 'credentials';
  }
  return before.pubkeys.some((k) => !after.pubkeys.includes(k)) ? 'credentials' : undefined;
}

// Stored and freshly parsed credentials may list their keys in different orders.
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

const sameJson = (a: unknown, b: unknown): boolean => b !== undefined && canonical(a) === canonical(b);
