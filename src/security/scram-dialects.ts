// WAMP-SCRAM's messages as each dialect writes them: the spec's ("wamp-scram") and
// Autobahn/Crossbar's ("scram"). The keys and the AuthMessage are hash.ts's.

import type { Dict } from '../wamp/messages.ts';
import type { ScramDialect, ScramKdf } from './hash.ts';

/**
 * CHALLENGE.extra. Autobahn|Python rejects unknown CHALLENGE keys and turns a null memory into a
 * crash, so its dialect gets exactly the keys it reads.
 */
export function scramChallengeExtra(
  dialect: ScramDialect,
  c: { nonce: string; salt: string; kdf: ScramKdf; iterations: number; memory: number | undefined },
): Dict {
  return dialect === 'spec'
    ? {
        nonce: c.nonce,
        salt: c.salt,
        kdf: c.kdf === 'argon2id' ? 'argon2id13' : 'pbkdf2',
        iterations: c.iterations,
        memory: c.memory ?? null,
      }
    : {
        nonce: c.nonce,
        salt: c.salt,
        kdf: c.kdf === 'argon2id' ? 'argon2id-13' : 'pbkdf2',
        iterations: c.iterations,
        ...(c.memory !== undefined && { memory: c.memory }),
      };
}

/** AUTHENTICATE.extra: the spec's client repeats the nonce and the (absent) channel binding; Autobahn sends neither. */
export function scramAuthenticateConsistent(x: Dict, serverNonce: string): boolean {
  return (
    (x.nonce === undefined || x.nonce === serverNonce) &&
    (x.channel_binding === undefined || x.channel_binding === null) &&
    (x.cbind_data === undefined || x.cbind_data === null)
  );
}

/** WELCOME.authextra: the server's signature, which proves to the client that the router knows its keys. */
export function scramWelcomeExtra(dialect: ScramDialect, serverSignature: string | undefined): Dict {
  return dialect === 'spec' ? { verifier: serverSignature } : { scram_server_signature: serverSignature };
}
