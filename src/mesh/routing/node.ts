// One router's part in the mesh, sans-IO: it reacts to discovery, link and frame events and
// answers with frames for a LinkDriver to send. Routing is link-state (link-state.ts): each node
// advertises its links and what it serves (advertise.ts), and every node computes the same
// shortest paths. This file keeps the links and the advertisements; which peers to link to is
// the overlay's (overlay.ts). Calls (calls.ts) and events (events.ts) travel along the routes,
// and meet the core through the federation port only.

import type { Logger } from '../../log.ts';
import { silentLogger } from '../../log.ts';
import type { Federation } from '../../router/federation.ts';
import type { Router } from '../../router/router.ts';
import type { Scheduler } from '../../router/scheduler.ts';
import type { Dict } from '../../wamp/messages.ts';
import { meshDefaults } from '../defaults.ts';
import { checkMeshConfig, defaultMeshConfig, type MeshConfig } from '../config.ts';
import type { Replicator } from '../replication/replicator.ts';
import { signLsa } from '../trust/lsa-signature.ts';
import { AdvertisementCheck } from './advertisement-check.ts';
import type { MeshTrust, MemberStatement } from '../trust/membership.ts';
import { CALLEE_FEATURES, readAdvertisements } from './advertise.ts';
import { CallRouter } from './calls.ts';
import { EventSpreader } from './events.ts';
import { PassedFrame, validateFrame, type Lsa, type NodeId, type RealmAd } from './frames.ts';
import type { LinkDriver } from './link-driver.ts';
import { LinkStateDb } from './link-state.ts';
import { OriginIdentities } from './origin-identity.ts';
import { Overlay } from './overlay.ts';

export type { FrameSendResult, LinkDriver } from './link-driver.ts';
export { NETWORK_FAILURE, PAYLOAD_SIZE_EXCEEDED } from './calls.ts';

/** Our own advertisement's seq is never taken from one numbered this high (#receiveLsa). */
const MAX_FOLLOWED_SEQ = 2 ** 52;

export class MeshNode {
  readonly self: NodeId;
  readonly config: MeshConfig;
  readonly #federation: Federation;
  readonly #clock: () => number;
  readonly #scheduler: Scheduler;
  readonly #driver: LinkDriver;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly lsdb: LinkStateDb;
  readonly #epoch: number;
  #seq = 0;
  #lastRefresh = 0;
  #advertisePending = false;
  readonly #active = new Set<NodeId>();
  readonly #overlay: Overlay;
  readonly #calls: CallRouter;
  readonly #events: EventSpreader;
  readonly #replicator: Replicator | undefined;
  readonly #trust: MeshTrust | undefined;
  readonly #identities: OriginIdentities | undefined;
  readonly #check: AdvertisementCheck | undefined;
  /** Statements this node signed, not flooded yet. */
  #unflooded: MemberStatement[] = [];

  constructor(options: {
    id: NodeId;
    router: Router;
    driver: LinkDriver;
    config?: Partial<MeshConfig>;
    logger?: Logger;
    random?: () => number;
    replicator?: Replicator;
    /** Who belongs to the mesh; without it (tests of routing alone) advertisements are not signed or checked. */
    trust?: MeshTrust;
    /**
     * Runs a function once the current work is done and before the links write what it sent
     * (process.nextTick when serving), so a tick's publications leave after their seals in one
     * envelope. Default: a 0 ms timer of the router's scheduler (deterministic in simulations).
     */
    soon?: (fn: () => void) => void;
  }) {
    this.self = options.id;
    this.config = { ...defaultMeshConfig, ...options.config };
    const problem = checkMeshConfig(this.config);
    if (problem !== undefined) throw new Error(problem);
    this.#federation = options.router.federation;
    this.#clock = options.router.now;
    this.#scheduler = options.router.scheduler;
    this.#driver = options.driver;
    this.#logger = options.logger ?? silentLogger;
    this.#random = options.random ?? Math.random;
    this.lsdb = new LinkStateDb(this.self);
    this.#epoch = this.#now();
    const routes = () => this.lsdb.routes();
    const context = { self: this.self, driver: this.#driver, federation: this.#federation, routes };
    this.#identities =
      options.trust === undefined ? undefined : new OriginIdentities(this.self, (node) => this.lsdb.get(node)?.dh);
    this.#calls = new CallRouter({ ...context, logger: this.#logger, identities: this.#identities });
    this.#events = new EventSpreader({
      ...context,
      epoch: this.#epoch,
      scheduler: this.#scheduler,
      logger: this.#logger,
      now: () => this.#now(),
      epochOf: (node) => this.lsdb.get(node)?.epoch,
      limits: { ...meshDefaults, ...this.config },
      identities: this.#identities,
      soon: options.soon ?? ((fn) => this.#scheduler.setTimeout(fn, 0)),
    });
    this.#federation.listen({
      published: (realm, event, routing) => this.#events.publish(realm, event, routing),
      interestsChanged: () => this.#scheduleAdvertise(),
    });
    this.#trust = options.trust;
    this.#overlay = new Overlay({
      self: this.self,
      config: this.config,
      driver: this.#driver,
      lsdb: this.lsdb,
      trust: this.#trust,
      logger: this.#logger,
      random: this.#random,
      active: this.#active,
      dropped: (peer) => this.linkDown(peer),
    });
    this.#check =
      options.trust === undefined ? undefined : new AdvertisementCheck(options.trust, this.lsdb, this.#logger);
    // Statements this node signs (an admission at a handshake, an administrator's command) are
    // flooded after the operation that made them, never from inside it.
    this.#trust?.onStatement((statement) => {
      this.#unflooded.push(statement);
      this.#scheduler.setTimeout(() => this.#floodOwnStatements(), 0);
    });
    this.#trust?.onChange((removed) => this.#scheduler.setTimeout(() => this.#membersRemoved(removed), 0));
    this.#replicator = options.replicator;
    this.#replicator?.attach({
      send: (peer, frame) => this.#driver.send(peer, frame),
      neighbours: () => [...this.#active],
    });
    this.#originate();
  }

  // ---- discovery and links ---------------------------------------------------------------

  peerDiscovered(peer: NodeId): void {
    this.#overlay.peerDiscovered(peer);
  }

  peerLost(peer: NodeId): void {
    this.#overlay.peerLost(peer);
  }

  linkUp(peer: NodeId): void {
    this.#overlay.linkUp(peer);
    if (this.#active.has(peer)) return;
    // An admission signed at this link's handshake reaches the other neighbours before anything
    // the new neighbour says (its advertisement is checked against it).
    this.#floodOwnStatements();
    this.#active.add(peer);
    this.#logger.info({ peer }, 'mesh link up');
    this.#events.linkUp(peer);
    // Database exchange: the new neighbour learns everything we know, then our new links. The
    // members first: its checks of the advertisements need their keys.
    for (const statement of this.#trust?.statements() ?? []) this.#driver.send(peer, statement);
    for (const lsa of this.lsdb.all()) this.#driver.send(peer, lsa);
    this.#originate();
    this.#replicator?.linkUp(peer);
  }

  dialFailed(peer: NodeId): void {
    this.#overlay.dialFailed(peer, this.#now());
  }

  linkDown(peer: NodeId): void {
    this.#overlay.dialEnded(peer);
    if (!this.#active.delete(peer)) return;
    this.#logger.info({ peer }, 'mesh link down');
    this.#overlay.linkDown(peer, this.#now());
    this.#calls.linkDown(peer);
    this.#originate();
    // After the new routes: the link's unacknowledged event copies take them.
    this.#events.linkDown(peer);
  }

  /** A frame from a neighbour; returns a reason when the frame is invalid (close that link). */
  receive(peer: NodeId, value: unknown): string | undefined {
    if (value instanceof PassedFrame) {
      return value.t === 'result' || value.t === 'error'
        ? this.#calls.receiveAnswer(peer, value)
        : this.#calls.receiveRequest(peer, value);
    }
    const frame = validateFrame(value);
    if (typeof frame === 'string') return frame;
    switch (frame.t) {
      case 'lsa':
        return this.#receiveLsa(peer, frame);
      case 'event':
        return this.#events.receive(peer, frame);
      case 'ack':
        return this.#events.ack(peer, frame);
      case 'member':
        if (this.#trust?.receive(frame) === true) {
          this.#flood(frame, peer);
          this.#retryParked();
        }
        return undefined;
      case 'call':
      case 'chunk':
      case 'cancel':
        return this.#calls.receiveRequest(peer, frame);
      case 'result':
      case 'error':
        return this.#calls.receiveAnswer(peer, frame);
      default:
        return this.#replicator?.receive(peer, frame) ?? undefined;
    }
  }

  /** Periodic work: overlay upkeep, advertisement refresh and expiry. */
  tick(now: number = this.#now()): void {
    if (this.lsdb.expire(now, this.config.lsaMaxAgeMs).length > 0) this.#topologyChanged();
    if (now - this.#lastRefresh >= this.config.lsaRefreshMs) this.#originate();
    for (const peer of this.#events.tick(now)) {
      if (!this.#active.has(peer)) continue;
      this.#driver.disconnect(peer, {
        dead: `events sent over it unacknowledged for ${this.config.unackedDeadMs} ms (unackedDeadMs)`,
      });
      this.linkDown(peer);
    }
    this.#overlay.maintain(now);
    this.#replicator?.tick(now);
  }

  status(): Dict {
    const routes: Dict = {};
    for (const [dst, hop] of this.lsdb.routes()) routes[dst] = hop;
    return {
      node: this.self,
      epoch: this.#epoch,
      seq: this.#seq,
      links: [...this.#active].sort(),
      ...this.#overlay.status(),
      nodes: [...this.lsdb.all()].map((l) => ({ id: l.origin, links: l.links, seq: l.seq })),
      routes,
      callsInFlight: this.#calls.callsInFlight,
      remoteCallees: this.#calls.remoteCallees,
      remoteCallers: this.#calls.remoteCallers,
      events: this.#events.status(),
      ...(this.#replicator !== undefined && { replication: this.#replicator.status() }),
      ...(this.#trust !== undefined && {
        trust: {
          ...this.#trust.status(),
          refused: {
            ...this.#check?.refused,
            callerIdentity: this.#calls.refusedIdentities,
            publisherIdentity: this.#events.refusedIdentities,
            ...this.#replicator?.refused,
          },
        },
      }),
    };
  }

  // ---- advertisements and routes -----------------------------------------------------------

  #receiveLsa(peer: NodeId, lsa: Lsa): undefined {
    if (this.#check !== undefined && !this.#check.admits(peer, lsa)) return undefined;
    if (lsa.origin === this.self) {
      // Our own advertisement from a previous life with a higher number: supersede it. Not one
      // numbered near 2^53: following seq 2^53 - 1 would make our next advertisement
      // unrepresentable, refused by every neighbour for good. No node numbers 2^52
      // advertisements; such a one is forged, and expires like any that nobody refreshes.
      if (lsa.epoch === this.#epoch && lsa.seq >= this.#seq && lsa.seq < MAX_FOLLOWED_SEQ) {
        this.#seq = lsa.seq;
        this.#originate();
      }
      return undefined;
    }
    if (!this.lsdb.accept(lsa, this.#now())) return undefined;
    for (const other of this.#active) if (other !== peer) this.#driver.send(other, lsa);
    this.#topologyChanged();
    return undefined;
  }

  #floodOwnStatements(): void {
    const statements = this.#unflooded;
    this.#unflooded = [];
    for (const statement of statements) this.#flood(statement, undefined);
    if (statements.length > 0) this.#retryParked();
  }

  #retryParked(): void {
    for (const { peer, lsa } of this.#check?.takeAdmitted() ?? []) this.#receiveLsa(peer, lsa);
  }

  /** A membership statement to every neighbour but `from`. */
  #flood(statement: MemberStatement, from: NodeId | undefined): void {
    for (const other of this.#active) if (other !== from) this.#driver.send(other, statement);
  }

  /** Removed nodes: their links close, their advertisements go, and so do their routes. */
  #membersRemoved(removed: readonly NodeId[]): void {
    let changed = false;
    for (const node of removed) {
      changed = this.lsdb.drop(node) || changed;
      if (this.#active.has(node)) {
        this.#driver.disconnect(node, { removed: `node ${node} was removed from the mesh` });
        this.linkDown(node);
      }
      this.#overlay.forget(node);
    }
    if (changed) this.#originate();
    this.#replicator?.writersRemoved(removed);
  }

  /**
   * A change of registrations or subscriptions is advertised at once (after the operation that
   * made it: a 0 ms timer, never from inside the Broker or Dealer) when nothing was advertised
   * within advertiseDebounceMs; otherwise at the end of that window, so that a burst (a client
   * subscribing to a hundred topics) costs one advertisement per window. A lone new
   * subscription is reachable from other nodes after one flood, not after the debounce.
   */
  #scheduleAdvertise(): void {
    if (this.#advertisePending) return;
    this.#advertisePending = true;
    const wait = Math.max(0, this.#lastRefresh + this.config.advertiseDebounceMs - this.#now());
    this.#scheduler.setTimeout(() => {
      this.#advertisePending = false;
      this.#originate();
    }, wait);
  }

  #originate(): void {
    const realms: Record<string, RealmAd> = Object.fromEntries(this.#federation.interests(CALLEE_FEATURES));
    const unsigned: Lsa = {
      t: 'lsa',
      origin: this.self,
      epoch: this.#epoch,
      seq: ++this.#seq,
      links: [...this.#active].sort(),
      realms,
      ...(this.#identities !== undefined && { dh: this.#identities.publicKey }),
    };
    const lsa = this.#trust === undefined ? unsigned : signLsa(this.#trust.key, unsigned);
    this.#lastRefresh = this.#now();
    this.lsdb.accept(lsa, this.#lastRefresh);
    for (const peer of this.#active) this.#driver.send(peer, lsa);
    this.#topologyChanged();
  }

  #topologyChanged(): void {
    const routes = this.lsdb.routes();
    const advertised = readAdvertisements(this.lsdb, this.self, routes);
    this.#events.subscribers = advertised.subscribers;
    this.#calls.topologyChanged(advertised.callees, routes);
    this.#events.topologyChanged();
  }

  #now(): number {
    return this.#clock();
  }
}
