// Reading the advertisements (LSAs) of the reachable nodes: which remote callees to install,
// and which nodes subscribe to what. What a node advertises itself comes from the federation
// port (Federation.interests).

import { UriTable } from '../../router/uri-table.ts';
import type { NodeId, RegistrationAd } from './frames.ts';
import type { LinkStateDb } from './link-state.ts';

/** Callee features a node advertises, so the caller's router applies the callee's rules. */
export const CALLEE_FEATURES = [
  'progressive_call_results',
  'progressive_call_invocations',
  'call_canceling',
  'call_timeout',
  'caller_identification',
  'payload_passthru_mode',
];

/** One callee of one registration on another node. */
export interface AdvertisedCallee {
  readonly node: NodeId;
  readonly realm: string;
  readonly reg: RegistrationAd;
  readonly callee: RegistrationAd['callees'][number];
}

/** Per realm: for each subscribed topic (and match policy), the nodes subscribing to it. */
export type Subscribers = Map<string, UriTable<Set<NodeId>>>;

export interface Advertised {
  /** By calleeKey. */
  readonly callees: Map<string, AdvertisedCallee>;
  readonly subscribers: Subscribers;
}

/**
 * What the nodes other than `self` advertise: callees of the reachable ones (per `routes`);
 * subscriptions of every known one, reachable or not, so that events for a node beyond an
 * outage are kept for it (EventSpreader) until its advertisement expires.
 */
export function readAdvertisements(lsdb: LinkStateDb, self: NodeId, routes: ReadonlyMap<NodeId, NodeId>): Advertised {
  const callees = new Map<string, AdvertisedCallee>();
  const subscribers: Subscribers = new Map();
  for (const lsa of lsdb.all()) {
    if (lsa.origin === self) continue;
    const reachable = routes.has(lsa.origin);
    for (const [realm, ad] of Object.entries(lsa.realms)) {
      if (reachable)
        for (const reg of ad.registrations) {
          for (const callee of reg.callees)
            callees.set(calleeKey(realm, lsa.origin, callee.session, reg.procedure, reg.match), {
              node: lsa.origin,
              realm,
              reg,
              callee,
            });
        }
      let table = subscribers.get(realm);
      if (table === undefined) subscribers.set(realm, (table = new UriTable()));
      for (const sub of ad.subscriptions) {
        let nodes = table.get(sub.topic, sub.match);
        if (nodes === undefined) table.set(sub.topic, sub.match, (nodes = new Set()));
        nodes.add(lsa.origin);
      }
    }
  }
  return { callees, subscribers };
}

// One proxy per registration of a remote callee: a callee serves each of its registrations,
// so its session alone does not name one (a second registration would replace the first).
export function calleeKey(realm: string, node: NodeId, session: number, procedure: string, match: string): string {
  return `${realm}\u0000${node}\u0000${session}\u0000${match}\u0000${procedure}`;
}
