// `serve`'s RawSocket listeners: TCP (with TLS where configured) and Unix sockets, the admin
// socket among them.

import { listenRawSocket, type RawSocketOptions } from '../transport/rawsocket-server.ts';
import { PreAuthBudget } from '../transport/pre-auth-budget.ts';
import { listen, type ListenContext, type ListenerInfo } from './listening.ts';
import { loadListenerTls, summary } from './tls-listeners.ts';

export interface RawSocketListeners {
  /** Opens the TCP listeners of the config. */
  tcp(): Promise<void>;
  /** Opens these Unix socket listeners. */
  unix(listeners: readonly { path: string; mode?: string }[]): Promise<void>;
}

export function rawSocketListeners(ctx: ListenContext): RawSocketListeners {
  const { config, router, logger, tlsListeners, opened, infos } = ctx;
  const { limits } = config;
  // One budget per transport kind, shared by its listeners: it bounds the router, not a port.
  const rawOptions: RawSocketOptions = {
    maxMessageSize: limits.maxMessageSize,
    preAuthMaxMessageSize: limits.preAuthMaxMessageSize,
    preAuthBudget: new PreAuthBudget({
      limitBytes: limits.preAuthBufferBytes,
      logger: logger.child({ transport: 'rawsocket' }),
    }),
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    logger,
  };
  async function tcp(): Promise<void> {
    for (const [i, rs] of config.listeners.rawsocket.entries()) {
      const field = `listeners.rawsocket[${i}]`;
      const secure = rs.tls && loadListenerTls(field, rs.tls);
      const info: ListenerInfo = {
        transport: 'rawsocket',
        host: rs.host,
        port: rs.port,
        ...(secure && { tls: summary(secure) }),
      };
      const options = secure ? { ...rawOptions, tls: secure } : rawOptions;
      const l = await listen(info, () => listenRawSocket({ host: rs.host, port: rs.port }, router, options));
      opened.push(l);
      if (secure && l.reloadTls) tlsListeners.add(field, secure, (next) => l.reloadTls?.(next));
      infos.push({ ...info, port: l.port ?? rs.port });
    }
  }
  async function unix(listeners: readonly { path: string; mode?: string }[]): Promise<void> {
    for (const ux of listeners) {
      const info: ListenerInfo = { transport: 'unix', path: ux.path };
      const l = await listen(info, () => listenRawSocket({ path: ux.path, mode: ux.mode }, router, rawOptions));
      opened.push(l);
      infos.push(info);
    }
  }
  return { tcp, unix };
}
