// What `serve` and its per-transport listener modules (listen-*.ts) share: what a listener is
// once open, how it is described on the listening line, and the one error a failed listen gives.

import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { formatHostPort } from '../net/address.ts';
import type { Router } from '../router/router.ts';
import { StartError } from './errors.ts';
import type { TlsListeners, TlsSummary } from './tls-listeners.ts';

export type ListenerInfo =
  | { transport: 'websocket'; host: string; port: number; path: string; tls?: TlsSummary }
  | { transport: 'rawsocket'; host: string; port: number; tls?: TlsSummary }
  | { transport: 'unix'; path: string }
  | { transport: 'mqtt'; host: string; port: number; realm: string; tls?: TlsSummary }
  | { transport: 'mesh'; host: string; port: number; node: string }
  | { transport: 'http'; host: string; port: number; serve: readonly string[] };

export interface Listening {
  port?: number;
  close(): Promise<void>;
}

/** What a listener module gets from `serve`, and the lists it adds its listeners to. */
export interface ListenContext {
  readonly config: Config;
  readonly router: Router;
  readonly logger: Logger;
  readonly tlsListeners: TlsListeners;
  /** Closed when a later listener fails, and when the router stops. */
  readonly opened: Listening[];
  /** The listening line. */
  readonly infos: ListenerInfo[];
}

export function describe(info: ListenerInfo): string {
  if (info.transport === 'unix') return `unix socket ${info.path}`;
  if (info.transport === 'mesh') return `mesh links ${info.host}:${info.port}`;
  if (info.transport === 'http') return `http ${formatHostPort(info.host, info.port)} (${info.serve.join(', ')})`;
  return `${info.transport} ${formatHostPort(info.host, info.port)}`;
}

export async function listen<L extends Listening>(info: ListenerInfo, start: () => Promise<L>): Promise<L> {
  try {
    return await start();
  } catch (e) {
    // uWebSockets.js reports no reason at all, only that listen failed; say what it usually is.
    const reason = (e as Error).message;
    const why = reason.includes('cannot listen') ? 'port in use, or not a local address' : reason;
    throw new StartError(`cannot listen on ${describe(info)}: ${why}`);
  }
}
