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
import { ErrorUri } from '../../wamp/uris.ts';
import { calleeKey, type AdvertisedCallee } from './advertise.ts';
import type { CallFrame, ErrorFrame, NodeId, RoutedFrame } from './frames.ts';
import { detailsFor, withIdentity, type OriginIdentities } from './origin-identity.ts';
import type { LinkDriver } from './link-driver.ts';
import { RemoteCallee, RemoteCaller, type FrameSink } from './remote-targets.ts';

export const NETWORK_FAILURE = 'wamp.error.network_failure';
/** Spec "Basic Profile URIs": a message could not be delivered due to transport payload size limits. */
export const PAYLOAD_SIZE_EXCEEDED = ErrorUri.PAYLOAD_SIZE_EXCEEDED;

/** Where a call's frames go next: toward the callee, and back toward the caller (null = here). */
interface Hop {
  toward: NodeId | null;
  back: NodeId | null;
  realm: string;
  dst: NodeId;
  callee?: RemoteCallee;
}

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
  readonly #hops = new Map<string, Hop>();
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
    for (const [key, hop] of [...this.#hops]) {
      const [origin, id] = splitKey(key);
      if (hop.toward === peer) {
        // The path to the callee broke behind us: answer the caller now.
        this.#hops.delete(key);
        const failure: ErrorFrame = {
          t: 'error',
          origin,
          dst: origin,
          id,
          realm: hop.realm,
          error: NETWORK_FAILURE,
          details: {},
          args: [`mesh link ${this.self} -> ${peer} failed`],
        };
        if (hop.back === null) this.#deliverAnswer(failure, hop);
        else this.#ctx.driver.send(hop.back, failure);
      } else if (hop.back === peer) {
        // The caller can no longer be answered: stop the work downstream.
        this.#hops.delete(key);
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
      for (const hk of [...this.#hops.keys()]) if (splitKey(hk)[0] === caller.node) this.#hops.delete(hk);
      federation.callerGone(caller.realm, caller);
    }
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
  sendRouted(routed: RoutedFrame): SendResult {
    let frame = routed;
    const k = key(frame.origin, frame.id);
    const hop = this.#hops.get(k);
    if (frame.t === 'call') {
      frame = withIdentity(frame);
      if (this.#ctx.identities !== undefined) frame = this.#ctx.identities.seal(frame);
      const next = this.#ctx.routes().get(frame.dst);
      if (next === undefined) return 'closed';
      const callee = this.#proxies.get(calleeKey(frame.realm, frame.dst, frame.session, frame.procedure, frame.match));
      if (this.#ctx.driver.send(next, frame) === 'too-large') return 'too-large';
      // A send that failed otherwise is answered by linkDown, which needs the hop.
      this.#hops.set(k, {
        toward: next,
        back: null,
        realm: frame.realm,
        dst: frame.dst,
        ...(callee !== undefined && { callee }),
      });
      return 'sent';
    }
    if (hop === undefined) return 'closed';
    if (frame.t === 'chunk' || frame.t === 'cancel') {
      if (hop.toward === null) return 'closed';
      if (this.#ctx.driver.send(hop.toward, frame) === 'too-large') {
        // The Dealer ends the call for the caller; stop the callee's side of it too.
        this.#hops.delete(k);
        this.#stopCallee(hop.toward, hop, frame);
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
    if (this.#ctx.driver.send(hop.back, frame) === 'too-large') return 'too-large';
    if (isFinal(frame)) this.#hops.delete(k);
    return 'sent';
  }

  receiveRequest(peer: NodeId, frame: RoutedFrame & { t: 'call' | 'chunk' | 'cancel' }): undefined {
    const k = key(frame.origin, frame.id);
    if (frame.t === 'call') {
      // A call we already hold is a duplicate; invoking it again would run the callee twice.
      const held = this.#hops.get(k);
      if (held !== undefined) {
        // From another neighbour than the one it came from, it is another call under the same
        // ID (a node that took another's next IDs, or one restarted and counting from 1 again):
        // refused, not dropped, so that its caller is answered.
        if (held.back !== peer) {
          this.#ctx.driver.send(peer, {
            t: 'error',
            origin: frame.origin,
            dst: frame.origin,
            id: frame.id,
            realm: frame.realm,
            error: NETWORK_FAILURE,
            details: {},
            args: [`call ID ${frame.id} of ${frame.origin} is already in use at ${this.self}`],
          });
        }
        return undefined;
      }
      // Ours, and not in flight: forged (this node gives its calls their IDs). Passed on, it
      // would take the ID of a call this node is yet to make, which the next router would then
      // drop as its duplicate, leaving that caller unanswered.
      if (frame.origin === this.self) return undefined;
      if (frame.dst === this.self) {
        this.#hops.set(k, { toward: null, back: peer, realm: frame.realm, dst: frame.dst });
        if (!this.#ctx.federation.hasRealm(frame.realm)) {
          this.#refuseHere(frame, ErrorUri.NO_SUCH_PROCEDURE);
          return undefined;
        }
        this.#deliverCall(frame);
        return undefined;
      }
      const next = this.#ctx.routes().get(frame.dst);
      if (next === undefined || next === peer) {
        this.#ctx.driver.send(peer, {
          t: 'error',
          origin: frame.origin,
          dst: frame.origin,
          id: frame.id,
          realm: frame.realm,
          error: NETWORK_FAILURE,
          details: {},
          args: [`no route from ${this.self} to ${frame.dst}`],
        });
        return undefined;
      }
      if (this.#ctx.driver.send(next, frame) === 'too-large') {
        this.#ctx.driver.send(peer, tooLarge(frame, this.self, next));
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
      if (this.#ctx.driver.send(hop.toward, frame) === 'too-large') {
        // A chunk of a progressive call: the call ends, for the caller and for the callee.
        this.#hops.delete(k);
        this.#stopCallee(hop.toward, hop, frame);
        if (hop.back !== null) this.#ctx.driver.send(hop.back, tooLarge(frame, this.self, hop.toward));
        return undefined;
      }
      if (frame.t === 'cancel' && frame.mode !== 'kill') this.#hops.delete(k);
      return undefined;
    }
    if (frame.t === 'cancel') return this.#deliverCancel(frame);
    if (!this.#ctx.federation.hasRealm(frame.realm)) return undefined;
    this.#ctx.federation.chunk(frame.realm, this.#callerFor(frame.origin, frame.realm), frame.id, {
      progress: frame.progress,
      args: frame.args,
      kwargs: frame.kwargs,
    });
    return undefined;
  }

  receiveAnswer(peer: NodeId, frame: RoutedFrame & { t: 'result' | 'error' }): undefined {
    const k = key(frame.origin, frame.id);
    const hop = this.#hops.get(k);
    // Answers travel only along a path we remember; anything else belongs to an abandoned call.
    // And only from the callee's side: otherwise a neighbour the call did not go to could answer
    // in the callee's place, and the real answer would be dropped. In the call's realm: an
    // answer naming another one would end the call here without reaching any Dealer, leaving
    // the caller unanswered.
    if (hop === undefined || hop.toward !== peer || hop.realm !== frame.realm) return undefined;
    if (isFinal(frame)) this.#hops.delete(k);
    if (hop.back === null) {
      this.#deliverAnswer(frame, hop);
      return undefined;
    }
    if (this.#ctx.driver.send(hop.back, frame) === 'too-large') {
      // The caller gets an error in its place, and the call ends: a callee still sending
      // progressive results is canceled.
      if (!isFinal(frame)) {
        this.#hops.delete(k);
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

  #deliverAnswer(frame: RoutedFrame & { t: 'result' | 'error' }, hop: Hop): void {
    const callee = hop.callee;
    if (callee === undefined) return;
    if (frame.t === 'error') {
      this.#ctx.federation.error(frame.realm, callee, frame.id, {
        error: frame.error,
        details: frame.details,
        args: frame.args,
        kwargs: frame.kwargs,
      });
    } else {
      this.#ctx.federation.result(
        frame.realm,
        callee,
        frame.id,
        { progress: frame.progress, details: frame.details, args: frame.args, kwargs: frame.kwargs },
        callee.node,
      );
    }
  }

  /** Answers a call for a callee here with an error, back the way the call came. */
  #refuseHere(frame: CallFrame, error: string, message?: string): void {
    this.sendRouted({
      t: 'error',
      origin: frame.origin,
      dst: frame.origin,
      id: frame.id,
      realm: frame.realm,
      error,
      details: {},
      ...(message !== undefined && { args: [message] }),
    });
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
      this.#refuseHere(frame, ErrorUri.NOT_AUTHORIZED, `refused by ${this.self}: ${problem}`);
      return;
    }
    const who = frame.who;
    this.#ctx.federation.call(frame.realm, this.#callerFor(frame.origin, frame.realm), {
      request: frame.id,
      procedure: frame.procedure,
      match: frame.match,
      callee: frame.session,
      // Without mesh trust (tests of routing alone) and an identity, as the frame says.
      details: who === undefined && identities === undefined ? frame.details : detailsFor(frame),
      args: frame.args,
      kwargs: frame.kwargs,
      ...(who !== undefined && {
        identity: { authid: who[1], authrole: who[2], session: identities?.sessionOf(frame.origin, who) ?? -1 },
      }),
    });
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

/** The error that replaces a call's frame too large for the link from `self` to `peer`. */
function tooLarge(frame: RoutedFrame, self: NodeId, peer: NodeId): ErrorFrame {
  const what = frame.t === 'result' ? 'result' : frame.t === 'error' ? `error ${frame.error}` : 'call payload';
  return {
    t: 'error',
    origin: frame.origin,
    dst: frame.origin,
    id: frame.id,
    realm: frame.realm,
    error: PAYLOAD_SIZE_EXCEEDED,
    details: {},
    args: [`the ${what} exceeds the maximum frame size of the mesh link ${self} -> ${peer}`],
  };
}

function isFinal(frame: RoutedFrame): boolean {
  return frame.t === 'error' || (frame.t === 'result' && !frame.progress);
}

// The ID first: a node ID is another router's string and may hold the separator itself, so the
// key is split at the first separator (the ID's end), never inside the node ID.
function key(origin: NodeId, id: number): string {
  return `${id}\u0000${origin}`;
}
function splitKey(k: string): [NodeId, number] {
  const i = k.indexOf('\u0000');
  return [k.slice(i + 1), Number(k.slice(0, i))];
}
