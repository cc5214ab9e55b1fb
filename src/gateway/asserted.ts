// Sessions whose identity the gateway verified before HELLO (a bearer token checked by the
// BearerVerifier). The gateway's Peer carries the identity in TransportInfo.asserted; this
// wrapper welcomes such a HELLO as that identity and hands every other HELLO to the realm's
// own authenticator. A network client cannot reach it: no network transport sets `asserted`,
// and offering the authmethod without it is refused.

import type { Authenticator } from '../router/auth.ts';
import { ASSERTED_METHOD } from './client.ts';

export function withAssertedIdentities(inner: Authenticator): Authenticator {
  return {
    hello(info) {
      if (!info.authmethods.includes(ASSERTED_METHOD)) return inner.hello(info);
      const a = info.transport.asserted;
      if (a === undefined)
        return {
          type: 'abort',
          reason: 'wamp.error.no_auth_method',
          message: `${ASSERTED_METHOD} is for in-process peers only`,
        };
      return {
        type: 'welcome',
        identity: {
          authid: a.authid,
          authrole: a.authrole,
          authmethod: a.authmethod,
          authprovider: 'wampmesh-gateway',
        },
      };
    },
  };
}
