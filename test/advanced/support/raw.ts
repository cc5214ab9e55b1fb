// Raw WAMP frames over real sockets (test/helpers/raw-client.ts), for what Autobahn|Python
// 22.7.1 cannot send: progressive call invocations, CANCEL with a mode, disclose_me, ppt_*,
// and HELLOs that announce exactly the features a test needs.

import { RawClient } from '../../helpers/raw-client.ts';
import { codecs, type CodecName } from './codecs.ts';
import type { Endpoints } from './router.ts';

export type Dict = Record<string, unknown>;
export type Msg = unknown[];

export const T = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;

const rpcFeatures = {
  progressive_call_results: true,
  progressive_call_invocations: true,
  call_canceling: true,
  call_timeout: true,
  caller_identification: true,
  payload_passthru_mode: true,
};

/** Every client feature this suite exercises, per role. */
export const fullRoles = {
  caller: { features: { ...rpcFeatures } },
  callee: { features: { ...rpcFeatures, pattern_based_registration: true, shared_registration: true } },
  publisher: {
    features: {
      publisher_exclusion: true,
      publisher_identification: true,
      subscriber_blackwhite_listing: true,
      payload_passthru_mode: true,
    },
  },
  subscriber: {
    features: { pattern_based_subscription: true, publisher_identification: true, payload_passthru_mode: true },
  },
};

/** Roles without any advanced feature. */
export const plainRoles = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

export interface RawOptions {
  realm: string;
  transport?: 'websocket' | 'rawsocket';
  serializer?: CodecName;
  roles?: Dict;
}

export interface RawPeer {
  readonly c: RawClient;
  readonly id: number;
  readonly welcome: Msg;
}

/** Connects with this suite's own codecs and joins; the WELCOME is kept for inspection. */
export async function rawJoin(ep: Endpoints, options: RawOptions): Promise<RawPeer> {
  const c = await RawClient.connect({
    transport: options.transport ?? 'websocket',
    serializer: codecs[options.serializer ?? 'json'],
    url: ep.wsUrl,
    host: ep.rawsocketHost,
    port: ep.rawsocketPort,
  });
  c.send([T.HELLO, options.realm, { roles: options.roles ?? fullRoles }]);
  const welcome = await c.next((m) => m[0] === T.WELCOME || m[0] === T.ABORT);
  if (welcome[0] !== T.WELCOME) {
    await c.destroy();
    throw new Error(`ABORT on join: ${JSON.stringify(welcome)}`);
  }
  c.sessionId = welcome[1] as number;
  return { c, id: welcome[1] as number, welcome };
}

export function isReplyTo(type: number, request: number): (m: Msg) => boolean {
  return (m) => m[0] === type && m[1] === request;
}

export function isErrorFor(requestType: number, request: number): (m: Msg) => boolean {
  return (m) => m[0] === T.ERROR && m[1] === requestType && m[2] === request;
}

/** RESULT or ERROR for a CALL request. */
export function isCallAnswer(request: number): (m: Msg) => boolean {
  return (m) => (m[0] === T.RESULT && m[1] === request) || (m[0] === T.ERROR && m[1] === T.CALL && m[2] === request);
}

export async function rawRegister(p: RawPeer, procedure: string, options: Dict = {}): Promise<number> {
  const request = p.c.requestId();
  p.c.send([T.REGISTER, request, options, procedure]);
  const reply = await p.c.next((m) => isReplyTo(T.REGISTERED, request)(m) || isErrorFor(T.REGISTER, request)(m));
  if (reply[0] !== T.REGISTERED) throw new Error(`REGISTER ${procedure} refused: ${JSON.stringify(reply)}`);
  return reply[2] as number;
}

export async function rawSubscribe(p: RawPeer, topic: string, options: Dict = {}): Promise<number> {
  const request = p.c.requestId();
  p.c.send([T.SUBSCRIBE, request, options, topic]);
  const reply = await p.c.next((m) => isReplyTo(T.SUBSCRIBED, request)(m) || isErrorFor(T.SUBSCRIBE, request)(m));
  if (reply[0] !== T.SUBSCRIBED) throw new Error(`SUBSCRIBE ${topic} refused: ${JSON.stringify(reply)}`);
  return reply[2] as number;
}

/** CALL with exactly these options; returns the request ID (answers via isCallAnswer). */
export function rawCall(
  p: RawPeer,
  procedure: string,
  options: Dict = {},
  args?: unknown[],
  kwargs?: Dict,
  request = p.c.requestId(),
): number {
  const msg: Msg = [T.CALL, request, options, procedure];
  if (args !== undefined || kwargs !== undefined) msg.push(args ?? []);
  if (kwargs !== undefined) msg.push(kwargs);
  p.c.send(msg);
  return request;
}

/**
 * A round trip through the router on this connection (a call to the router's own
 * wamp.session.count): everything the router sent to this peer before handling it has arrived
 * once it returns. How a test proves that something did NOT happen without sleeping.
 */
export async function rawBarrier(p: RawPeer): Promise<void> {
  const request = rawCall(p, 'wamp.session.count');
  await p.c.next(isCallAnswer(request));
}

/** Messages in the inbox (received, not yet taken) matching `pred`. */
export function pending(p: RawPeer, pred: (m: Msg) => boolean): Msg[] {
  return p.c.inbox.filter(pred);
}
