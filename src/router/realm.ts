// A realm is a routing and administrative domain: sessions in one realm never see another's
// registrations or events. Each realm owns its Dealer and its Broker.

import type { UriCheck } from '../wamp/uris.ts';
import { Broker } from './broker.ts';
import { Dealer } from './dealer.ts';
import type { Target } from './target.ts';

export interface RealmConfig {
  readonly uri: string;
  /** Whether sessions may join without authenticating (authmethod "anonymous"). */
  readonly anonymous: boolean;
  /** URI rules applied to procedures and topics (spec "Relaxed/Loose URIs"); loose by default. */
  readonly uriCheck?: UriCheck;
}

export class Realm {
  readonly uri: string;
  readonly config: RealmConfig;
  readonly dealer: Dealer;
  readonly broker: Broker;
  readonly sessions = new Map<number, Target>();

  constructor(config: RealmConfig, clock: { now: () => number; random: () => number }) {
    this.uri = config.uri;
    this.config = config;
    const uriCheck = config.uriCheck ?? 'loose';
    this.dealer = new Dealer({ uriCheck, now: clock.now });
    this.broker = new Broker({ uriCheck, now: clock.now, random: clock.random });
  }

  join(session: Target): void {
    this.sessions.set(session.id, session);
  }

  leave(session: Target): void {
    if (!this.sessions.delete(session.id)) return;
    this.dealer.removeSession(session);
    this.broker.removeSession(session);
  }
}
