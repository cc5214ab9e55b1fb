// At start, every persistent session kept in SQLite for this endpoint's realm joins the realm
// again without its client (resume.ts admits it as the identity it had), subscribes its
// filters and queues QoS 1/2 events while its client is away, as it would have had the router
// not stopped. Its client finds it there, with what was published meanwhile.

import type { PeerAcceptor } from '../router/peer.ts';
import type { MqttOptions } from './options.ts';
import { MqttSession, type SessionRegistry } from './session.ts';

/** Brings back the kept sessions of `options.realm`; returns how many were started. */
export function restoreSessions(acceptor: PeerAcceptor, options: MqttOptions, registry: SessionRegistry): number {
  const store = options.sessions;
  const tokens = options.resume;
  if (store === undefined || tokens === undefined) return 0;
  let n = 0;
  for (const kept of store.restorable(options.realm, Date.now())) {
    const r = kept.record;
    const session = new MqttSession(
      acceptor,
      { type: 'mqtt', peer: 'restored', local: false },
      options,
      registry,
      {
        clientId: r.clientId,
        v5: r.v5,
        cleanStart: false,
        expiryMs: Math.min(r.expiryMs, options.maxSessionExpirySec * 1000),
        will: undefined,
        clientMaxPacket: r.clientMaxPacket > 0 ? r.clientMaxPacket : Infinity,
        window: r.window,
      },
      undefined,
    );
    const token = tokens.issue(options.realm, {
      authid: r.authid,
      authrole: r.authrole,
      authmethod: r.authmethod,
      authprovider: r.authprovider,
    });
    session.resume(token, kept);
    n++;
  }
  return n;
}
