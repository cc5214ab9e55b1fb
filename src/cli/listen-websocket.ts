// `serve`'s WebSocket listeners (uWebSockets.js), loaded only when the config has one: from the
// sources, importing the server loads uWebSockets.js, which fails where glibc is too old (the
// single executable loads it lazily anyway). An HTTP listener on the same address shares the
// WebSocket listener's server, and an MQTT path on it is served there too.

import type { HttpService } from '../observe/http-routes.ts';
import type { HttpRoute } from '../transport/http-exchange.ts';
import { PreAuthBudget } from '../transport/pre-auth-budget.ts';
import { listenWebSocket, type WebSocketOptions } from '../transport/websocket-server.ts';
import { listen, type ListenContext, type ListenerInfo } from './listening.ts';
import type { MqttEndpoints } from './listen-mqtt.ts';
import { sharesAddress, type Observability } from './observe.ts';
import { loadListenerTls, summary } from './tls-listeners.ts';

export async function listenWebSockets(
  ctx: ListenContext,
  http: { seen: Observability; routesOf: (serve: readonly HttpService[]) => HttpRoute[] },
  mqtt: MqttEndpoints | undefined,
): Promise<void> {
  const { config, router, logger, tlsListeners, opened, infos } = ctx;
  const { seen, routesOf } = http;
  const { limits } = config;
  // One budget per transport kind, shared by its listeners: it bounds the router, not a port.
  const wsOptions: WebSocketOptions = {
    maxMessageSize: limits.maxMessageSize,
    preAuthMaxMessageSize: limits.preAuthMaxMessageSize,
    preAuthBudget: new PreAuthBudget({
      limitBytes: limits.preAuthWebSocketBytes,
      perAddress: limits.preAuthConnectionsPerAddress,
      logger: logger.child({ transport: 'websocket' }),
    }),
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    idleTimeoutSec: limits.wsIdleTimeoutSec,
    logger,
  };
  for (const [i, ws] of config.listeners.websocket.entries()) {
    const field = `listeners.websocket[${i}]`;
    const secure = ws.tls && loadListenerTls(field, ws.tls);
    const info: ListenerInfo = {
      transport: 'websocket',
      host: ws.host,
      port: ws.port,
      path: ws.path,
      ...(secure && { tls: summary(secure) }),
    };
    const shared = config.listeners.http.filter((h) => sharesAddress(ws, h));
    const serve = [...new Set(shared.flatMap((h) => h.serve))];
    const routes = ws.mqtt && mqtt?.route(ws.mqtt, router);
    const options = {
      ...wsOptions,
      ...(ws.maxMessageSize !== undefined && { maxMessageSize: ws.maxMessageSize }),
      ...(serve.length > 0 && { http: seen.routesFor(serve), httpRoutes: routesOf(serve) }),
      ...(routes && { routes }),
      ...(secure && { tls: secure.files }),
    };
    const l = await listen(info, () => listenWebSocket(ws, router, options));
    opened.push(l);
    if (secure && l.reloadTls) tlsListeners.add(field, secure, (next) => l.reloadTls?.(next.files));
    infos.push({ ...info, port: l.port ?? ws.port });
    seen.websocketUp(ws, l.port ?? ws.port);
    if (serve.length > 0) infos.push({ transport: 'http', host: ws.host, port: l.port ?? ws.port, serve });
  }
}
