// What `serve` does when WebSocket listeners are configured but uWebSockets.js cannot load
// on this system (every uWS.js build for Node 24 needs glibc >= 2.38: Debian 12, Ubuntu 22.04
// and Raspberry Pi OS bookworm have older ones).
//
// Policy:
// - no WebSocket listener configured: nothing is loaded, nothing is said;
// - uWS loads: unchanged;
// - uWS cannot load and RawSocket (TCP or Unix) listeners remain: WebSocket is disabled with
//   one warning that names what is missing, and the router serves RawSocket only;
// - uWS cannot load and WebSocket is the only transport, or WAMPMESH_REQUIRE_WEBSOCKET=1:
//   the start fails with that message (exit 1): a router nobody can reach is worse than none.

import { webSocketUnavailableReason } from './native.ts';

export interface ListenerSets {
  readonly websocket: readonly unknown[];
  readonly rawsocket: readonly unknown[];
  readonly unix: readonly unknown[];
}

export type WebSocketDecision =
  | { readonly action: 'keep' }
  | { readonly action: 'drop'; readonly warning: string }
  | { readonly action: 'fail'; readonly message: string };

export function decideWebSocket(
  listeners: ListenerSets,
  env: NodeJS.ProcessEnv = process.env,
  reasonOf: () => string | undefined = webSocketUnavailableReason,
): WebSocketDecision {
  if (listeners.websocket.length === 0) return { action: 'keep' };
  const reason = reasonOf();
  if (reason === undefined) return { action: 'keep' };
  const others = listeners.rawsocket.length + listeners.unix.length;
  if (others === 0) {
    return {
      action: 'fail',
      message: `${reason}. WebSocket is the only configured transport; configure a RawSocket listener to run without WebSocket`,
    };
  }
  if (env.WAMPMESH_REQUIRE_WEBSOCKET === '1') {
    return {
      action: 'fail',
      message: `${reason}. WAMPMESH_REQUIRE_WEBSOCKET=1 is set, so the router does not start without WebSocket`,
    };
  }
  return {
    action: 'drop',
    warning: `WebSocket is disabled: ${reason}. Serving RawSocket only (set WAMPMESH_REQUIRE_WEBSOCKET=1 to refuse to start instead)`,
  };
}
