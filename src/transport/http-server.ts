// An HTTP listener on node:http for the parts that are plain HTTP (metrics, health, console
// files): used where no WebSocket listener shares the address, and where uWebSockets.js cannot
// load at all, so /metrics and /healthz work on every system. Answers are computed
// synchronously by the handler; request bodies are never read.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** An answer to a plain HTTP request, computed synchronously (both HTTP servers take these). */
export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/** method: upper or lower case; path without the query; query without "?". */
export type HttpHandler = (method: string, path: string, query: string) => HttpReply;

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

// A scraper or a probe needs one or two connections; the cap keeps strangers from holding many.
const MAX_CONNECTIONS = 64;
// Slow-loris guard: a request's headers must arrive within this; answers are immediate.
const HEADERS_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_MS = 30_000;

export function listenHttp(target: { host: string; port: number }, handler: HttpHandler): Promise<HttpListener> {
  const sockets = new Set<Socket>();
  const server = http.createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_MS },
    (req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      let reply: HttpReply;
      try {
        reply = handler(req.method ?? 'GET', q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q + 1));
      } catch {
        reply = { status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'internal error\n' };
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      // Bodies are not read; drop whatever a client sends rather than buffer it.
      req.resume();
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
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
