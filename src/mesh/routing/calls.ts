// Calls across the mesh. A call follows one path out and the same path back: each node on the
// path remembers it in its hop table (toward the callee, back toward the caller), so a link
// failing anywhere on the path answers the caller at once with wamp.error.network_failure and
// never invokes the callee twice. On the caller's node a RemoteCallee stands for the callee,
// on the callee's node a RemoteCaller for the caller (remote-targets.ts); both reach the Dealer
// through the federation port only.

import type { Logger } from '../../log.ts';
import type { InvokePolicy } from '../../router/registrations.ts';
import type { Federation } from '../../router/federation.ts';
import type { SendResult } from '../../router/target.ts';
import { calleeKey, type AdvertisedCallee } from './advertise.ts';
import { deliverAnswer, deliverCall, deliverChunk } from './call-delivery.ts';
import { callError, isFinal, NETWORK_FAILURE, refused, tooLarge, whole } from './call-frames.ts';
import type { CallFrame, ChunkFrame, ErrorFrame, NodeId, PassedFrame, ResultFrame, RoutedFrame } from './frames.ts';
import type { LinkDriver } from './link-driver.ts';
import type { OriginIdentities } from './origin-identity.ts';
import { ErrorUri } from '../../wamp/uris.ts';
import { HopTable, type Hop } from './hop-table.ts';
import { RemoteCallee, RemoteCaller, type FrameSink } from './remote-targets.ts';

export { NETWORK_FAILURE, PAYLOAD_SIZE_EXCEEDED } from './call-frames.ts';

export interface CallContext {
  readonly self: NodeId;
  readonly driver: LinkDriver;
  readonly federation: Federation;
  readonly logger: Logger;
  /** Binds callers' identities to their nodes (mesh trust on); without it they pass unchecked. */
  readonly identities?: OriginIdentities | undefined;
  /** Next hop per reachable node. */
  routes(): ReadonlyMap<NodeId, NodeId>;
}

export class CallRouter implements FrameSink {
  readonly self: NodeId;
  readonly #ctx: CallContext;
  readonly #hops = new HopTable();
  #callIds = 0;
  readonly #proxies = new Map<string, RemoteCallee>();
  readonly #callers = new Map<string, RemoteCaller>();
  #callerIds = 0;
  /** Calls refused here because their caller's identity was not bound to their origin. */
  refusedIdentities = 0;

  constructor(ctx: CallContext) {
    this.#ctx = ctx;
    this.self = ctx.self;
  }

  get callsInFlight(): number {
    return this.#hops.size;
  }
  get remoteCallees(): number {
    return this.#proxies.size;
  }
  get remoteCallers(): number {
    return this.#callers.size;
  }

  /** The link to `peer` is down: calls whose path crossed it end, on both sides of the break. */
  linkDown(peer: NodeId): void {
    for (const [origin, id, hop] of this.#hops.all()) {
      if (hop.toward === peer) {
        // The path to the callee broke behind us: answer the caller now.
        this.#hops.delete(origin, id);
        const failure = callError(
          { origin, id, realm: hop.realm },
          NETWORK_FAILURE,
          `mesh link ${this.self} -> ${peer} failed`,
        );
        if (hop.back === null) this.#deliverAnswer(failure, hop);
        else this.#ctx.driver.send(hop.back, failure);
      } else if (hop.back === peer) {
        // The caller can no longer be answered: stop the work downstream.
        this.#hops.delete(origin, id);
        const cancel = { t: 'cancel' as const, origin, dst: hop.dst, id, realm: hop.realm, mode: 'killnowait' };
        if (hop.toward === null) this.#deliverCancel(cancel);
        else this.#ctx.driver.send(hop.toward, cancel);
      }
    }
  }

  /**
   * The reachable nodes changed, or what they advertise: installs the remote callees advertised
   * (`advertised`, by calleeKey), removes the others, and ends the calls of routers that are gone.
   */
  topologyChanged(advertised: ReadonlyMap<string, AdvertisedCallee>, routes: ReadonlyMap<NodeId, NodeId>): void {
    const federation = this.#ctx.federation;
    for (const [k, proxy] of [...this.#proxies]) {
      const w = advertised.get(k);
      if (
        w !== undefined &&
        w.reg.procedure === proxy.ad.procedure &&
        w.reg.match === proxy.ad.match &&
        w.reg.invoke === proxy.ad.invoke
      )
        continue;
      this.#proxies.delete(k);
      if (routes.has(proxy.node)) federation.withdrawCallee(proxy.realm, proxy);
      else federation.calleeGone(proxy.realm, proxy, NETWORK_FAILURE, `router ${proxy.node} is unreachable`);
    }
    for (const [k, w] of advertised) {
      if (this.#proxies.has(k)) continue;
      if (!federation.hasRealm(w.realm)) continue;
      // Each proxy has an ID of its own (negative, like the callers'): the Dealer keys its tables
      // by session ID, and the advertised one is another router's to choose, which may be the ID
      // of a session here (their registrations would be mixed up) and is shared by all of one
      // callee's registrations.
      const proxy = new RemoteCallee(
        this,
        w.node,
        w.realm,
        w.reg,
        w.callee.session,
        w.callee.features,
        -++this.#callerIds,
        k,
      );
      const registration = { procedure: w.reg.procedure, match: w.reg.match, invoke: w.reg.invoke as InvokePolicy };
      if (federation.addCallee(w.realm, registration, proxy)) this.#proxies.set(k, proxy);
      else
        this.#ctx.logger.warn(
          { realm: w.realm, procedure: w.reg.procedure, node: w.node },
          'remote registration conflicts with the local one; not used',
        );
    }
    // Calls from routers that are gone: stop their work here.
    for (const [k, caller] of [...this.#callers]) {
      if (routes.has(caller.node)) continue;
      this.#callers.delete(k);
      this.#hops.deleteOrigin(caller.node);
      federation.callerGone(caller.realm, caller);
    }
  }

  // ---- FrameSink (used by the proxies) ---------------------------------------------------

  nextCallId(): number {
    this.#callIds = this.#callIds >= Number.MAX_SAFE_INTEGER ? 1 : this.#callIds + 1;
    return this.#callIds;
  }

  isInFlight(origin: NodeId, id: number): boolean {
    return this.#hops.has(origin, id);
  }

  // A frame of a call too large for the next hop (over that node's maxFrameBytes) is never
  // sent, and the link stays up. Here, on the caller's or the callee's node, the Dealer learns
  // it from the proxies ('too-large') and answers the caller with wamp.error.payload_size_exceeded;
  // a hop in between sends that error back itself (#receiveRequest, #receiveAnswer, tooLarge).
  // Either way the other end of a progressive call is canceled.
  sendRouted(routed: RoutedFrame, proxy?: RemoteCallee): SendResult {
    let frame = routed;
    if (frame.t === 'call') {
      // Its caller's identity is in `who` already (remote-targets.ts); with mesh trust, tagged.
      const identities = this.#ctx.identities;
      if (identities !== undefined) frame = identities.seal(frame);
      const next = this.#ctx.routes().get(frame.dst);
      if (next === undefined) return 'closed';
      const callee =
        proxy !== undefined
          ? this.#proxies.get(proxy.key) === proxy
            ? proxy
            : undefined
          : this.#proxies.get(calleeKey(frame.realm, frame.dst, frame.session, frame.procedure, frame.match));
      if (this.#ctx.driver.send(next, frame) === 'too-large') return 'too-large';
      // A send that failed otherwise is answered by linkDown, which needs the hop.
      this.#hops.set(frame.origin, frame.id, { toward: next, back: null, realm: frame.realm, dst: frame.dst, callee });
      return 'sent';
    }
    const hop = this.#hops.get(frame.origin, frame.id);
    if (hop === undefined) return 'closed';
    if (frame.t === 'chunk' || frame.t === 'cancel') {
      if (hop.toward === null) return 'closed';
      if (this.#ctx.driver.send(hop.toward, frame) === 'too-large') {
        // The Dealer ends the call for the caller; stop the callee's side of it too.
        this.#hops.delete(frame.origin, frame.id);
        this.#stopCallee(hop.toward, hop, frame);
        return 'too-large';
      }
      // After "kill" the callee still answers, so the way back must stay known.
      if (frame.t === 'cancel' && frame.mode !== 'kill') this.#hops.delete(frame.origin, frame.id);
      return 'sent';
    }
    // result / error from a local callee, travelling back the way the call came.
    if (hop.back === null) {
      if (isFinal(frame)) this.#hops.delete(frame.origin, frame.id);
      return 'closed';
    }
    // Too large: the hop stays, so the Dealer's (small) error can follow the same way.
    if (this.#ctx.driver.send(hop.back, frame) === 'too-large') return 'too-large';
    if (isFinal(frame)) this.#hops.delete(frame.origin, frame.id);
    return 'sent';
  }

  /**
   * A call, chunk or cancel from a neighbour: passed on toward the callee (as the bytes it came
   * in, when it came as a PassedFrame), or acted on here; a reason when it is invalid.
   */
  receiveRequest(
    peer: NodeId,
    frame: (RoutedFrame & { t: 'call' | 'chunk' | 'cancel' }) | PassedFrame,
  ): string | undefined {
    if (frame.t === 'call') {
      // A call we already hold is a duplicate; invoking it again would run the callee twice.
      const held = this.#hops.get(frame.origin, frame.id);
      if (held !== undefined) {
        // From another neighbour than the one it came from, it is another call under the same
        // ID (a node that took another's next IDs, or one restarted and counting from 1 again):
        // refused, not dropped, so that its caller is answered.
        if (held.back !== peer) {
          const message = `call ID ${frame.id} of ${frame.origin} is already in use at ${this.self}`;
          this.#ctx.driver.send(peer, callError(frame, NETWORK_FAILURE, message));
        }
        return undefined;
      }
      // Ours, and not in flight: forged (this node gives its calls their IDs). Passed on, it
      // would take the ID of a call this node is yet to make, which the next router would then
      // drop as its duplicate, leaving that caller unanswered.
      if (frame.origin === this.self) return undefined;
      if (frame.dst === this.self) {
        const call = whole(frame) as CallFrame | string;
        if (typeof call === 'string') {
          if (frame.origin === peer) return call;
          this.#ctx.driver.send(peer, refused(frame, this.self, call));
          return undefined;
        }
        this.#hops.set(frame.origin, frame.id, {
          toward: null,
          back: peer,
          realm: frame.realm,
          dst: frame.dst,
          callee: undefined,
        });
        if (!this.#ctx.federation.hasRealm(frame.realm)) {
          this.sendRouted(callError(call, ErrorUri.NO_SUCH_PROCEDURE));
          return undefined;
        }
        this.#deliverCall(call);
        return undefined;
      }
      const next = this.#ctx.routes().get(frame.dst);
      if (next === undefined || next === peer) {
        this.#ctx.driver.send(peer, callError(frame, NETWORK_FAILURE, `no route from ${this.self} to ${frame.dst}`));
        return undefined;
      }
      if (this.#ctx.driver.send(next, frame) === 'too-large') {
        this.#ctx.driver.send(peer, tooLarge(frame, this.self, next));
        return undefined;
      }
      this.#hops.set(frame.origin, frame.id, {
        toward: next,
        back: peer,
        realm: frame.realm,
        dst: frame.dst,
        callee: undefined,
      });
      return undefined;
    }
    const hop = this.#hops.get(frame.origin, frame.id);
    // A call's further frames come the way the call came, from the caller's side. From anyone
    // else they are another call's (IDs are sequential per origin: easy to guess): a neighbour
    // could cancel or feed calls that do not pass through it. And they are in the call's realm.
    if (hop === undefined || hop.back !== peer || hop.realm !== frame.realm) return undefined;
    if (hop.toward !== null) {
      if (this.#ctx.driver.send(hop.toward, frame) === 'too-large') {
        // A chunk of a progressive call: the call ends, for the caller and for the callee.
        this.#hops.delete(frame.origin, frame.id);
        this.#stopCallee(hop.toward, hop, frame);
        if (hop.back !== null) this.#ctx.driver.send(hop.back, tooLarge(frame, this.self, hop.toward));
        return undefined;
      }
      if (frame.t === 'cancel' && frame.mode !== 'kill') this.#hops.delete(frame.origin, frame.id);
      return undefined;
    }
    if (frame.t === 'cancel') return this.#deliverCancel(frame);
    const chunk = whole(frame) as ChunkFrame | string;
    if (typeof chunk === 'string') {
      if (frame.origin === peer) return chunk;
      // Passed on by the neighbour, made by the caller's node: the call ends, the link stays.
      this.#hops.delete(frame.origin, frame.id);
      this.#deliverCancel({ origin: frame.origin, id: frame.id, realm: frame.realm, mode: 'killnowait' });
      this.#ctx.driver.send(peer, refused(frame, this.self, chunk));
      return undefined;
    }
    if (!this.#ctx.federation.hasRealm(chunk.realm)) return undefined;
    deliverChunk(this.#ctx.federation, this.#callerFor(chunk.origin, chunk.realm), chunk);
    return undefined;
  }

  /** A result or error from a neighbour: passed on toward the caller, or answered here; a reason when invalid. */
  receiveAnswer(peer: NodeId, frame: (RoutedFrame & { t: 'result' | 'error' }) | PassedFrame): string | undefined {
    const hop = this.#hops.get(frame.origin, frame.id);
    // Answers travel only along a path we remember; anything else belongs to an abandoned call.
    // And only from the callee's side: otherwise a neighbour the call did not go to could answer
    // in the callee's place, and the real answer would be dropped. In the call's realm: an
    // answer naming another one would end the call here without reaching any Dealer, leaving
    // the caller unanswered.
    if (hop === undefined || hop.toward !== peer || hop.realm !== frame.realm) return undefined;
    if (hop.back === null) {
      const answer = whole(frame) as ResultFrame | ErrorFrame | string;
      if (typeof answer === 'string') {
        if (hop.dst === peer) return answer;
        // Passed on by the neighbour, made by the callee's node: the caller is answered with
        // the reason, the callee's side stopped, and the link stays.
        this.#hops.delete(frame.origin, frame.id);
        if (!isFinal(frame)) this.#stopCallee(peer, hop, frame);
        this.#deliverAnswer(refused(frame, this.self, answer), hop);
        return undefined;
      }
      if (isFinal(answer)) this.#hops.delete(frame.origin, frame.id);
      this.#deliverAnswer(answer, hop);
      return undefined;
    }
    if (isFinal(frame)) this.#hops.delete(frame.origin, frame.id);
    if (this.#ctx.driver.send(hop.back, frame) === 'too-large') {
      // The caller gets an error in its place, and the call ends: a callee still sending
      // progressive results is canceled.
      if (!isFinal(frame)) {
        this.#hops.delete(frame.origin, frame.id);
        if (hop.toward !== null) this.#stopCallee(hop.toward, hop, frame);
      }
      this.#ctx.driver.send(hop.back, tooLarge(frame, this.self, hop.back));
    }
    return undefined;
  }

  /** Cancels (killnowait) the callee's side of a call whose answers nobody will take. */
  #stopCallee(toward: NodeId, hop: Hop, frame: { origin: NodeId; id: number; realm: string }): void {
    this.#ctx.driver.send(toward, {
      t: 'cancel',
      origin: frame.origin,
      dst: hop.dst,
      id: frame.id,
      realm: frame.realm,
      mode: 'killnowait',
    });
  }

  #deliverAnswer(frame: ResultFrame | ErrorFrame, hop: Hop): void {
    if (hop.callee !== undefined) deliverAnswer(this.#ctx.federation, hop.callee, frame);
  }

  /** A call for a callee here: its caller's identity checked, the realm's grants applied to it. */
  #deliverCall(frame: CallFrame): void {
    const identities = this.#ctx.identities;
    const problem = identities?.problem(frame);
    if (problem !== undefined) {
      this.refusedIdentities++;
      this.#ctx.logger.warn(
        { origin: frame.origin, realm: frame.realm, procedure: frame.procedure, who: frame.who },
        `mesh: call refused: ${problem}`,
      );
      this.sendRouted(callError(frame, ErrorUri.NOT_AUTHORIZED, `refused by ${this.self}: ${problem}`));
      return;
    }
    deliverCall(this.#ctx.federation, this.#callerFor(frame.origin, frame.realm), frame, identities);
  }

  #deliverCancel(frame: { origin: NodeId; id: number; realm: string; mode: string }): undefined {
    if (!this.#ctx.federation.hasRealm(frame.realm)) return undefined;
    this.#ctx.federation.cancel(frame.realm, this.#callerFor(frame.origin, frame.realm), frame.id, frame.mode);
    return undefined;
  }

  #callerFor(node: NodeId, realm: string): RemoteCaller {
    const k = `${node}\u0000${realm}`;
    let caller = this.#callers.get(k);
    // Negative IDs never collide with real session IDs in the Dealer's tables.
    if (caller === undefined) this.#callers.set(k, (caller = new RemoteCaller(this, node, realm, -++this.#callerIds)));
    return caller;
  }
}
