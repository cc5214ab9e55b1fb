// `serve`'s stand-alone HTTP listeners (node:http), loaded only when the config has one that
// does not share a WebSocket listener's address (those are served by uWebSockets.js).

import type { Config } from '../config/config.ts';
import type { HttpService } from '../observe/http-routes.ts';
import type { HttpRoute } from '../transport/http-exchange.ts';
import { listenHttp } from '../transport/http-server.ts';
import { listen, type ListenerInfo, type Listening } from './listening.ts';
import { sharesAddress, type Observability } from './observe.ts';

export async function listenHttpServers(
  config: Config,
  seen: Observability,
  routesOf: (serve: readonly HttpService[]) => HttpRoute[],
  opened: Listening[],
  infos: ListenerInfo[],
): Promise<void> {
  for (const h of config.listeners.http) {
    if (config.listeners.websocket.some((ws) => sharesAddress(ws, h))) continue;
    const info: ListenerInfo = { transport: 'http', host: h.host, port: h.port, serve: h.serve };
    const l = await listen(info, () =>
      listenHttp(h, seen.routesFor(h.serve), {
        routes: routesOf(h.serve),
        // An answer not taken is a slow consumer, as a WAMP session that does not read.
        writeTimeoutMs: config.limits.slowConsumerTimeoutMs,
        ...(h.serve.includes('gateway') && { maxConnections: config.gateway.maxConnections }),
      }),
    );
    opened.push(l);
    infos.push({ ...info, port: l.port ?? h.port });
  }
}
