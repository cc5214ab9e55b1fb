// Proxies that let the Dealer treat sessions on other routers as Targets.
// RemoteCallee (on the caller's router) turns INVOCATION/INTERRUPT into call/chunk/cancel
// frames; RemoteCaller (on the callee's router) turns RESULT/ERROR into result/error frames.

import { MessageType as T, type Dict, type Message } from '../../wamp/messages.ts';
import type { SendResult, Target } from '../../router/target.ts';
import type { CborItems, RawPayload } from '../../wamp/raw-payload.ts';
import { callerIdentity, withoutIdentity } from './origin-identity.ts';
import type { CallFrame, ChunkFrame, ErrorFrame, NodeId, RegistrationAd, ResultFrame, RoutedFrame } from './frames.ts';

export interface FrameSink {
  readonly self: NodeId;
  /**
   * Sends a frame of a call along its path: 'closed' when there is no route (or no such call),
   * 'too-large' when the frame exceeds the next hop's maximum frame size (nothing was sent).
   */
  sendRouted(frame: RoutedFrame, proxy?: RemoteCallee): SendResult;
  nextCallId(): number;
  isInFlight(origin: NodeId, id: number): boolean;
}

export class RemoteCallee implements Target {
  /** Unique here (the Dealer's key); not the callee's session ID on its node, which is `session`. */
  readonly id: number;
  readonly session: number;
  readonly authid = '';
  readonly authrole = '';
  readonly remote = true;
  readonly node: NodeId;
  readonly realm: string;
  readonly ad: RegistrationAd;
  /** The proxy's key among the mesh's remote callees (advertise.ts calleeKey). */
  readonly key: string;
  readonly #features: ReadonlySet<string>;
  readonly #sink: FrameSink;

  constructor(
    sink: FrameSink,
    node: NodeId,
    realm: string,
    ad: RegistrationAd,
    session: number,
    features: readonly string[],
    id: number,
    key: string,
  ) {
    this.key = key;
    this.#sink = sink;
    this.node = node;
    this.realm = realm;
    this.ad = ad;
    this.session = session;
    this.id = id;
    this.#features = new Set(features);
  }

  send(m: Message): SendResult {
    const sink = this.#sink;
    if (m.type === T.INVOCATION) {
      if (sink.isInFlight(sink.self, m.request)) {
        const chunk: Mutable<ChunkFrame> = {
          t: 'chunk',
          origin: sink.self,
          dst: this.node,
          id: m.request,
          realm: this.realm,
          progress: m.details.progress === true,
        };
        return sink.sendRouted(withValues(chunk, m.args, m.kwargs));
      }
      // The caller's identity goes in `who` (origin-identity.ts), taken out of the details here
      // rather than in a copy of the frame made later.
      const who = callerIdentity(m.details);
      const call: Mutable<CallFrame> = {
        t: 'call',
        origin: sink.self,
        dst: this.node,
        id: m.request,
        realm: this.realm,
        procedure: this.ad.procedure,
        match: this.ad.match,
        session: this.session,
        details: who === undefined ? m.details : withoutIdentity(m.details),
      };
      if (who !== undefined) call.who = who;
      return sink.sendRouted(withPayload(call, m), this);
    }
    if (m.type === T.INTERRUPT) {
      return sink.sendRouted({
        t: 'cancel',
        origin: sink.self,
        dst: this.node,
        id: m.request,
        realm: this.realm,
        mode: typeof m.options.mode === 'string' ? m.options.mode : 'killnowait',
      });
    }
    return 'sent';
  }

  sendShared(): void {}
  nextRequestId(): number {
    return this.#sink.nextCallId();
  }
  supports(role: string, feature: string): boolean {
    return role === 'callee' && this.#features.has(feature);
  }
  details(): Dict {
    return { session: this.session, node: this.node };
  }
  kill(): void {}
}

/** One per (origin router, realm): the Dealer here sees every forwarded call as coming from it. */
export class RemoteCaller implements Target {
  readonly id: number;
  readonly authid = '';
  readonly authrole = '';
  readonly remote = true;
  readonly node: NodeId;
  readonly realm: string;
  readonly #sink: FrameSink;

  constructor(sink: FrameSink, node: NodeId, realm: string, id: number) {
    this.#sink = sink;
    this.node = node;
    this.realm = realm;
    this.id = id;
  }

  send(m: Message): SendResult {
    let sent: SendResult = 'sent';
    if (m.type === T.RESULT) {
      const result: Mutable<ResultFrame> = {
        t: 'result',
        origin: this.node,
        dst: this.node,
        id: m.request,
        realm: this.realm,
        progress: m.details.progress === true,
        details: m.details,
      };
      sent = this.#sink.sendRouted(withPayload(result, m));
    } else if (m.type === T.ERROR) {
      const error: Mutable<ErrorFrame> = {
        t: 'error',
        origin: this.node,
        dst: this.node,
        id: m.request,
        realm: this.realm,
        error: m.error,
        details: m.details,
      };
      sent = this.#sink.sendRouted(withValues(error, m.args, m.kwargs));
    }
    // Too large: the Dealer answers the caller with a (small) error instead. Any other failure
    // (the call is gone, no route back) is the mesh's to report: nothing more to send here.
    return sent === 'too-large' ? 'too-large' : 'sent';
  }

  sendShared(): void {}
  nextRequestId(): number {
    return this.#sink.nextCallId();
  }
  // The caller's router already applied the caller-side rules.
  supports(): boolean {
    return true;
  }
  details(): Dict {
    return { node: this.node };
  }
  kill(): void {}
}

type Mutable<F> = { -readonly [K in keyof F]: F[K] };

/**
 * The frame with the message's payload: as the client's CBOR octets when they came as such and
 * were not decoded (RawPayload), so that neither decoding them nor encoding the values again is
 * paid here (the mesh's frames are CBOR); else as its values.
 */
function withPayload<F extends { args?: unknown[]; kwargs?: Dict; raw?: CborItems }>(
  frame: F,
  m: Message & { args?: unknown[]; kwargs?: Dict },
): F {
  const items = (m as { raw?: RawPayload }).raw?.cborItems();
  if (items === undefined) return withValues(frame, m.args, m.kwargs);
  frame.raw = items;
  return frame;
}

/** The frame with args and kwargs, each only if the message has it (an absent key, not undefined, on the wire). */
function withValues<F extends { args?: unknown[]; kwargs?: Dict }>(
  frame: F,
  args: unknown[] | undefined,
  kwargs: Dict | undefined,
): F {
  if (args !== undefined) frame.args = args;
  if (kwargs !== undefined) frame.kwargs = kwargs;
  return frame;
}
