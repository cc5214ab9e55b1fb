// What `serve` wires for seeing the router: the counters (before the Router exists, which
// takes them), then readiness parts, /metrics, the console's files and its snapshot procedure,
// and the HTTP routes each listener answers.

import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { consoleFiles, consoleScript } from '../observe/console-assets.ts';
import { Health } from '../observe/health.ts';
import type { StaticFile } from '../observe/console-assets.ts';
import { httpRoutes, type HttpService } from '../observe/http-routes.ts';
import type { HttpHandler } from '../transport/http-server.ts';
import { newCommitHistogram, PrometheusMetrics } from '../observe/prometheus.ts';
import { RecentLog } from '../observe/recent-log.ts';
import { consoleSnapshot, type SnapshotSources } from '../observe/snapshot.ts';
import { RouterMetrics, type Histogram } from '../router/metrics.ts';
import type { Realm } from '../router/realm.ts';
import type { Router } from '../router/router.ts';
import { unwritableReason, type Db } from '../store/database.ts';
import type { MeshRuntime } from './mesh.ts';
import type { Bridges } from '../bridge/bridges.ts';
import { gitRevision, packageVersion } from './version.ts';

type Address = { host: string; port: number };

/** The HTTP listeners on the host and port of a WebSocket listener share its server (port 0 never matches). */
export function sharesAddress(a: Address, b: Address): boolean {
  return a.port !== 0 && a.port === b.port && a.host === b.host;
}

export interface Counters {
  /** Given to the Router; absent when nothing serves /metrics, so the hot path counts nothing. */
  readonly metrics: RouterMetrics | undefined;
  /** Given to the event store. */
  readonly commits: Histogram | undefined;
  /** The console's recent warnings and errors; absent when no console is served. */
  readonly recent: RecentLog | undefined;
}

export function createCounters(config: Config): Counters {
  const on = config.listeners.http.some((h) => h.serve.includes('metrics'));
  return {
    metrics: on ? new RouterMetrics(() => performance.now()) : undefined,
    commits: on ? newCommitHistogram() : undefined,
    recent: config.listeners.http.some((h) => h.serve.includes('console')) ? new RecentLog() : undefined,
  };
}

export interface ObserveContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly router: Router;
  readonly adminRealm: Realm;
  readonly db: Db;
  readonly counters: Counters;
  readonly websocketOff: string | undefined;
  /** The TLS client listeners and the certificate each serves, for the console. */
  tls(): SnapshotSources['tls'];
  /** The mesh once started, and when it started (for the readiness grace). */
  mesh(): { runtime: MeshRuntime; startedAt: number } | undefined;
  bridges(): Bridges | undefined;
}

export interface Observability {
  readonly health: Health;
  routesFor(serve: readonly HttpService[]): HttpHandler;
  /** A WebSocket listener is up on `port`: the console's page is made for it when it is the console's. */
  websocketUp(ws: { host: string; port: number; path: string }, port: number): void;
  close(): void;
}

export async function observe(ctx: ObserveContext): Promise<Observability> {
  const { config, counters, router } = ctx;
  const health = new Health();
  health.addPart('database', () => {
    const why = unwritableReason(ctx.db);
    return why === undefined ? { ok: true } : { ok: false, detail: why };
  });
  if (ctx.websocketOff !== undefined) {
    const why = ctx.websocketOff;
    health.addPart('websocket', () => ({ ok: false, detail: why }), { gating: false });
  }
  if (config.mesh.enabled) {
    // A node that has not linked yet cannot reach remote callees: unready until its first link,
    // or for at most deadAfterMs (a node alone on its network still serves its own clients).
    const graceMs = config.mesh.deadAfterMs;
    health.addPart('mesh', () => {
      const mesh = ctx.mesh();
      if (mesh === undefined) return { ok: false, detail: 'not started' };
      const links = mesh.runtime.links.status().links.length;
      if (links > 0) return { ok: true, detail: `${links} link${links === 1 ? '' : 's'}` };
      return Date.now() - mesh.startedAt >= graceMs
        ? { ok: true, detail: 'no links: serving alone' }
        : { ok: false, detail: `no link yet (ready without one after ${graceMs} ms)` };
    });
  }
  const meshSource = () => ctx.mesh()?.runtime;
  const { metrics, commits } = counters;
  const prometheus =
    metrics === undefined || commits === undefined
      ? undefined
      : new PrometheusMetrics({
          version: packageVersion(),
          commit: gitRevision() ?? 'unknown',
          router,
          metrics,
          db: { file: ctx.db.name, commits },
          mesh: meshSource,
          bridges: () => ctx.bridges()?.status() ?? [],
        });

  // The console's files are filled in once the WebSocket listener it talks to has its port.
  const consoleMap = new Map<string, StaticFile>();
  const consoleHttp = config.listeners.http.find((h) => h.serve.includes('console'));
  const consoleWs =
    consoleHttp &&
    (config.listeners.websocket.find((w) => sharesAddress(w, consoleHttp)) ?? config.listeners.websocket[0]);
  let consoleJs: string | undefined;
  if (consoleHttp !== undefined) {
    const script =
      consoleWs === undefined
        ? {
            off: `no WebSocket listener to talk to${ctx.websocketOff !== undefined ? ' (WebSocket is off on this system)' : ''}`,
          }
        : await consoleScript();
    if ('off' in script) {
      ctx.logger.warn({ reason: script.off }, 'the web console is off');
      health.addPart('console', () => ({ ok: false, detail: script.off }), { gating: false });
    } else {
      consoleJs = script.js;
    }
  }
  ctx.adminRealm.dealer.addLocalProcedure('wampmesh.console.snapshot', () => ({
    args: [consoleSnapshot({ router, metrics, mesh: meshSource, recent: ctx.counters.recent, tls: ctx.tls() })],
  }));

  return {
    health,
    routesFor: (serve) =>
      httpRoutes(serve, {
        health,
        console: consoleMap,
        ...(prometheus !== undefined && { metrics: () => prometheus.render() }),
      }),
    websocketUp(ws, port) {
      if (ws !== consoleWs || consoleJs === undefined) return;
      for (const [p, f] of consoleFiles(consoleJs, { port, path: ws.path })) consoleMap.set(p, f);
    },
    close: () => prometheus?.close(),
  };
}
