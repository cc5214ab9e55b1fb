// One router's part in the mesh, sans-IO: it reacts to discovery, link and frame events and
// answers with frames for a LinkDriver to send. Routing is link-state (see routing/link-state.ts).
// Calls follow one path out and the same path back (each hop remembers the call), so a link
// failing anywhere on the path answers the caller at once with wamp.error.network_failure and
// never invokes the callee twice. Events follow the shortest-path tree to the nodes with
// matching subscriptions and are de-duplicated by (origin, publication).

import type { Logger } from '../../log.ts';
import { silentLogger } from '../../log.ts';
import type { EventRouting } from '../../router/broker.ts';
import type { Federation } from '../../router/federation.ts';
import type { InvokePolicy } from '../../router/dealer.ts';
import type { Router } from '../../router/router.ts';
import type { Scheduler } from '../../router/scheduler.ts';
import { UriTable } from '../../router/uri-table.ts';
import type { StoredEvent } from '../../router/event-store.ts';
import type { Dict } from '../../wamp/messages.ts';
import { ErrorUri } from '../../wamp/uris.ts';
import type { SendResult } from '../../router/target.ts';
import { checkMeshConfig, defaultMeshConfig, type MeshConfig } from '../config.ts';
import { validateFrame, type ErrorFrame, type EventFrame, type Lsa, type MeshFrame, type NodeId, type RealmAd, type RoutedFrame } from './frames.ts';
import { LinkStateDb } from './link-state.ts';
import { RemoteCallee, RemoteCaller, type FrameSink } from './remote-targets.ts';
import type { Replicator } from '../replication/replicator.ts';

/**
 * 'too-large': the encoded frame exceeds the peer's maximum frame size; nothing was sent and the
 * link stays up. 'failed': no link to that peer, or it just failed (linkDown follows).
 */
export type FrameSendResult = 'sent' | 'too-large' | 'failed';

export interface LinkDriver {
  /** Open a link; answer later with linkUp(peer) or dialFailed(peer). */
  connect(peer: NodeId): void;
  disconnect(peer: NodeId): void;
  send(peer: NodeId, frame: MeshFrame): FrameSendResult;
}

/** Where a call's frames go next: toward the callee, and back toward the caller (null = here). */
interface Hop { toward: NodeId | null; back: NodeId | null; realm: string; dst: NodeId; callee?: RemoteCallee }

interface Peer { failures: number; nextDialAt: number; discovered: boolean }

export const NETWORK_FAILURE = 'wamp.error.network_failure';
/** Spec "Basic Profile URIs": a message could not be delivered due to transport payload size limits. */
export const PAYLOAD_SIZE_EXCEEDED = ErrorUri.PAYLOAD_SIZE_EXCEEDED;
/** Our own advertisement's seq is never taken from one numbered this high (#receiveLsa). */
const MAX_FOLLOWED_SEQ = 2 ** 52;
const CALLEE_FEATURES = ['progressive_call_results', 'progressive_call_invocations', 'call_canceling', 'call_timeout', 'caller_identification', 'payload_passthru_mode'];

export class MeshNode implements FrameSink {
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
  readonly #peers = new Map<NodeId, Peer>();
  readonly #active = new Set<NodeId>();
  readonly #dialing = new Set<NodeId>();
  readonly #hops = new Map<string, Hop>();
  #callIds = 0;
  readonly #proxies = new Map<string, RemoteCallee>();
  readonly #callers = new Map<string, RemoteCaller>();
  #callerIds = 0;
  #subIndex = new Map<string, UriTable<Set<NodeId>>>();
  readonly #seen = new Set<string>();
  readonly #replicator: Replicator | undefined;

  constructor(options: { id: NodeId; router: Router; driver: LinkDriver; config?: Partial<MeshConfig>; logger?: Logger; random?: () => number; replicator?: Replicator }) {
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
    this.#federation.listen({
      published: (realm, event, routing) => this.#publish(realm, event, routing),
      interestsChanged: () => this.#scheduleAdvertise(),
    });
    this.#replicator = options.replicator;
    this.#replicator?.attach({ send: (peer, frame) => this.#driver.send(peer, frame), neighbours: () => [...this.#active] });
    this.#originate();
  }

  // ---- discovery and links ---------------------------------------------------------------

  peerDiscovered(peer: NodeId): void {
    if (peer === this.self) return;
    const known = this.#peers.get(peer);
    if (known === undefined) this.#peers.set(peer, { failures: 0, nextDialAt: 0, discovered: true });
    else if (!known.discovered) {
      // It reappeared (a partition healed, a board came back): dial it now, not after the
      // backoff its failures built up while it was away.
      known.discovered = true;
      known.failures = 0;
      known.nextDialAt = 0;
    }
  }

  peerLost(peer: NodeId): void {
    const known = this.#peers.get(peer);
    if (known !== undefined) known.discovered = false;
  }

  linkUp(peer: NodeId): void {
    this.#dialing.delete(peer);
    this.peerDiscovered(peer);
    const known = this.#peers.get(peer)!;
    known.failures = 0;
    if (this.#active.has(peer)) return;
    this.#active.add(peer);
    this.#logger.info({ peer }, 'mesh link up');
    // Database exchange: the new neighbour learns everything we know, then our new links.
    for (const lsa of this.lsdb.all()) this.#driver.send(peer, lsa);
    this.#originate();
    this.#replicator?.linkUp(peer);
  }

  dialFailed(peer: NodeId): void {
    this.#dialing.delete(peer);
    const known = this.#peers.get(peer);
    if (known === undefined) return;
    known.failures++;
    known.nextDialAt = this.#now() + Math.min(this.config.dialBackoffMaxMs, this.config.dialBackoffMs * 2 ** (known.failures - 1));
  }

  linkDown(peer: NodeId): void {
    this.#dialing.delete(peer);
    if (!this.#active.delete(peer)) return;
    this.#logger.info({ peer }, 'mesh link down');
    const known = this.#peers.get(peer);
    if (known !== undefined) known.nextDialAt = this.#now() + this.config.dialBackoffMs;
    for (const [key, hop] of [...this.#hops]) {
      const [origin, id] = splitKey(key);
      if (hop.toward === peer) {
        // The path to the callee broke behind us: answer the caller now.
        this.#hops.delete(key);
        const failure: ErrorFrame = { t: 'error', origin, dst: origin, id, realm: hop.realm, error: NETWORK_FAILURE, details: {}, args: [`mesh link ${this.self} -> ${peer} failed`] };
        if (hop.back === null) this.#deliverAnswer(failure, hop);
        else this.#driver.send(hop.back, failure);
      } else if (hop.back === peer) {
        // The caller can no longer be answered: stop the work downstream.
        this.#hops.delete(key);
        const cancel = { t: 'cancel' as const, origin, dst: hop.dst, id, realm: hop.realm, mode: 'killnowait' };
        if (hop.toward === null) this.#deliverCancel(cancel);
        else this.#driver.send(hop.toward, cancel);
      }
    }
    this.#originate();
  }

  /** A frame from a neighbour; returns a reason when the frame is invalid (close that link). */
  receive(peer: NodeId, value: unknown): string | undefined {
    const frame = validateFrame(value);
    if (typeof frame === 'string') return frame;
    switch (frame.t) {
      case 'lsa': return this.#receiveLsa(peer, frame);
      case 'event': return this.#receiveEvent(frame);
      case 'call': case 'chunk': case 'cancel': return this.#receiveRequest(peer, frame);
      case 'result': case 'error': return this.#receiveAnswer(peer, frame);
      default: return this.#replicator?.receive(peer, frame) ?? undefined;
    }
  }

  /** Periodic work: overlay upkeep, advertisement refresh and expiry. */
  tick(now: number = this.#now()): void {
    if (this.lsdb.expire(now, this.config.lsaMaxAgeMs).length > 0) this.#topologyChanged();
    if (now - this.#lastRefresh >= this.config.lsaRefreshMs) this.#originate();
    this.#maintainOverlay(now);
    this.#replicator?.tick(now);
  }

  status(): Dict {
    const routes: Dict = {};
    for (const [dst, hop] of this.lsdb.routes()) routes[dst] = hop;
    return {
      node: this.self, epoch: this.#epoch, seq: this.#seq,
      links: [...this.#active].sort(), dialing: [...this.#dialing].sort(),
      known: [...this.#peers].map(([id, p]) => ({ id, discovered: p.discovered, failures: p.failures })),
      nodes: [...this.lsdb.all()].map((l) => ({ id: l.origin, links: l.links, seq: l.seq })),
      routes, callsInFlight: this.#hops.size, remoteCallees: this.#proxies.size, remoteCallers: this.#callers.size,
      ...(this.#replicator !== undefined && { replication: this.#replicator.status() }),
    };
  }

  // ---- FrameSink (used by the proxies) ---------------------------------------------------

  nextCallId(): number {
    this.#callIds = this.#callIds >= Number.MAX_SAFE_INTEGER ? 1 : this.#callIds + 1;
    return this.#callIds;
  }

  isInFlight(origin: NodeId, id: number): boolean {
    return this.#hops.has(key(origin, id));
  }

  // A frame of a call too large for the next hop (over that node's maxFrameBytes) is never
  // sent, and the link stays up. Here, on the caller's or the callee's node, the Dealer learns
  // it from the proxies ('too-large') and answers the caller with wamp.error.payload_size_exceeded;
  // a hop in between sends that error back itself (#receiveRequest, #receiveAnswer, tooLarge).
  // Either way the other end of a progressive call is canceled.
  sendRouted(frame: RoutedFrame): SendResult {
    const k = key(frame.origin, frame.id);
    const hop = this.#hops.get(k);
    if (frame.t === 'call') {
      const next = this.lsdb.routes().get(frame.dst);
      if (next === undefined) return 'closed';
      const callee = this.#proxies.get(proxyKey(frame.realm, frame.dst, frame.session, frame.procedure, frame.match));
      if (this.#driver.send(next, frame) === 'too-large') return 'too-large';
      // A send that failed otherwise is answered by linkDown, which needs the hop.
      this.#hops.set(k, { toward: next, back: null, realm: frame.realm, dst: frame.dst, ...(callee !== undefined && { callee }) });
      return 'sent';
    }
    if (hop === undefined) return 'closed';
    if (frame.t === 'chunk' || frame.t === 'cancel') {
      if (hop.toward === null) return 'closed';
      if (this.#driver.send(hop.toward, frame) === 'too-large') {
        // The Dealer ends the call for the caller; stop the callee's side of it too.
        this.#hops.delete(k);
        this.#driver.send(hop.toward, { t: 'cancel', origin: frame.origin, dst: hop.dst, id: frame.id, realm: frame.realm, mode: 'killnowait' });
        return 'too-large';
      }
      // After "kill" the callee still answers, so the way back must stay known.
      if (frame.t === 'cancel' && frame.mode !== 'kill') this.#hops.delete(k);
      return 'sent';
    }
    // result / error from a local callee, travelling back the way the call came.
    if (hop.back === null) {
      if (isFinal(frame)) this.#hops.delete(k);
      return 'closed';
    }
    // Too large: the hop stays, so the Dealer's (small) error can follow the same way.
    if (this.#driver.send(hop.back, frame) === 'too-large') return 'too-large';
    if (isFinal(frame)) this.#hops.delete(k);
    return 'sent';
  }

  // ---- frames ------------------------------------------------------------------------------

  #receiveLsa(peer: NodeId, lsa: Lsa): undefined {
    if (lsa.origin === this.self) {
      // Our own advertisement from a previous life with a higher number: supersede it. Not one
      // numbered near 2^53: following seq 2^53 - 1 made our next advertisement unrepresentable,
      // refused by every neighbour for good (found by test/mesh/fuzz-*.test.ts). No node numbers
      // 2^52 advertisements; such a one is forged, and expires like any that nobody refreshes.
      if (lsa.epoch === this.#epoch && lsa.seq >= this.#seq && lsa.seq < MAX_FOLLOWED_SEQ) { this.#seq = lsa.seq; this.#originate(); }
      return undefined;
    }
    if (!this.lsdb.accept(lsa, this.#now())) return undefined;
    for (const other of this.#active) if (other !== peer) this.#driver.send(other, lsa);
    this.#topologyChanged();
    return undefined;
  }

  #receiveRequest(peer: NodeId, frame: RoutedFrame & { t: 'call' | 'chunk' | 'cancel' }): undefined {
    const k = key(frame.origin, frame.id);
    if (frame.t === 'call') {
      // A call we already hold is a duplicate; invoking it again would run the callee twice.
      const held = this.#hops.get(k);
      if (held !== undefined) {
        // From another neighbour than the one it came from, it is another call under the same
        // ID (a node that took another's next IDs, or one restarted and counting from 1 again):
        // refused, not dropped, or its caller waited for good (found by test/mesh/fuzz-*.test.ts).
        if (held.back !== peer) {
          this.#driver.send(peer, { t: 'error', origin: frame.origin, dst: frame.origin, id: frame.id, realm: frame.realm, error: NETWORK_FAILURE, details: {}, args: [`call ID ${frame.id} of ${frame.origin} is already in use at ${this.self}`] });
        }
        return undefined;
      }
      // Ours, and not in flight: forged (this node gives its calls their IDs). Passed on, it
      // took the ID of a call this node was yet to make: the next router dropped that one as
      // its duplicate, and its caller waited for good (found by test/mesh/fuzz-*.test.ts).
      if (frame.origin === this.self) return undefined;
      if (frame.dst === this.self) {
        this.#hops.set(k, { toward: null, back: peer, realm: frame.realm, dst: frame.dst });
        if (!this.#federation.hasRealm(frame.realm)) {
          this.sendRouted({ t: 'error', origin: frame.origin, dst: frame.origin, id: frame.id, realm: frame.realm, error: 'wamp.error.no_such_procedure', details: {} });
          return undefined;
        }
        this.#federation.call(frame.realm, this.#callerFor(frame.origin, frame.realm), {
          request: frame.id, procedure: frame.procedure, match: frame.match, callee: frame.session, details: frame.details, args: frame.args, kwargs: frame.kwargs,
        });
        return undefined;
      }
      const next = this.lsdb.routes().get(frame.dst);
      if (next === undefined || next === peer) {
        this.#driver.send(peer, { t: 'error', origin: frame.origin, dst: frame.origin, id: frame.id, realm: frame.realm, error: NETWORK_FAILURE, details: {}, args: [`no route from ${this.self} to ${frame.dst}`] });
        return undefined;
      }
      if (this.#driver.send(next, frame) === 'too-large') {
        this.#driver.send(peer, tooLarge(frame, this.self, next));
        return undefined;
      }
      this.#hops.set(k, { toward: next, back: peer, realm: frame.realm, dst: frame.dst });
      return undefined;
    }
    const hop = this.#hops.get(k);
    // A call's further frames come the way the call came, from the caller's side. From anyone
    // else they are another call's (IDs are sequential per origin: easy to guess): a neighbour
    // could cancel or feed calls that do not pass through it. And they are in the call's realm.
    if (hop === undefined || hop.back !== peer || hop.realm !== frame.realm) return undefined;
    if (hop.toward !== null) {
      if (this.#driver.send(hop.toward, frame) === 'too-large') {
        // A chunk of a progressive call: the call ends, for the caller and for the callee.
        this.#hops.delete(k);
        this.#driver.send(hop.toward, { t: 'cancel', origin: frame.origin, dst: hop.dst, id: frame.id, realm: frame.realm, mode: 'killnowait' });
        if (hop.back !== null) this.#driver.send(hop.back, tooLarge(frame, this.self, hop.toward));
        return undefined;
      }
      if (frame.t === 'cancel' && frame.mode !== 'kill') this.#hops.delete(k);
      return undefined;
    }
    if (frame.t === 'cancel') return this.#deliverCancel(frame);
    if (!this.#federation.hasRealm(frame.realm)) return undefined;
    this.#federation.chunk(frame.realm, this.#callerFor(frame.origin, frame.realm), frame.id, { progress: frame.progress, args: frame.args, kwargs: frame.kwargs });
    return undefined;
  }

  #receiveAnswer(peer: NodeId, frame: RoutedFrame & { t: 'result' | 'error' }): undefined {
    const k = key(frame.origin, frame.id);
    const hop = this.#hops.get(k);
    // Answers travel only along a path we remember; anything else belongs to an abandoned call.
    // And only from the callee's side: a neighbour the call did not go to answered it in the
    // callee's place, its real answer then dropped. In the call's realm: an answer naming
    // another one ended the call here and reached no Dealer, so the caller waited for good
    // (both found by test/mesh/fuzz-*.test.ts).
    if (hop === undefined || hop.toward !== peer || hop.realm !== frame.realm) return undefined;
    if (isFinal(frame)) this.#hops.delete(k);
    if (hop.back === null) {
      this.#deliverAnswer(frame, hop);
      return undefined;
    }
    if (this.#driver.send(hop.back, frame) === 'too-large') {
      // The caller gets an error in its place, and the call ends: a callee still sending
      // progressive results is canceled.
      if (!isFinal(frame)) {
        this.#hops.delete(k);
        if (hop.toward !== null) this.#driver.send(hop.toward, { t: 'cancel', origin: frame.origin, dst: hop.dst, id: frame.id, realm: frame.realm, mode: 'killnowait' });
      }
      this.#driver.send(hop.back, tooLarge(frame, this.self, hop.back));
    }
    return undefined;
  }

  #deliverAnswer(frame: RoutedFrame & { t: 'result' | 'error' }, hop: Hop): void {
    const callee = hop.callee;
    if (callee === undefined) return;
    if (frame.t === 'error') {
      this.#federation.error(frame.realm, callee, frame.id, { error: frame.error, details: frame.details, args: frame.args, kwargs: frame.kwargs });
    } else {
      this.#federation.result(frame.realm, callee, frame.id, { progress: frame.progress, details: frame.details, args: frame.args, kwargs: frame.kwargs }, callee.node);
    }
  }

  #deliverCancel(frame: { origin: NodeId; id: number; realm: string; mode: string }): undefined {
    if (!this.#federation.hasRealm(frame.realm)) return undefined;
    this.#federation.cancel(frame.realm, this.#callerFor(frame.origin, frame.realm), frame.id, frame.mode);
    return undefined;
  }

  #receiveEvent(frame: EventFrame): undefined {
    const k = key(frame.src, frame.publication);
    if (this.#seen.has(k)) return undefined;
    this.#remember(k);
    if (frame.dsts.includes(this.self)) {
      const event: StoredEvent = {
        topic: frame.topic, publication: frame.publication, timestamp: frame.timestamp, details: frame.details,
        ...(frame.args !== undefined && { args: frame.args }), ...(frame.kwargs !== undefined && { kwargs: frame.kwargs }),
        ...(frame.filter !== undefined && { filter: frame.filter }),
      };
      this.#federation.event(frame.realm, event, { excluded: frame.excluded, filter: frame.filter, retain: frame.retain });
    }
    this.#spread(frame, frame.dsts.filter((d) => d !== this.self));
    return undefined;
  }

  #publish(realm: string, event: StoredEvent, routing: EventRouting): void {
    const { excluded, filter, retain } = routing;
    const routes = this.lsdb.routes();
    let dsts: NodeId[];
    if (retain) {
      // Retained events are kept by every node, so a subscriber anywhere gets them later.
      dsts = [...routes.keys()];
    } else {
      const nodes = new Set<NodeId>();
      for (const set of this.#subIndex.get(realm)?.all(event.topic) ?? []) for (const n of set) nodes.add(n);
      dsts = [...nodes];
    }
    if (dsts.length === 0) return;
    this.#remember(key(this.self, event.publication));
    this.#spread({
      t: 'event', src: this.self, dsts, realm, topic: event.topic, publication: event.publication, timestamp: event.timestamp,
      details: event.details, retain,
      ...(event.args !== undefined && { args: event.args }), ...(event.kwargs !== undefined && { kwargs: event.kwargs }),
      ...(excluded !== undefined && { excluded }), ...(filter !== undefined && { filter }),
    }, dsts);
  }

  /** Sends one copy per next hop, each carrying the destinations behind that hop. */
  #spread(frame: EventFrame, dsts: readonly NodeId[]): void {
    const routes = this.lsdb.routes();
    const byHop = new Map<NodeId, NodeId[]>();
    for (const d of dsts) {
      const hop = routes.get(d);
      if (hop === undefined) continue;
      let list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, (list = []));
      list.push(d);
    }
    for (const [hop, list] of byHop) this.#driver.send(hop, { ...frame, dsts: list });
  }

  #remember(k: string): void {
    this.#seen.add(k);
    if (this.#seen.size > this.config.dedupEntries) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  // ---- advertisements and routes -----------------------------------------------------------

  #scheduleAdvertise(): void {
    if (this.#advertisePending) return;
    this.#advertisePending = true;
    this.#scheduler.setTimeout(() => { this.#advertisePending = false; this.#originate(); }, this.config.advertiseDebounceMs);
  }

  #originate(): void {
    const realms: Record<string, RealmAd> = Object.fromEntries(this.#federation.interests(CALLEE_FEATURES));
    const lsa: Lsa = { t: 'lsa', origin: this.self, epoch: this.#epoch, seq: ++this.#seq, links: [...this.#active].sort(), realms };
    this.#lastRefresh = this.#now();
    this.lsdb.accept(lsa, this.#lastRefresh);
    for (const peer of this.#active) this.#driver.send(peer, lsa);
    this.#topologyChanged();
  }

  #topologyChanged(): void {
    const routes = this.lsdb.routes();
    // Remote callees: install what reachable nodes advertise, remove the rest.
    const wanted = new Map<string, { node: NodeId; realm: string; reg: RealmAd['registrations'][number]; callee: RealmAd['registrations'][number]['callees'][number] }>();
    const subIndex = new Map<string, UriTable<Set<NodeId>>>();
    for (const lsa of this.lsdb.all()) {
      if (lsa.origin === this.self || !routes.has(lsa.origin)) continue;
      for (const [realm, ad] of Object.entries(lsa.realms)) {
        for (const reg of ad.registrations) {
          for (const callee of reg.callees) wanted.set(proxyKey(realm, lsa.origin, callee.session, reg.procedure, reg.match), { node: lsa.origin, realm, reg, callee });
        }
        let table = subIndex.get(realm);
        if (table === undefined) subIndex.set(realm, (table = new UriTable()));
        for (const sub of ad.subscriptions) {
          let nodes = table.get(sub.topic, sub.match);
          if (nodes === undefined) table.set(sub.topic, sub.match, (nodes = new Set()));
          nodes.add(lsa.origin);
        }
      }
    }
    this.#subIndex = subIndex;
    for (const [k, proxy] of [...this.#proxies]) {
      const w = wanted.get(k);
      if (w !== undefined && w.reg.procedure === proxy.ad.procedure && w.reg.match === proxy.ad.match && w.reg.invoke === proxy.ad.invoke) continue;
      this.#proxies.delete(k);
      if (routes.has(proxy.node)) this.#federation.withdrawCallee(proxy.realm, proxy);
      else this.#federation.calleeGone(proxy.realm, proxy, NETWORK_FAILURE, `router ${proxy.node} is unreachable`);
    }
    for (const [k, w] of wanted) {
      if (this.#proxies.has(k)) continue;
      if (!this.#federation.hasRealm(w.realm)) continue;
      // Each proxy has an ID of its own (negative, like the callers'): the Dealer keys its tables
      // by session ID, and the advertised one is another router's to choose. A remote callee
      // advertised with the ID of a session here shared its registrations: withdrawn, it took
      // the local session's along, which then outlived the session (found by
      // test/mesh/fuzz-*.test.ts); and a callee's registrations share its session ID.
      const proxy = new RemoteCallee(this, w.node, w.realm, w.reg, w.callee.session, w.callee.features, -++this.#callerIds);
      const registration = { procedure: w.reg.procedure, match: w.reg.match, invoke: w.reg.invoke as InvokePolicy };
      if (this.#federation.addCallee(w.realm, registration, proxy)) this.#proxies.set(k, proxy);
      else this.#logger.warn({ realm: w.realm, procedure: w.reg.procedure, node: w.node }, 'remote registration conflicts with the local one; not used');
    }
    // Calls from routers that are gone: stop their work here.
    for (const [k, caller] of [...this.#callers]) {
      if (routes.has(caller.node)) continue;
      this.#callers.delete(k);
      for (const hk of [...this.#hops.keys()]) if (splitKey(hk)[0] === caller.node) this.#hops.delete(hk);
      this.#federation.callerGone(caller.realm, caller);
    }
  }

  #callerFor(node: NodeId, realm: string): RemoteCaller {
    const k = `${node}\u0000${realm}`;
    let caller = this.#callers.get(k);
    // Negative IDs never collide with real session IDs in the Dealer's tables.
    if (caller === undefined) this.#callers.set(k, (caller = new RemoteCaller(this, node, realm, -++this.#callerIds)));
    return caller;
  }

  // ---- overlay -------------------------------------------------------------------------------

  #maintainOverlay(now: number): void {
    const { minLinks, maxLinks, maxDialsInFlight } = this.config;
    const dialable = [...this.#peers]
      .filter(([id, p]) => !this.#active.has(id) && !this.#dialing.has(id) && p.nextDialAt <= now && (p.discovered || this.lsdb.reachable(id)))
      // Stable peers first (fewest failures), then random so nodes don't all pick the same one.
      .map(([id, p]) => ({ id, rank: p.failures + this.#random() }))
      .sort((a, b) => a.rank - b.rank);
    const dial = (id: NodeId) => { this.#dialing.add(id); this.#driver.connect(id); };
    for (const { id } of dialable) {
      if (this.#active.size + this.#dialing.size >= minLinks || this.#dialing.size >= maxDialsInFlight) break;
      dial(id);
    }
    // Having minLinks is not enough: a few nodes can link only among themselves and form an
    // island. A discovered peer that the mesh cannot reach is another island: link to it
    // (within maxLinks), and the two merge.
    if (this.#dialing.size < maxDialsInFlight && this.#active.size + this.#dialing.size < maxLinks) {
      const stranger = dialable.find(({ id }) => this.#peers.get(id)!.discovered && !this.lsdb.reachable(id));
      if (stranger !== undefined && !this.#dialing.has(stranger.id)) dial(stranger.id);
    }
    if (this.#active.size > maxLinks) {
      // Drop one redundant link per tick: never one that disconnects anything, and only where
      // the other side keeps more than its minimum too.
      const droppable = [...this.#active].filter((p) => (this.lsdb.get(p)?.links.length ?? 0) > minLinks && this.lsdb.connectedWithout(p)).sort();
      const victim = droppable.at(-1);
      if (victim !== undefined) {
        this.#logger.info({ peer: victim }, 'dropping redundant mesh link');
        this.#driver.disconnect(victim);
        this.linkDown(victim);
      }
    }
  }

  #now(): number { return this.#clock(); }
}

/** The error that replaces a call's frame too large for the link from `self` to `peer`. */
function tooLarge(frame: RoutedFrame, self: NodeId, peer: NodeId): ErrorFrame {
  const what = frame.t === 'result' ? 'result' : frame.t === 'error' ? `error ${frame.error}` : 'call payload';
  return {
    t: 'error', origin: frame.origin, dst: frame.origin, id: frame.id, realm: frame.realm, error: PAYLOAD_SIZE_EXCEEDED, details: {},
    args: [`the ${what} exceeds the maximum frame size of the mesh link ${self} -> ${peer}`],
  };
}

function isFinal(frame: RoutedFrame): boolean {
  return frame.t === 'error' || (frame.t === 'result' && !frame.progress);
}

// The ID first: a node ID is another router's string and may hold the separator itself (a call
// from "F\u00001" was split into origin "F" and ID NaN, and its cancel, sent on when a link
// went down, made the next router close its link: found by test/mesh/fuzz-*.test.ts).
function key(origin: NodeId, id: number): string { return `${id}\u0000${origin}`; }
function splitKey(k: string): [NodeId, number] {
  const i = k.indexOf('\u0000');
  return [k.slice(i + 1), Number(k.slice(0, i))];
}
// One proxy per registration of a remote callee: keyed by its session alone, a callee's second
// registration replaced its first, which no other node could call then.
function proxyKey(realm: string, node: NodeId, session: number, procedure: string, match: string): string {
  return `${realm}\u0000${node}\u0000${session}\u0000${match}\u0000${procedure}`;
}
