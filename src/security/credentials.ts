// A user's stored credentials from a clear password: the ticket hash, the wampcra derived key
// and the wamp-scram keys, each at the cost the user asks for or the store's default. Run
// before a write's transaction: hashing is slow, and nothing is written yet.

import { invalid, joinField } from './errors.ts';
import {
  deriveScram,
  deriveWampcra,
  hashTicket,
  type HashingParams,
  type ScramCredential,
  type WampcraCredential,
} from './hash.ts';
import { PASSWORD_METHODS, type Credentials, type PasswordMethod, type RealmRecord } from './records.ts';
import type { UserCreate } from './schemas.ts';

export type Derivation = Pick<UserCreate, 'password' | 'password_methods' | 'wampcra' | 'scram' | 'credentials'>;

/**
 * Credentials from a clear password (for `password_methods`, by default the password
 * methods the realm enables) or as given; undefined when the input names neither.
 * A SecurityError names the field under `prefix`.
 */
export function deriveCredentials(
  h: HashingParams,
  realm: Pick<RealmRecord, 'uri' | 'authmethods'>,
  u: Derivation,
  prefix: string,
): Credentials | undefined {
  if (u.credentials !== undefined) return u.credentials as Credentials;
  if (u.password === undefined) return undefined;
  const methods: readonly PasswordMethod[] =
    u.password_methods ??
    // The OAuth2 token endpoint checks passwords against the ticket hash.
    PASSWORD_METHODS.filter(
      (m) => realm.authmethods.includes(m) || (m === 'ticket' && realm.authmethods.includes('oauth2')),
    );
  if (methods.length === 0) {
    throw invalid(
      joinField(prefix, 'password_methods'),
      `realm '${realm.uri}' enables none of ${PASSWORD_METHODS.join(', ')}; name the methods to derive credentials for`,
    );
  }
  let ticket: { hash: string } | undefined;
  let wampcra: WampcraCredential | undefined;
  let scram: ScramCredential | undefined;
  if (methods.includes('ticket')) ticket = { hash: hashTicket(u.password, h.ticket) };
  if (methods.includes('wampcra')) {
    wampcra = deriveWampcra(u.password, {
      iterations: u.wampcra?.iterations ?? h.wampcra.iterations,
      keylen: u.wampcra?.keylen ?? h.wampcra.keylen,
    });
  }
  if (methods.includes('wamp-scram')) {
    const kdf = u.scram?.kdf ?? h.scram.kdf;
    if (kdf === 'argon2id') {
      const iterations = u.scram?.iterations ?? h.scram.argon2.iterations;
      if (iterations > 64) throw invalid(joinField(prefix, 'scram.iterations'), 'expected at most 64 for argon2id');
      scram = deriveScram(u.password, kdf, { iterations, memory: u.scram?.memory ?? h.scram.argon2.memory });
    } else {
      if (u.scram?.memory !== undefined) throw invalid(joinField(prefix, 'scram.memory'), 'only for argon2id');
      const iterations = u.scram?.iterations ?? h.scram.pbkdf2Iterations;
      if (iterations < 4096)
        throw invalid(joinField(prefix, 'scram.iterations'), 'expected at least 4096 for pbkdf2 (RFC 7677)');
      scram = deriveScram(u.password, kdf, { iterations });
    }
  }
  return { ...(ticket && { ticket }), ...(wampcra && { wampcra }), ...(scram && { 'wamp-scram': scram }) };
}
