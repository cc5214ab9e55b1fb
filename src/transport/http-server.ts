// An HTTP listener on node:http: used where no WebSocket listener shares the address, and
// where uWebSockets.js cannot load at all, so /metrics and /healthz work on every system.
// Synchronous routes (metrics, health, console files) answer at once and never read a body;
// asynchronous routes (http-exchange.ts: the gateway, OAuth2) get their body read under their
// own limits and may answer later or stream.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isLoopback, unmapIPv4 } from '../net/address.ts';
import { defaultLimits } from '../router/limits.ts';
import { Deadlines } from '../net/deadlines.ts';
import { ConnectionHolds } from './http-hold.ts';
import {
  answer,
  BodyCollector,
  ClientGone,
  INTERNAL_ERROR,
  isStreamReply,
  type HttpHandler,
  type HttpHead,
  type HttpReply,
  type HttpRoute,
} from './http-exchange.ts';

// The reply types live with the asynchronous ones; re-exported for the synchronous routes.
export type { HttpHandler, HttpReply } from './http-exchange.ts';

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface HttpServerOptions {
  /** Asynchronous routes, asked before `handler`. */
  readonly routes?: readonly HttpRoute[];
  /** Open connections at most. Default 64: a scraper or a probe needs one or two. */
  readonly maxConnections?: number;
  /**
   * How long a plain answer may wait for the client to take it (http-hold.ts). Default: the
   * router's limits.slowConsumerTimeoutMs, as for a WAMP session that does not read.
   */
  readonly writeTimeoutMs?: number;
}

const MAX_CONNECTIONS = 64;
// Slow-loris guard: a request's headers must arrive within this (http-hold.ts). Bodies of
// asynchronous routes have their own read limit (BodyLimits.readTimeoutMs), checked by this server.
const HEADERS_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_MS = 30_000;
// How often node:http checks headersTimeout on connections that began a request: by default
// every 30 s, which let a slow head hold its connection for up to 40 s. The check only visits
// connections in the middle of a head.
const CHECK_INTERVAL_MS = 1000;
// How long a refused body is still read (and dropped) before the connection is cut.
const LINGER_MS = 1000;

export function listenHttp(
  target: { host: string; port: number },
  handler: HttpHandler,
  options: HttpServerOptions = {},
): Promise<HttpListener> {
  const sockets = new Set<Socket>();
  const routes = options.routes ?? [];
  const deadlines = new Deadlines();
  const holds = new ConnectionHolds(
    {
      headersMs: HEADERS_TIMEOUT_MS,
      keepAliveMs: KEEP_ALIVE_MS,
      writeMs: options.writeTimeoutMs ?? defaultLimits.slowConsumerTimeoutMs,
    },
    deadlines,
  );
  const server = http.createServer(
    // requestTimeout 0: the body limits are per route; headersTimeout still guards the head.
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: 0,
      keepAliveTimeout: KEEP_ALIVE_MS,
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
    },
    (req, res) => {
      holds.request(req, res);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const query = q < 0 ? '' : url.slice(q + 1);
      if (routes.length > 0) {
        const head = headOf(req, path, query);
        // The first route that takes the request (its body limits say it does).
        for (const route of routes) {
          const limits = route.match(head);
          if (limits === undefined) continue;
          serveAsync(req, res, head, route, limits, deadlines, holds);
          return;
        }
      }
      let reply: HttpReply;
      try {
        reply = handler(req.method ?? 'GET', path, query);
      } catch {
        reply = INTERNAL_ERROR;
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      holds.written(req, res);
      // Bodies are not read; drop whatever a client sends rather than buffer it.
      req.resume();
    },
  );
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    holds.opened(s);
  });
  server.on('clientError', (err: Error, socket: Socket) => holds.clientError(err, socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target.port, target.host, () => {
      server.off('error', reject);
      let closed: Promise<void> | undefined;
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          (closed ??= new Promise((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          })),
      });
    });
  });
}

function headOf(req: http.IncomingMessage, path: string, query: string): HttpHead {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  const remote = unmapIPv4(req.socket.remoteAddress ?? '');
  return { method: (req.method ?? 'GET').toUpperCase(), path, query, headers, remote, local: isLoopback(remote) };
}

function serveAsync(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  head: HttpHead,
  route: HttpRoute,
  limits: { maxBytes: number; readTimeoutMs: number },
  deadlines: Deadlines,
  holds: ConnectionHolds,
): void {
  const gone = new ClientGone();
  // 'close' on the response before it finished: the client went away.
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const refuse = (why: 'body_too_large' | 'body_timeout'): void => {
    timer.cancel();
    reading = false;
    if (res.headersSent) return;
    const reply = route.refuse(why, head);
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body);
    holds.written(req, res);
    // Lingering close: what the client still sends is read and dropped for a moment (closing at
    // once would meet its data with a reset, which loses this answer on its side); a body that
    // is not over by then has its connection cut.
    req.resume();
    const linger = setTimeout(() => req.socket.destroy(), LINGER_MS);
    req.once('end', () => clearTimeout(linger));
    req.once('close', () => clearTimeout(linger));
  };
  let reading = true;
  const timer = deadlines.after(limits.readTimeoutMs, { expire: () => refuse('body_timeout') });
  if (BodyCollector.declaredTooLarge(head, limits)) {
    refuse('body_too_large');
    return;
  }
  const collector = new BodyCollector(limits);
  req.on('data', (chunk: Buffer) => {
    if (reading && !collector.add(chunk)) refuse('body_too_large');
  });
  req.on('error', () => gone.abort());
  req.on('end', () => {
    if (!reading) return;
    reading = false;
    timer.cancel();
    answer(route, { ...head, body: collector.body() }, gone, (a) => {
      if (res.destroyed || res.writableEnded) return;
      if (!isStreamReply(a)) {
        res.writeHead(a.status, a.headers);
        res.end(a.body);
        holds.written(req, res);
        return;
      }
      res.writeHead(a.status, a.headers);
      // Headers go out now, so an event stream is open before its first event.
      res.flushHeaders();
      a.stream({
        write: (chunk) => (res.destroyed || res.writableEnded ? false : res.write(chunk)),
        end: () => {
          if (!res.writableEnded) res.end();
        },
        destroy: () => res.destroy(),
        bufferedAmount: () => res.writableLength,
      });
    });
  });
}
