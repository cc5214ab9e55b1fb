// `wampmesh serve`: wires config, logger, router and listeners together. startServer() does the
// wiring and nothing process-wide, so tests can run it in-process; runServe() adds what a
// foreground service needs: the "listening" line on stdout, signals and the exit code.

import path from 'node:path';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { RealmConfig } from '../router/realm.ts';
import { Router } from '../router/router.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { SqliteEventStore } from '../store/sqlite-event-store.ts';
import { allowAll, anonymousAuthenticator } from '../router/auth.ts';
import {
  attachSecurity,
  createSecurity,
  toRealmConfig as storeRealmConfig,
  type RealmRecord,
  type Security,
} from '../security/index.ts';
import { MESH_OFF } from '../security/admin.ts';
import { adminSocketPath } from './admin-client.ts';
import { StartError } from './errors.ts';
import type { MeshRuntime } from './mesh.ts';
import type { OAuth2Service } from '../oauth2/service.ts';
import { startBridges } from './bridges.ts';
import type { Bridges } from '../bridge/bridges.ts';
import { notifyReady, notifyStopping, prepareNotifySocket, startWatchdog } from '../runtime/sd-notify.ts';
import { decideWebSocket } from '../runtime/websocket-policy.ts';
import { startFdWatch } from '../runtime/fd-watch.ts';
import { IdleHeap } from '../runtime/idle-heap.ts';
import { settleHeap } from '../runtime/settle-heap.ts';
import type { Health } from '../observe/health.ts';
import type { HttpService } from '../observe/http-routes.ts';
import type { HttpRoute } from '../transport/http-exchange.ts';
import { createCounters, observe, sharesAddress } from './observe.ts';
import { TlsListeners, type ReloadResult } from './tls-listeners.ts';
import { withAssertedIdentities } from '../gateway/asserted.ts';
import { describe, type ListenContext, type ListenerInfo, type Listening } from './listening.ts';
import { rawSocketListeners } from './listen-rawsocket.ts';

export type { ListenerInfo } from './listening.ts';

export interface StartOptions {
  /** Why WebSocket is off on this system (uWebSockets.js cannot load), shown by /readyz?verbose=1. */
  websocketOff?: string;
}

export interface Server {
  /** Where the router actually listens (port 0 replaced by the port the OS chose). */
  readonly listeners: readonly ListenerInfo[];
  /** What /readyz reports; `ready` once every listener is up. */
  readonly health: Health;
  /** The configured bridges (undefined without any): their status, outbox and dead letters. */
  readonly bridges: Bridges | undefined;
  /** GOODBYE to every session, then closes listeners and connections; resolves within about 2 s. */
  stop(): Promise<void>;
  /** Reads the TLS listeners' certificate and key files again (SIGHUP). */
  reloadTls(): Promise<ReloadResult[]>;
}

const TICK_MS = 1000; // the router's timers (hello timeout, slow consumers) have 1 s resolution
const STOP_GRACE_MS = 2000; // how long clients get to answer GOODBYE before connections are cut

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `done()` holds or `ms` have passed, whichever is first. */
async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(20);
}

/** The config file's realm entry as the router takes it. */
export function toRealmConfig(r: Config['realms'][number]): RealmConfig {
  return {
    uri: r.uri,
    anonymous: r.anonymous,
    anonymousFrom: r.anonymousFrom,
    uriCheck: r.uriCheck,
    callerDisclosure: r.callerDisclosure,
    publisherDisclosure: r.publisherDisclosure,
    history: r.history.map((h) => ({
      topic: h.topic,
      match: h.match,
      limit: h.limit,
      maxAgeMs: h.maxAgeSec * 1000,
      maxTopics: h.maxTopics,
    })),
    limits: r.limits,
    metaKill: r.metaKill,
  };
}

export async function startServer(config: Config, log: Logger, options: StartOptions = {}): Promise<Server> {
  const counters = createCounters(config);
  // With a console, what the router logs at warn and above also goes to its recent-errors list.
  const logger = counters.recent?.wrap(log) ?? log;
  if (config.bridges.length > 0) {
    // Before anything is opened: a bridge's unusable file stops the start with its field named.
    const { BridgeFileError, checkBridgeFiles } = await import('../bridge/files.ts');
    try {
      checkBridgeFiles(config.bridges);
    } catch (e) {
      throw e instanceof BridgeFileError ? new StartError(e.message) : e;
    }
  }
  let db: Db;
  try {
    // Creates the data folder. Retained events and history survive restarts; the exclusive
    // lock taken here also keeps a second router off the same data folder.
    db = openDatabase(config.dataDir);
  } catch (e) {
    throw new StartError((e as Error).message);
  }
  const { limits } = config;
  let security: Security;
  try {
    // Realms, users and grants live in the store; the config file's realms (anonymous or not)
    // are served as configured, with the store's realms taking precedence on a clash.
    security = createSecurity(db, { fallbackAuthenticator: anonymousAuthenticator, fallbackAuthorizer: allowAll });
  } catch (e) {
    db.close();
    throw new StartError(`${db.name}: cannot read the security configuration: ${(e as Error).message}`);
  }
  const configured = config.realms.map(toRealmConfig);
  // The store holds no history rules: a store realm of a config realm's URI (one the mesh
  // replicated, say) keeps that realm's, or the history kept under them would stop growing.
  const historyOf = (r: RealmRecord): Partial<RealmConfig> => {
    const history = configured.find((c) => c.uri === r.uri)?.history;
    return history === undefined ? {} : { history };
  };
  const storeRealms = security.realmConfigs(historyOf);
  const fileRealms = configured.filter((r) => !storeRealms.some((s) => s.uri === r.uri));
  for (const r of fileRealms) {
    if (r.anonymous && r.anonymousFrom === 'anywhere')
      logger.warn({ realm: r.uri }, 'realm admits anonymous sessions from the network (anonymousFrom: "anywhere")');
  }
  // The MQTT endpoints' parts, loaded only when the config has one; the kept sessions rejoin
  // through the router's authenticator.
  const mqttOn = config.listeners.mqtt.length > 0 || config.listeners.websocket.some((w) => w.mqtt);
  const mqtt = mqttOn
    ? (await import('./listen-mqtt.ts')).mqttEndpoints(config, db, security, storeRealms, logger)
    : undefined;
  const authenticator = mqtt?.authenticator ?? security.authenticator;
  // Counting costs the hot path a little, so it happens only when something serves /metrics.
  const router = new Router({
    ...(counters.metrics !== undefined && { metrics: counters.metrics }),
    store: new SqliteEventStore(db, counters.commits),
    realms: [...fileRealms, ...storeRealms],
    // The gateway's sessions for bearer tokens and webhooks log in as identities it verified.
    authenticator: withAssertedIdentities(authenticator),
    authorizer: security.authorizer,
    limits: {
      helloTimeoutMs: limits.handshakeTimeoutMs,
      outboundSoftLimitBytes: limits.outboundSoftLimitBytes,
      outboundHardLimitBytes: limits.outboundHardLimitBytes,
      slowConsumerTimeoutMs: limits.slowConsumerTimeoutMs,
    },
    logger,
  });

  attachSecurity(router, security, { logger, realmConfig: (r) => storeRealmConfig(r, historyOf(r)) });
  // Loaded only when the config uses them: the mesh, and OAuth2 with its HTTP routes.
  const meshModule = config.mesh.enabled ? await import('./mesh.ts') : undefined;
  const oauth2Http = config.oauth2.realms.length > 0 ? await import('../oauth2/http.ts') : undefined;
  // OAuth2 only for the realms the config lists; it also enables the oauth2 authmethod.
  let oauth2: OAuth2Service | undefined;
  if (config.oauth2.realms.length > 0) {
    const { OAuth2Service } = await import('../oauth2/service.ts');
    try {
      oauth2 = new OAuth2Service({
        db,
        security,
        settings: config.oauth2,
        nodeId: meshModule?.nodeIdFor(config.mesh, config.dataDir) ?? 'local',
        logger: logger.child({ component: 'oauth2' }),
      });
    } catch (e) {
      db.close();
      throw new StartError(`oauth2: ${(e as Error).message}`);
    }
  }
  const adminRealm = router.realms.get(security.adminRealm)!;
  let bridges: Bridges | undefined;
  try {
    // Before the listeners: the first client's publications already go to the bridges.
    bridges = await startBridges(config, router, db, adminRealm, logger);
  } catch (e) {
    db.close();
    throw e;
  }

  let mesh: MeshRuntime | undefined;
  let meshStartedAt = 0;
  const tlsListeners = new TlsListeners();
  const seen = await observe({
    tls: () => tlsListeners.list(),
    config,
    logger,
    router,
    adminRealm,
    db,
    counters,
    websocketOff: options.websocketOff,
    mesh: () => (mesh === undefined ? undefined : { runtime: mesh, startedAt: meshStartedAt }),
    bridges: () => bridges,
  });
  const { health } = seen;
  // Asynchronous HTTP routes (transport/http-exchange.ts), by the HTTP service that mounts them:
  // a listener whose `serve` names the service answers them, on either HTTP server.
  const mounted: Partial<Record<HttpService, readonly HttpRoute[]>> = {};
  const routesOf = (serve: readonly HttpService[]): HttpRoute[] => serve.flatMap((s) => mounted[s] ?? []);
  if (oauth2 !== undefined) mounted.oauth2 = [oauth2Http!.oauth2Route(oauth2)];
  // Bearer tokens are OAuth2 access tokens of this node's OAuth2 service (refused without one).
  const gateway = config.listeners.http.some((h) => h.serve.includes('gateway'))
    ? (await import('./gateway.ts')).startGateway(
        config,
        router,
        security,
        logger,
        oauth2 && oauth2Http!.bearerVerifier(oauth2),
      )
    : undefined;
  if (gateway !== undefined) mounted.gateway = [gateway.route];

  const opened: Listening[] = [];
  const infos: ListenerInfo[] = [];
  // The admin CLI talks to a running router over this socket (trust for "admin" on Unix sockets).
  const adminSocket = adminSocketPath(config.dataDir);
  const unixListeners = config.listeners.unix.some((u) => path.resolve(u.path) === adminSocket)
    ? config.listeners.unix
    : [...config.listeners.unix, { path: adminSocket, mode: '0600' }];
  // Stand-alone HTTP listeners come up first and go down last: probes get 503 while the router
  // starts and stops rather than "connection refused", which reads as dead.
  const httpOpened: Listening[] = [];
  const ctx: ListenContext = { config, router, logger, tlsListeners, opened, infos };
  try {
    if (config.listeners.http.length > 0)
      await (await import('./listen-http.ts')).listenHttpServers(config, seen, routesOf, httpOpened, infos);
    if (config.listeners.websocket.length > 0)
      await (await import('./listen-websocket.ts')).listenWebSockets(ctx, { seen, routesOf }, mqtt);
    const raw = rawSocketListeners(ctx);
    await raw.tcp();
    await mqtt?.listen(ctx);
    await raw.unix(unixListeners);
  } catch (e) {
    await Promise.allSettled([...opened, ...httpOpened].map((l) => l.close()));
    seen.close();
    db.close();
    throw e;
  }

  if (config.mesh.enabled) {
    try {
      mesh = await meshModule!.startMesh(config.mesh, router, config.dataDir, logger, {
        db,
        store: security.store,
        ...(oauth2 !== undefined && { sources: [oauth2.recordSource] }),
      });
      meshStartedAt = Date.now();
    } catch (e) {
      await Promise.allSettled([...opened, ...httpOpened].map((l) => l.close()));
      seen.close();
      db.close();
      throw e instanceof StartError ? e : new StartError(`mesh: ${(e as Error).message}`);
    }
    infos.push({ transport: 'mesh', host: config.mesh.listen.host, port: mesh.port, node: mesh.nodeId });
    const m = mesh;
    adminRealm.dealer.addLocalProcedure('wampmesh.mesh.status', () => ({
      args: [{ ...m.node.status(), transport: m.links.status() }],
    }));
    for (const [uri, fn] of Object.entries(meshModule!.meshAdminProcedures(m.trust)))
      adminRealm.dealer.addLocalProcedure(uri, (_caller, args) => fn(args));
  } else {
    // Registered anyway so a caller learns the mesh is off, not that the procedure is unknown
    // (which reads like a wrong URI or an old router).
    adminRealm.dealer.addLocalProcedure('wampmesh.mesh.status', () => ({
      error: MESH_OFF,
      args: ['the mesh is off on this router (mesh.enabled is false in its config)'],
    }));
  }

  const ticker = setInterval(() => {
    router.tick(Date.now());
    bridges?.tick();
  }, TICK_MS);
  const stopFdWatch = startFdWatch(logger);
  let stopping: Promise<void> | undefined;
  health.setPhase('ready');
  adminRealm.dealer.addLocalProcedure('wampmesh.tls.listeners', () => ({ args: [tlsListeners.list()] }));
  return {
    listeners: infos,
    health,
    reloadTls: () => tlsListeners.reload(logger),
    bridges,
    stop() {
      stopping ??= (async () => {
        health.setPhase('stopping');
        gateway?.stop();
        clearInterval(ticker);
        stopFdWatch();
        // GOODBYE first and let clients answer: the transports' close() cuts connections, and
        // a GOODBYE still in a socket buffer would be lost with them.
        router.shutdown();
        await waitUntil(() => router.sessionCount === 0, STOP_GRACE_MS);
        await bridges?.stop();
        await mesh?.stop();
        await Promise.allSettled(opened.map((l) => l.close()));
        await Promise.allSettled(httpOpened.map((l) => l.close()));
        seen.close();
        db.close();
      })();
      return stopping;
    },
  };
}

/** Runs until SIGTERM or SIGINT, then stops cleanly and exits 0. A second signal exits at once. */
export async function runServe(config: Config, logger: Logger): Promise<void> {
  // First, before any file or port is opened: under systemd this may re-exec the process
  // (same PID) to get a notify socket.
  prepareNotifySocket((message) => logger.warn({}, message));
  // uWebSockets.js needs glibc >= 2.38: on an older system serve RawSocket only, or refuse to
  // start when WebSocket is all the config asks for (src/runtime/websocket-policy.ts).
  const ws = decideWebSocket(config.listeners);
  if (ws.action === 'fail') throw new StartError(ws.message);
  let websocketOff: string | undefined;
  if (ws.action === 'drop') {
    logger.warn({}, ws.warning);
    websocketOff = ws.warning;
    const shared = config.listeners.http.filter((h) => config.listeners.websocket.some((w) => sharesAddress(w, h)));
    if (shared.length > 0)
      logger.warn(
        { http: shared.map((h) => `${h.host}:${h.port}`) },
        "HTTP listeners that shared a WebSocket listener's address are served by node:http instead",
      );
    config = { ...config, listeners: { ...config.listeners, websocket: [] } };
  }
  let stopWatchdog = (): void => {};
  // Handlers go in before anything is announced: whoever reads the listening line may signal
  // at once, and a signal without a handler kills the process instead of stopping it.
  let server: Server | undefined;
  let signalled = false;
  const stop = (): void => {
    void server?.stop().then(() => process.exit(0));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info({ signal }, 'shutting down');
    notifyStopping();
    stopWatchdog();
    stop(); // during start-up, stop() happens once the listeners are up
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The conventional "read your files again": new TLS certificates without a restart.
  process.on('SIGHUP', () => void server?.reloadTls());

  server = await startServer(config, logger, { ...(websocketOff !== undefined && { websocketOff }) });
  logger.info({ listeners: server.listeners }, 'listening');
  // stdout carries exactly this one line, so tests and scripts can read the real ports.
  process.stdout.write(`${JSON.stringify({ event: 'listening', listeners: server.listeners })}\n`);
  notifyReady(server.listeners.map(describe).join(', '));
  stopWatchdog = startWatchdog();
  // After the listening line, so it costs the start nothing (src/runtime/settle-heap.ts); then
  // the same whenever the router goes idle after work (src/runtime/idle-heap.ts).
  const idleHeap = new IdleHeap();
  setImmediate(() => {
    settleHeap();
    idleHeap.start();
  });
  if (signalled) stop();
}
