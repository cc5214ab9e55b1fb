// Raw-frame sessions joined on a test file's router, for the features Autobahn|Python lacks.

import { type Dict, type RawPeer, rawJoin } from './raw.ts';
import type { fixture } from './suite.ts';

/** `raw(realm, options)`: a raw session joined to `realm` on the router of the file's fixture. */
export function rawJoiner(
  fx: ReturnType<typeof fixture>,
): (
  realm: string,
  options?: { transport?: 'websocket' | 'rawsocket'; serializer?: 'json' | 'msgpack' | 'cbor'; roles?: Dict },
) => Promise<RawPeer> {
  return async (realm, options = {}) => {
    const { router } = await fx.get();
    return rawJoin(router, { realm, ...options });
  };
}
