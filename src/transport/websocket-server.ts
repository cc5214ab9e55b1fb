// WAMP-over-WebSocket on uWebSockets.js. uWS does the HTTP upgrade and WebSocket framing;
// this file picks the WAMP subprotocol, admits upgrades within the pre-login budget and hands
// each WebSocket to a WebSocketPeer (websocket-peer.ts).

import uWS from '@btc-vision/uwebsockets.js';
import { silentLogger, type Logger } from '../log.ts';
import type { PeerAcceptor } from '../router/peer.ts';
import { serializers as allSerializers } from '../serializers/index.ts';
import type { Serializer } from '../serializers/serializer.ts';
import { addressFromOctets, isLoopback } from '../net/address.ts';
import { clientDefaults } from '../net/client-limits.ts';
import { Deadlines } from '../net/deadlines.ts';
import type { HttpHandler, HttpReply } from './http-server.ts';
import type { TlsFiles } from './tls-files.ts';
import { serveUwsRoute, statusText } from './uws-http.ts';
import { uwsHead } from './uws-head.ts';
import type { HttpRoute } from './http-exchange.ts';
import { PreAuthBudget } from './pre-auth-budget.ts';
import { upgradeWhenAdmitted, WebSocketAdmission } from './websocket-admission.ts';
import { CLOSE_GOING_AWAY, WebSocketPeer, type UserData } from './websocket-peer.ts';

export interface WebSocketTarget {
  readonly host?: string;
  readonly port: number;
  /** The only URL path that upgrades; every other path answers 404. Default "/ws". */
  readonly path?: string;
}

export interface WebSocketOptions {
  /** Largest incoming message; uWS closes the connection on a bigger one. Default 16 MiB. */
  maxMessageSize?: number;
  /**
   * Largest message before WELCOME; a bigger one closes the connection with 1009. uWS hands
   * over only whole messages, so this is checked once one is complete: what a client can make
   * uWS buffer before login is still maxMessageSize (README, "Limits before login"). Default 64 KiB.
   */
  preAuthMaxMessageSize?: number;
  /**
   * Each WebSocket reserves maxMessageSize from it between upgrade and WELCOME (or close); an
   * upgrade it cannot cover waits up to handshakeTimeoutMs for a share, then gets 503 with
   * Retry-After (websocket-admission.ts). Shared by the router's WebSocket listeners (not with
   * RawSocket's); default: one of this listener's own, of preAuthWebSocketBytes.
   */
  preAuthBudget?: PreAuthBudget;
  /**
   * From TCP accept to a complete HTTP upgrade request, rounded up to whole seconds (uWS's
   * HTTP idle timeout, which dripping octets do not extend). Default 10 s.
   */
  handshakeTimeoutMs?: number;
  /**
   * Seconds without traffic before uWS closes the connection; uWS pings automatically in
   * between, so only dead peers hit it. 0 disables; otherwise 8..960. Default 120.
   */
  idleTimeoutSec?: number;
  /**
   * Hard cap on queued outbound bytes, past which uWS closes the connection. Set well above
   * the core's own slow-consumer limits, which act first. Default 64 MiB.
   */
  maxBackpressure?: number;
  /** Serializers offered to clients. Default: all the router has. */
  serializers?: readonly Serializer[];
  /**
   * wss: the certificate and key files (checked beforehand with loadTls, which uWS cannot do
   * in a way that names the problem).
   */
  tls?: TlsFiles;
  /**
   * More routes on the same App (MQTT over WebSocket); returns what closes their connections.
   * `admission(bytes)` gives such a route the same pre-login reservation as WAMP's WebSocket
   * (uWS buffers its messages natively too), from the same budget.
   */
  routes?: (app: uWS.TemplatedApp, admission: (bytes: number) => WebSocketAdmission) => () => void;
  logger?: Logger;
  /**
   * Plain HTTP on the same host and port (metrics, health, console files): asked for every
   * request that is not an upgrade on `path`, answered synchronously. Without it, 404.
   */
  http?: HttpHandler;
  /** Asynchronous HTTP routes (http-exchange.ts), asked before `http`. */
  httpRoutes?: readonly HttpRoute[];
}

export interface WebSocketListener {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Stops accepting, closes open WebSockets with 1001 and releases the port. */
  close(): Promise<void>;
  /**
   * wss only: serves new connections with these files from now on; open connections keep
   * the certificate they were opened with.
   */
  reloadTls?(files: TlsFiles): Promise<void>;
}

const DEFAULT_MAX_MESSAGE = clientDefaults.maxMessageSize;
const DEFAULT_IDLE_TIMEOUT_SEC = clientDefaults.wsIdleTimeoutSec;
const DEFAULT_MAX_BACKPRESSURE = clientDefaults.wsMaxBackpressureBytes;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = clientDefaults.handshakeTimeoutMs;
// In the native module (20.57), not in its index.d.ts.
type ChildApps = uWS.TemplatedApp & {
  getDescriptor(): unknown;
  addChildAppDescriptor(descriptor: unknown): void;
  removeChildAppDescriptor(descriptor: unknown): void;
};

export function listenWebSocket(
  target: WebSocketTarget,
  acceptor: PeerAcceptor,
  options: WebSocketOptions = {},
): Promise<WebSocketListener> {
  const idleTimeout = options.idleTimeoutSec ?? DEFAULT_IDLE_TIMEOUT_SEC;
  // uWS aborts the whole process (C++ terminate) on an out-of-range idleTimeout.
  if (!Number.isInteger(idleTimeout) || (idleTimeout !== 0 && (idleTimeout < 8 || idleTimeout > 960))) {
    return Promise.reject(new RangeError(`idleTimeoutSec must be 0 or an integer 8..960, got ${idleTimeout}`));
  }
  const path = target.path ?? '/ws';
  const offered = options.serializers ?? allSerializers;
  const log = (options.logger ?? silentLogger).child({ transport: 'websocket' });
  const open = new Set<WebSocketPeer>();
  let closing = false;
  let closed: Promise<void> | null = null;

  const preAuthMax = options.preAuthMaxMessageSize ?? clientDefaults.preAuthMaxMessageSize;
  const maxMessage = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE;
  const budget =
    options.preAuthBudget ?? new PreAuthBudget({ limitBytes: clientDefaults.preAuthWebSocketBytes, logger: log });
  if (maxMessage > budget.limitBytes) {
    return Promise.reject(
      new RangeError(`the pre-auth budget (${budget.limitBytes}) must be at least maxMessageSize (${maxMessage})`),
    );
  }
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const admission = new WebSocketAdmission({ budget, bytes: maxMessage, waitMs: handshakeTimeoutMs });
  const http = options.http;
  const httpRoutes = options.httpRoutes ?? [];
  // Read deadlines of the HTTP routes' request bodies.
  const deadlines = new Deadlines();
  const apps: { app: uWS.TemplatedApp; closeRoutes: (() => void) | undefined }[] = [];
  // One App per certificate (wss reloads make more, see reloadTls); plain WebSocket has one.
  const makeApp = (tls: TlsFiles | undefined): uWS.TemplatedApp => {
    const app =
      tls === undefined
        ? uWS.App()
        : uWS.SSLApp({
            cert_file_name: tls.cert,
            key_file_name: tls.key,
            ...(tls.passphrase !== undefined && { passphrase: tls.passphrase }),
          });
    // uWS's own default lets a connection that never completes its upgrade request live 30 s
    // and more; the handshake limit covers the HTTP part too. The method is in the native
    // module (20.57) but not in its index.d.ts.
    (app as uWS.TemplatedApp & { setIdleTimeout(seconds: number): void }).setIdleTimeout(
      Math.max(1, Math.ceil(handshakeTimeoutMs / 1000)),
    );
    app.ws<UserData>(path, {
      maxPayloadLength: maxMessage,
      idleTimeout,
      sendPingsAutomatically: idleTimeout > 0,
      maxBackpressure: options.maxBackpressure ?? DEFAULT_MAX_BACKPRESSURE,
      // Past the cap, close rather than let uWS silently drop a message (send() returning 2):
      // a lost RESULT would leave a caller waiting forever.
      closeOnBackpressureLimit: true,
      compression: uWS.DISABLED,

      // Settled before returning, except an upgrade that waits for a share of the pre-auth budget.
      upgrade(res, req, context) {
        const serializer = chooseSerializer(req.getHeader('sec-websocket-protocol'), offered);
        if (!serializer || closing) {
          res
            .writeStatus(closing ? '503 Service Unavailable' : '400 Bad Request')
            .writeHeader('Content-Type', 'text/plain')
            .end(
              closing
                ? 'shutting down\n'
                : `no acceptable WAMP subprotocol; offer one of: ${offered.map((s) => s.subprotocol).join(', ')}\n`,
              true,
            );
          return;
        }
        // The bare IP, without the ":port" RawSocket peers carry: uWS 20.57 exposes no remote
        // port (not in index.d.ts, not on HttpResponse or WebSocket, and the module exports only
        // us_socket_local_port; upstream uNetworking/uWebSockets.js#1160). Whoever needs just the
        // IP (sources, throttling) parses either form with security/address.ts parsePeer().
        const address = addressFromOctets(res.getRemoteAddress());
        // uWS will buffer up to maxMessage of an unfinished message natively before we see a byte
        // of it, so that worst case is reserved before the upgrade (websocket-admission.ts).
        // Newcomers wait (and are refused after the handshake limit) rather than the oldest
        // stranger being closed: that would let every new connection cut a login in progress.
        const key = req.getHeader('sec-websocket-key');
        const extensions = req.getHeader('sec-websocket-extensions');
        upgradeWhenAdmitted(res, admission, address, (share) => {
          const userData: UserData = {
            serializer,
            info: { type: 'websocket', peer: address, local: isLoopback(address) },
            reserved: share,
            peer: null,
          };
          res.upgrade(userData, key, serializer.subprotocol, extensions, context);
        });
      },

      open(ws) {
        const peer = new WebSocketPeer(ws, log, preAuthMax);
        ws.getUserData().peer = peer;
        open.add(peer);
        peer.attach(acceptor);
      },

      message(ws, message, isBinary) {
        ws.getUserData().peer?.receive(message, isBinary);
      },

      close(ws, code) {
        const data = ws.getUserData();
        data.reserved.release();
        const peer = data.peer;
        if (!peer) return;
        open.delete(peer);
        peer.wsClosed(code);
      },
    });
    const admissionFor = (bytes: number) => {
      if (bytes > budget.limitBytes)
        throw new RangeError(
          `the pre-auth budget (${budget.limitBytes}) must be at least a route's message size (${bytes})`,
        );
      return new WebSocketAdmission({ budget, bytes, waitMs: handshakeTimeoutMs });
    };
    apps.push({ app, closeRoutes: options.routes?.(app, admissionFor) });
    // Everything that is not an upgrade on `path`: the HTTP routes if any, else 404.
    app.any('/*', (res, req) => {
      if (httpRoutes.length > 0) {
        const head = uwsHead(res, req);
        // The first route that takes the request (its body limits say it does).
        for (const route of httpRoutes) {
          const limits = route.match(head);
          if (limits === undefined) continue;
          serveUwsRoute(res, head, route, limits, deadlines, log);
          return;
        }
      }
      if (http === undefined) {
        res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain').end('not found\n');
        return;
      }
      let reply: HttpReply;
      try {
        reply = http(req.getMethod(), req.getUrl(), req.getQuery() ?? '');
      } catch (error) {
        log.error({ err: error }, 'http: handler threw');
        reply = { status: 500, headers: { 'Content-Type': 'text/plain' }, body: 'internal error\n' };
      }
      res.cork(() => {
        res.writeStatus(statusText(reply.status));
        for (const [k, v] of Object.entries(reply.headers)) res.writeHeader(k, v);
        res.end(reply.body);
      });
    });
    return app;
  };

  const listenOn = (app: uWS.TemplatedApp, port: number): Promise<uWS.us_listen_socket> =>
    new Promise((resolve, reject) => {
      const onListen = (listenSocket: uWS.us_listen_socket | false): void => {
        if (listenSocket) resolve(listenSocket);
        else reject(new Error(`websocket: cannot listen on ${target.host ?? '*'}:${port}`));
      };
      // uSockets sets SO_REUSEPORT on Linux unless told the port is exclusive: a second router
      // (or a second listener in one config) would then "listen" on the same port and the kernel
      // would split the clients between them. Exclusive, the bind fails as node:net's does.
      // uWS.js takes (host, port, options, cb) though its typings list only (port, options, cb).
      if (target.host !== undefined)
        (app.listen as unknown as ListenWithHost).call(app, target.host, port, LISTEN_EXCLUSIVE_PORT, onListen);
      else app.listen(port, LISTEN_EXCLUSIVE_PORT, onListen);
    });

  const first = makeApp(options.tls);
  return listenOn(first, target.port).then(
    (firstSocket) => {
      const listenSocket = firstSocket;
      let child: ChildApps | undefined;
      const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
      log.info({ host: target.host, port, path, tls: options.tls !== undefined }, 'websocket listening');
      const listener: WebSocketListener = {
        port,
        close: () =>
          (closed ??= (async () => {
            closing = true;
            uWS.us_listen_socket_close(listenSocket);
            for (const peer of [...open]) peer.end(CLOSE_GOING_AWAY, 'server shutting down');
            for (const a of apps) a.closeRoutes?.();
            // One macrotask lets the close frames go out before app.close() cuts whatever is
            // left (plain HTTP keep-alive sockets, peers that did not finish closing). It also
            // lets the deferred closed() calls run before close() resolves.
            await new Promise((r) => setImmediate(r));
            for (const a of apps) a.app.close();
          })()),
      };
      if (options.tls === undefined) return listener;
      return {
        ...listener,
        reloadTls: async (files: TlsFiles) => {
          if (closing) return;
          // uWS cannot swap a running App's certificate, and cannot listen again on the port
          // while connections are open on it (no SO_REUSEADDR). The listening App hands each
          // accepted socket to its newest child App instead, which does the TLS handshake.
          const next = makeApp(files) as ChildApps;
          const acceptor = first as ChildApps;
          acceptor.addChildAppDescriptor(next.getDescriptor());
          if (child !== undefined) acceptor.removeChildAppDescriptor(child.getDescriptor());
          child = next;
          log.info({ host: target.host, port }, 'websocket: new TLS certificate in use');
        },
      };
    },
    (error: unknown) => {
      first.close();
      throw error;
    },
  );
}

/** uWS.ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT: the enum is declared in the typings only, so its value is written here. */
const LISTEN_EXCLUSIVE_PORT = 1 as uWS.ListenOptions;

type ListenWithHost = (
  this: uWS.TemplatedApp,
  host: string,
  port: number,
  options: uWS.ListenOptions,
  cb: (listenSocket: uWS.us_listen_socket | false) => void,
) => uWS.TemplatedApp;

/** The first subprotocol in the client's order that we speak (RFC 6455: client lists by preference). */
export function chooseSerializer(header: string, offered: readonly Serializer[]): Serializer | undefined {
  for (const name of header.split(',')) {
    const wanted = name.trim();
    const match = offered.find((s) => s.subprotocol === wanted);
    if (match) return match;
  }
  return undefined;
}
