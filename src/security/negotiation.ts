// Negotiation of the authmethod: what each method needs of the HELLO. A method the HELLO cannot
// perform is skipped for the client's next one (authenticator.ts); this never depends on the
// authid's existence or credentials, so the answer tells nothing about which users exist.

import type { HelloInfo } from '../router/auth.ts';
import { fromBase64 } from './hash.ts';
import type { AuthMethod } from './records.ts';

/** Whether the HELLO carries what the method needs. */
export function performable(method: AuthMethod, info: HelloInfo): boolean {
  const x = info.authextra;
  const hasAuthid = typeof info.authid === 'string' && info.authid.length > 0;
  const noBinding = x.channel_binding === undefined || x.channel_binding === null;
  switch (method) {
    case 'anonymous':
    // The token names the user (an authid, if given, must match it).
    case 'oauth2':
      return true;
    // The certificate names the user; only a transport that verified one sets it.
    case 'tls':
      return info.transport.certificate !== undefined;
    case 'trust':
    case 'ticket':
    case 'wampcra':
      return hasAuthid;
    // No TLS channel binding here: a client that insists on it cannot use the method.
    case 'cryptosign':
      return typeof x.pubkey === 'string' && /^[0-9a-fA-F]{64}$/.test(x.pubkey) && noBinding;
    case 'wamp-scram': {
      const nonce = typeof x.nonce === 'string' ? fromBase64(x.nonce) : undefined;
      return hasAuthid && nonce !== undefined && nonce.length >= 8 && (x.nonce as string).length <= 256 && noBinding;
    }
  }
}
