// Proxies that let the Dealer treat sessions on other routers as Targets.
// RemoteCallee (on the caller's router) turns INVOCATION/INTERRUPT into call/chunk/cancel
// frames; RemoteCaller (on the callee's router) turns RESULT/ERROR into result/error frames.

import { MessageType as T, type Dict, type Message } from '../../wamp/messages.ts';
import type { SendResult, Target } from '../../router/target.ts';
import type { NodeId, RegistrationAd, RoutedFrame } from './frames.ts';

export interface FrameSink {
  readonly self: NodeId;
  /**
   * Sends a frame of a call along its path: 'closed' when there is no route (or no such call),
   * 'too-large' when the frame exceeds the next hop's maximum frame size (nothing was sent).
   */
  sendRouted(frame: RoutedFrame): SendResult;
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
  ) {
    this.#sink = sink;
    this.node = node;
    this.realm = realm;
    this.ad = ad;
    this.session = session;
    this.id = id;
    this.#features = new Set(features);
  }

  send(m: Message): SendResult {
    const base = { origin: this.#sink.self, dst: this.node, realm: this.realm };
    if (m.type === T.INVOCATION) {
      return this.#sink.isInFlight(this.#sink.self, m.request)
        ? this.#sink.sendRouted({
            t: 'chunk',
            ...base,
            id: m.request,
            progress: m.details.progress === true,
            ...payload(m.args, m.kwargs),
          })
        : this.#sink.sendRouted({
            t: 'call',
            ...base,
            id: m.request,
            procedure: this.ad.procedure,
            match: this.ad.match,
            session: this.session,
            details: m.details,
            ...payload(m.args, m.kwargs),
          });
    }
    if (m.type === T.INTERRUPT) {
      return this.#sink.sendRouted({
        t: 'cancel',
        ...base,
        id: m.request,
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
    const base = { origin: this.node, dst: this.node, realm: this.realm };
    let sent: SendResult = 'sent';
    if (m.type === T.RESULT) {
      sent = this.#sink.sendRouted({
        t: 'result',
        ...base,
        id: m.request,
        progress: m.details.progress === true,
        details: m.details,
        ...payload(m.args, m.kwargs),
      });
    } else if (m.type === T.ERROR) {
      sent = this.#sink.sendRouted({
        t: 'error',
        ...base,
        id: m.request,
        error: m.error,
        details: m.details,
        ...payload(m.args, m.kwargs),
      });
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

function payload(args: unknown[] | undefined, kwargs: Dict | undefined): { args?: unknown[]; kwargs?: Dict } {
  return { ...(args !== undefined && { args }), ...(kwargs !== undefined && { kwargs }) };
}
