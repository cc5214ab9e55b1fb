// The configuration file (JSON), validated once at start so a typo stops the router with the
// exact field at fault instead of surfacing later as odd behaviour. Every field has a default;
// an empty object `{}` is the embedded default configuration.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from '../log.ts';
import { isValidUri } from '../wamp/uris.ts';
import { FRAME_BYTES_MAX, FRAME_BYTES_MIN, meshDefaults as md } from '../mesh/defaults.ts';
import { ADMIN_REALM } from '../security/admin.ts';
import { defaultRealmLimits as rl } from '../router/limits.ts';
import { clientDefaults as cd, MESSAGE_SIZE_MAX, MESSAGE_SIZE_MIN } from '../net/client-limits.ts';
import { isHost } from './host.ts';
import { mqttDefaults } from '../mqtt/options.ts';
import { oauth2Schema } from '../oauth2/settings.ts';
import { HTTP_SERVICES } from '../observe/http-routes.ts';
import { parseApiSpec, type ApiSpec } from '../gateway/spec.ts';
import { gatewayDefaults as gd } from '../gateway/defaults.ts';
import { bridgesSchema, resolveBridgeFiles } from '../bridge/config.ts';

function intIn(min: number, max: number) {
  const error = `expected integer ${min}..${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const port = intIn(0, 65535); // 0 asks the OS for a free port (tests); the actual one is printed.
const host = z.string().refine(isHost, { error: 'expected an IP address or host name' });

const disclosure = z.enum(['optional', 'always', 'never'], { error: 'expected "optional", "always" or "never"' });

const historyRule = z.strictObject({
  topic: z.string().refine((s) => isValidUri(s, 'loose', true), { error: 'expected a topic URI or pattern' }),
  match: z
    .enum(['exact', 'prefix', 'wildcard'], { error: 'expected "exact", "prefix" or "wildcard"' })
    .default('exact'),
  // Per topic. 100 events of a sensor is minutes to hours of context at small cost.
  limit: intIn(1, 1_000_000).default(100),
  // Older events are dropped even below the limit; a day by default.
  maxAgeSec: intIn(1, 10 * 365 * 24 * 3600).default(24 * 3600),
});

const realm = z.strictObject({
  // Loose URI rules (spec "URIs"), the same the router applies to a HELLO's realm.
  uri: z.string().refine((s) => isValidUri(s), {
    error: 'expected a WAMP URI: dot-separated components without spaces or "#", e.g. "realm1"',
  }),
  // Required, not defaulted: letting anyone in must be a decision written down.
  anonymous: z.boolean({ error: 'expected true or false (true lets clients join without authentication)' }),
  // Anonymous sessions come from loopback and Unix sockets only, unless this says "anywhere":
  // an explicit opt-in (logged as a warning at start) to unauthenticated access over the network.
  anonymousFrom: z.enum(['loopback', 'anywhere'], { error: 'expected "loopback" or "anywhere"' }).default('loopback'),
  // Rules for procedure and topic URIs. "loose" (any component without spaces, "." or "#")
  // accepts what existing clients use; "strict" (lowercase letters, digits, "_") is opt-in.
  uriCheck: z.enum(['loose', 'strict'], { error: 'expected "loose" or "strict"' }).default('loose'),
  // Caller/publisher identification: disclosed when the client asks (the spec's default),
  // always (auditing), or never (privacy: a request to disclose is refused).
  callerDisclosure: disclosure.default('optional'),
  publisherDisclosure: disclosure.default('optional'),
  // Topics whose events are kept for wamp.subscription.get_events, in SQLite. None by default:
  // every kept event is a disk write on an SD card.
  history: z.array(historyRule).default([]),
  // What one session and the whole realm may make the router hold; beyond it the request gets
  // ERROR wampmesh.error.limit_exceeded. Defaults, and why: src/router/limits.ts.
  limits: z
    .strictObject({
      maxPendingCallsPerSession: intIn(1, 1_000_000).default(rl.maxPendingCallsPerSession),
      maxPendingCalls: intIn(1, 10_000_000).default(rl.maxPendingCalls),
      maxSubscriptionsPerSession: intIn(1, 1_000_000).default(rl.maxSubscriptionsPerSession),
      maxRegistrationsPerSession: intIn(1, 1_000_000).default(rl.maxRegistrationsPerSession),
      maxRetainedTopicsPerSession: intIn(0, 1_000_000).default(rl.maxRetainedTopicsPerSession),
    })
    .prefault({}),
  // Who may call wamp.session.kill, kill_by_authid, kill_by_authrole and kill_all: sessions with
  // authrole "admin" (the default: one misbehaving local process must not be able to end every
  // other session), or "all" sessions (the spec's open meta API; grants still apply).
  metaKill: z.enum(['admin', 'all'], { error: 'expected "admin" or "all"' }).default('admin'),
});

// A client listener inside TLS (wss, RawSocket over TLS). Files are read again on SIGHUP.
const listenerTls = z.strictObject({
  cert: z.string().min(1, { error: 'expected the path of a PEM certificate file' }),
  key: z.string().min(1, { error: 'expected the path of a PEM private key file' }),
  passphrase: z.string().optional(),
});

// A TLS listener on node:tls (RawSocket, MQTT) may also ask clients for a certificate, verified
// against clientCa (README "Client certificates"). Files are read again on SIGHUP.
const clientTls = listenerTls
  .extend({
    clientCa: z.string().min(1, { error: 'expected the path of a PEM file of CA certificates' }).optional(),
    // "required" unless told: a listener given a CA is meant to check certificates.
    clientCertificate: z.enum(['optional', 'required'], { error: 'expected "optional" or "required"' }).optional(),
    clientCrl: z.string().min(1, { error: 'expected the path of a PEM certificate revocation list' }).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.clientCa !== undefined) return;
    for (const field of ['clientCertificate', 'clientCrl'] as const)
      if (t[field] !== undefined) ctx.addIssue({ code: 'custom', message: 'needs tls.clientCa', path: [field] });
  });

const websocketListener = z
  .strictObject({
    // Loopback by default: exposing the router is an explicit choice.
    host: host.default('127.0.0.1'),
    port: port.default(8080),
    // This listener's limits.maxMessageSize. Each WebSocket reserves it from
    // limits.preAuthWebSocketBytes until WELCOME (README "Limits before login"), so a smaller one
    // lets more clients log in at once.
    maxMessageSize: intIn(MESSAGE_SIZE_MIN, MESSAGE_SIZE_MAX).optional(),
    // "/ws" is what autobahn and most WAMP client examples connect to.
    path: z
      .string()
      .regex(/^\/[^\s?#]*$/, { error: 'expected an absolute URL path such as "/ws"' })
      .default('/ws'),
    // MQTT over WebSocket (subprotocol "mqtt") on this listener's port, at its own path; off unless given.
    mqtt: z
      .strictObject({
        path: z
          .string()
          .regex(/^\/[^\s?#]*$/, { error: 'expected an absolute URL path such as "/mqtt"' })
          .default('/mqtt'),
        realm: z
          .string()
          .refine((s) => isValidUri(s), { error: 'expected a realm URI' })
          .default('realm1'),
      })
      .optional(),
    tls: listenerTls.optional(),
  })
  .refine((l) => l.mqtt === undefined || l.mqtt.path !== l.path, {
    error: 'must differ from the WAMP path',
    path: ['mqtt', 'path'],
  });

const rawsocketListener = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(8081),
  tls: clientTls.optional(),
});

const unixListener = z.strictObject({
  path: z.string().min(1, { error: 'expected a file path' }),
  // Owner and group may connect; the group is how local services are given access.
  mode: z
    .string()
    .regex(/^0?[0-7]{3}$/, { error: 'expected an octal file mode such as "0660"' })
    .default('0660'),
});

const httpListener = z.strictObject({
  // Loopback by default: metrics and health say a lot about the appliance.
  host: host.default('127.0.0.1'),
  port: port.default(8082),
  // What this listener answers: "metrics" (/metrics), "health" (/healthz, /readyz), "console"
  // (the web console under /console/, for administrators), "gateway" (the HTTP API gateway's
  // routes, README "HTTP API gateway"), "oauth2" (the OAuth2 token endpoints). On the host and
  // port of a WebSocket listener it shares that listener's server.
  serve: z
    .array(z.enum(HTTP_SERVICES, { error: `expected one of ${HTTP_SERVICES.map((s) => `"${s}"`).join(', ')}` }))
    .min(1, { error: `expected at least one of ${HTTP_SERVICES.map((s) => `"${s}"`).join(', ')}` })
    .default(['metrics', 'health']),
});

// MQTT 3.1.1 and 5.0 clients, each an ordinary WAMP session of `realm` (README "MQTT").
// Defaults and their reasons: src/mqtt/options.ts.
const mqttListener = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1883),
  realm: z
    .string()
    .refine((s) => isValidUri(s), { error: 'expected a realm URI' })
    .default('realm1'),
  maxPacketBytes: intIn(64, 256 * 1024 * 1024).default(mqttDefaults.maxPacketBytes),
  maxKeepAliveSec: intIn(1, 65535).default(mqttDefaults.maxKeepAliveSec),
  maxInflight: intIn(1, 65535).default(mqttDefaults.maxInflight),
  maxQueued: intIn(0, 1_000_000).default(mqttDefaults.maxQueued),
  maxSubscriptions: intIn(1, 100_000).default(mqttDefaults.maxSubscriptions),
  // Persistent sessions (clean session false, MQTT 5 session expiry): kept at most this long
  // while their client is away, with at most maxQueued messages / maxQueuedBytes queued.
  maxSessionExpirySec: intIn(0, 365 * 24 * 3600).default(mqttDefaults.maxSessionExpirySec),
  maxQueuedBytes: intIn(1024, 1024 * 1024 * 1024).default(mqttDefaults.maxQueuedBytes),
  maxPersistentSessions: intIn(0, 1_000_000).default(mqttDefaults.maxPersistentSessions),
  maxConnections: intIn(1, 1_000_000).default(mqttDefaults.maxConnections),
  // MQTT over TLS (mqtts, usually port 8883), optionally with client certificates.
  tls: clientTls.optional(),
});

const listeners = z.strictObject({
  // A file that has a "listeners" object says exactly where to listen: kinds it leaves out are
  // off, so a Unix-socket-only setup doesn't also open TCP ports behind the admin's back.
  websocket: z.array(websocketListener).default([]),
  rawsocket: z.array(rawsocketListener).default([]),
  unix: z.array(unixListener).default([]),
  http: z.array(httpListener).default([]),
  mqtt: z.array(mqttListener).default([]),
});

const limits = z
  .strictObject({
    // Defaults, and why they are what they are: src/net/client-limits.ts.
    maxMessageSize: intIn(MESSAGE_SIZE_MIN, MESSAGE_SIZE_MAX).default(cd.maxMessageSize),
    preAuthMaxMessageSize: intIn(MESSAGE_SIZE_MIN, MESSAGE_SIZE_MAX).default(cd.preAuthMaxMessageSize),
    // Unfinished RawSocket frames before WELCOME; a maxMessageSize per WebSocket before WELCOME
    // (README "Limits before login").
    preAuthBufferBytes: intIn(MESSAGE_SIZE_MIN, 1024 * 1024 * 1024).default(cd.preAuthBufferBytes),
    preAuthWebSocketBytes: intIn(MESSAGE_SIZE_MIN, 1024 * 1024 * 1024).default(cd.preAuthWebSocketBytes),
    preAuthConnectionsPerAddress: intIn(1, 1_000_000).default(cd.preAuthConnectionsPerAddress),
    handshakeTimeoutMs: intIn(100, 600_000).default(cd.handshakeTimeoutMs),
    outboundSoftLimitBytes: intIn(1024, 1024 * 1024 * 1024).default(cd.outboundSoftLimitBytes),
    outboundHardLimitBytes: intIn(1024, 1024 * 1024 * 1024).default(cd.outboundHardLimitBytes),
    slowConsumerTimeoutMs: intIn(100, 3_600_000).default(cd.slowConsumerTimeoutMs),
    // uWebSockets.js aborts the process for values 1..7 or over 960.
    wsIdleTimeoutSec: z
      .int({ error: 'expected 0 or an integer 8..960' })
      .refine((n) => n === 0 || (n >= 8 && n <= 960), { error: 'expected 0 or an integer 8..960' })
      .default(cd.wsIdleTimeoutSec),
  })
  .refine((l) => l.preAuthBufferBytes >= l.preAuthMaxMessageSize, {
    error: 'must be at least preAuthMaxMessageSize',
    path: ['preAuthBufferBytes'],
  })
  .refine((l) => l.outboundHardLimitBytes >= l.outboundSoftLimitBytes, {
    error: 'must be at least outboundSoftLimitBytes',
    path: ['outboundHardLimitBytes'],
  });

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/, { error: 'expected "HOST:PORT"' });

const mesh = z
  .strictObject({
    // Off by default: a single board needs no mesh, and links open a port beyond loopback.
    enabled: z.boolean({ error: 'expected true or false' }).default(false),
    // Stable identity of this node; generated on first start and kept in the data folder if unset.
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1..64 letters, digits, "_" or "-"' })
      .optional(),
    cluster: z
      .strictObject({
        // Nodes with another cluster name ignore each other (mDNS announces a hash of it).
        name: z.string().min(1, { error: 'expected a non-empty name' }).default('wampmesh'),
        // Proves membership on every link; never sent or announced.
        secret: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
        // Whether proving the secret admits a node not admitted yet (bootstrap). Turn it off once
        // the cluster has formed: a stolen secret then lets no new node in; new nodes are
        // admitted with `wampmesh mesh admit NODE`. The secret still protects every link.
        secretJoin: z.boolean({ error: 'expected true or false' }).default(true),
      })
      .prefault({}),
    // Links must reach other boards, so the default listens on all interfaces.
    listen: z.strictObject({ host: host.default('0.0.0.0'), port: port.default(8091) }).prefault({}),
    // For networks without multicast: addresses of other nodes' link ports.
    seeds: z.array(hostPort).default([]),
    // Discovery by DNS-SD over mDNS on these interfaces (names or IPv4 addresses; empty = all).
    mdns: z.boolean({ error: 'expected true or false' }).default(true),
    interfaces: z.array(z.string().min(1)).default([]),
    tls: z.strictObject({ cert: z.string(), key: z.string(), ca: z.string().optional() }).optional(),
    // Timings and limits. Defaults, and why they are what they are: src/mesh/defaults.ts.
    // 2..4 links: survives one neighbour dying, stays cheap on a Pi.
    minLinks: intIn(1, 64).default(md.minLinks),
    maxLinks: intIn(1, 256).default(md.maxLinks),
    heartbeatIntervalMs: intIn(100, 60_000).default(md.heartbeatIntervalMs),
    deadAfterMs: intIn(200, 600_000).default(md.deadAfterMs),
    handshakeTimeoutMs: intIn(100, 600_000).default(md.handshakeTimeoutMs),
    maxFrameBytes: intIn(FRAME_BYTES_MIN, FRAME_BYTES_MAX).default(md.maxFrameBytes),
    // Unset: twice maxFrameBytes.
    maxQueuedBytes: intIn(FRAME_BYTES_MIN, 1024 * 1024 * 1024).optional(),
    lsaRefreshMs: intIn(1_000, 3_600_000).default(md.lsaRefreshMs),
    lsaMaxAgeMs: intIn(2_001, 86_400_000).default(md.lsaMaxAgeMs),
    dialBackoffMs: intIn(100, 600_000).default(md.dialBackoffMs),
    dialBackoffMaxMs: intIn(100, 3_600_000).default(md.dialBackoffMaxMs),
    mdnsTtlSec: intIn(2, 4500).default(md.mdnsTtlSec),
    mdnsQueryIntervalMs: intIn(1_000, 3_600_000).default(md.mdnsQueryIntervalMs),
    antiEntropyMs: intIn(1_000, 86_400_000).default(md.antiEntropyMs),
    unackedDeadMs: intIn(100, 600_000).default(md.unackedDeadMs),
    linkUnackedBytes: intIn(65_536, 1024 * 1024 * 1024).default(md.linkUnackedBytes),
    outageHoldEvents: intIn(0, 10_000_000).default(md.outageHoldEvents),
    outageHoldBytes: intIn(0, 1024 * 1024 * 1024).default(md.outageHoldBytes),
    outageHoldMs: intIn(0, 86_400_000).default(md.outageHoldMs),
    holdbackMs: intIn(0, 600_000).default(md.holdbackMs),
  })
  .refine((m) => m.maxLinks >= m.minLinks, { error: 'must be at least minLinks', path: ['maxLinks'] })
  .refine((m) => m.deadAfterMs >= 2 * m.heartbeatIntervalMs, {
    error: 'must be at least twice heartbeatIntervalMs',
    path: ['deadAfterMs'],
  })
  .refine((m) => m.maxQueuedBytes === undefined || m.maxQueuedBytes >= m.maxFrameBytes, {
    error: 'must be at least maxFrameBytes',
    path: ['maxQueuedBytes'],
  })
  .refine((m) => m.lsaMaxAgeMs > 2 * m.lsaRefreshMs, { error: 'must exceed twice lsaRefreshMs', path: ['lsaMaxAgeMs'] })
  .refine((m) => m.dialBackoffMaxMs >= m.dialBackoffMs, {
    error: 'must be at least dialBackoffMs',
    path: ['dialBackoffMaxMs'],
  });

// The HTTP API gateway (README "HTTP API gateway"). APIs listed here are this node's own;
// those added with `wampmesh api add` are stored and replicated over the mesh, and win on a
// clash of realm and name. Defaults and their reasons: src/gateway/defaults.ts.
const gateway = z.strictObject({
  apis: z
    .array(z.unknown())
    .default([])
    .transform((list, ctx): ApiSpec[] => {
      const out: ApiSpec[] = [];
      list.forEach((a, i) => {
        try {
          out.push(parseApiSpec(a));
        } catch (e) {
          const err = e as { field?: string; problem?: string; message: string };
          // "routes[0].timeoutMs" -> ["routes", 0, "timeoutMs"], so the file's field is named.
          const inner = (err.field ?? '')
            .split(/\.|\[(\d+)\]/)
            .filter((x) => x !== undefined && x !== '')
            .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
          ctx.addIssue({ code: 'custom', message: err.problem ?? err.message, path: [i, ...inner] });
        }
      });
      return out;
    }),
  maxInFlight: intIn(1, 1_000_000).default(gd.maxInFlight),
  maxStreams: intIn(0, 1_000_000).default(gd.maxStreams),
  bodyReadTimeoutMs: intIn(100, 600_000).default(gd.bodyReadTimeoutMs),
  // Connections a node:http listener serving "gateway" holds, idle keep-alive ones included.
  maxConnections: intIn(1, 1_000_000).default(gd.maxConnections),
});

const configSchema = z
  .strictObject({
    // Relative to the config file's directory (or the working directory without a file).
    dataDir: z.string().min(1, { error: 'expected a directory path' }).default('./data'),
    // Quiet by default: a healthy router has nothing to say.
    logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('warn'),
    realms: z
      .array(realm)
      .min(1, { error: 'expected at least one realm' })
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((r, i) => {
          if (seen.has(r.uri))
            ctx.addIssue({ code: 'custom', message: `duplicate realm "${r.uri}"`, path: [i, 'uri'] });
          // The admin realm lives in the database (wampmesh realm|user|grant ...): a file entry
          // for it could only be ignored, which hid the mistake.
          if (r.uri === ADMIN_REALM) {
            ctx.addIssue({
              code: 'custom',
              message: `"${ADMIN_REALM}" is the router's admin realm, configured with the admin commands (wampmesh realm|user|grant ...), not in this file; choose another URI`,
              path: [i, 'uri'],
            });
          }
          seen.add(r.uri);
        });
      })
      .default([
        {
          uri: 'realm1',
          anonymous: true,
          anonymousFrom: 'loopback',
          uriCheck: 'loose',
          callerDisclosure: 'optional',
          publisherDisclosure: 'optional',
          history: [],
          limits: { ...rl },
          metaKill: 'admin',
        },
      ]),
    // Without a "listeners" object: WebSocket and RawSocket on loopback, the usual WAMP ports.
    listeners: listeners.default({
      websocket: [{ host: '127.0.0.1', port: 8080, path: '/ws' }],
      rawsocket: [{ host: '127.0.0.1', port: 8081 }],
      unix: [],
      http: [],
      mqtt: [],
    }),
    // prefault runs the defaults of each limit when the file has no "limits" object.
    limits: limits.prefault({}),
    mesh: mesh.prefault({}),
    // OAuth2 token endpoints per realm (README "OAuth2"); none unless listed. Defaults and
    // their reasons: src/oauth2/settings.ts.
    oauth2: oauth2Schema.prefault({}),
    gateway: gateway.prefault({}),
    // Forwarding to MQTT brokers and webhooks through a durable outbox: src/bridge/config.ts.
    bridges: bridgesSchema,
  })
  // A WebSocket reserves its listener's maxMessageSize until WELCOME: a budget smaller than
  // that would refuse every WebSocket client.
  .superRefine((c, ctx) => {
    c.listeners.websocket.forEach((ws, i) => {
      const size = ws.maxMessageSize ?? c.limits.maxMessageSize;
      if (size > c.limits.preAuthWebSocketBytes)
        ctx.addIssue({
          code: 'custom',
          message: `must be at least the maxMessageSize of every WebSocket listener (listeners.websocket[${i}]: ${size})`,
          path: ['limits', 'preAuthWebSocketBytes'],
        });
    });
  })
  .refine((c) => !c.mesh.enabled || c.mesh.cluster.secret !== undefined, {
    error: 'required when mesh.enabled is true (at least 16 characters, the same on every node)',
    path: ['mesh', 'cluster', 'secret'],
  });

export type Config = z.output<typeof configSchema>;
export type RealmConfig = Config['realms'][number];
export type LimitsConfig = Config['limits'];
export type MeshSettings = Config['mesh'];
export type { OAuth2Settings } from '../oauth2/settings.ts';
export type WebSocketListenerConfig = Config['listeners']['websocket'][number];
export type RawSocketListenerConfig = Config['listeners']['rawsocket'][number];
export type UnixListenerConfig = Config['listeners']['unix'][number];
export type HttpListenerConfig = Config['listeners']['http'][number];
export type MqttListenerConfig = Config['listeners']['mqtt'][number];

export interface ConfigIssue {
  /** Field path as written in the file, e.g. "listeners.websocket[0].port"; "" for the whole file. */
  field: string;
  problem: string;
}

export class ConfigError extends Error {
  /** The first offending field (see ConfigIssue.field). */
  readonly field: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => `${source}: ${i.field ? `${i.field}: ` : ''}${i.problem}`);
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.field = issues[0]?.field ?? '';
    this.issues = issues;
  }
}

/** Control characters as JSON escapes: a key or a quote from the file must not break the one-line-per-problem message (or drive the terminal). */
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));

function fieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else {
      const key = s === '' ? '""' : printable(String(s)); // an empty key is named, not left out
      out += out ? `.${key}` : key;
    }
  }
  return out;
}

function toIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({ field: fieldPath([...issue.path, k]), problem: 'unknown field' }))
      : [{ field: fieldPath(issue.path), problem: issue.message }],
  );
}

/** Validates a parsed JSON value; `source` names it in errors (usually the file path). */
export function parseConfig(value: unknown, source: string): Config {
  const result = configSchema.safeParse(value, {
    // Fields without a message of their own: say "required" rather than "received undefined".
    error: (iss) => (iss.code === 'invalid_type' && iss.input === undefined ? 'required' : undefined),
  });
  if (!result.success) throw new ConfigError(source, toIssues(result.error));
  return result.data;
}

/** The configuration used without --config: realm1, anonymous, loopback, data in ./data. */
export function defaultConfig(): Config {
  return parseConfig({}, 'embedded default');
}

/**
 * Reads, parses and validates a config file; without a path, the embedded default. Relative
 * paths inside the file (dataDir, Unix socket paths, TLS files, bridge secrets) are resolved against the
 * file's directory so the same file works whatever the working directory of the service is.
 */
export function loadConfig(file?: string): Config {
  if (file === undefined) return defaultConfig();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ field: '', problem: `cannot read: ${(e as Error).message}` }]);
  }
  // A UTF-8 byte order mark, as some Windows editors write, is no reason to refuse the file.
  if (text.startsWith('\ufeff')) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the mistake, line breaks included.
    throw new ConfigError(file, [{ field: '', problem: `not valid JSON: ${printable((e as Error).message)}` }]);
  }
  const config = parseConfig(value, file);
  const base = path.dirname(path.resolve(file));
  const tls = config.mesh.tls;
  return {
    ...config,
    dataDir: path.resolve(base, config.dataDir),
    mesh:
      tls === undefined
        ? config.mesh
        : {
            ...config.mesh,
            tls: {
              cert: path.resolve(base, tls.cert),
              key: path.resolve(base, tls.key),
              ...(tls.ca === undefined ? {} : { ca: path.resolve(base, tls.ca) }),
            },
          },
    listeners: {
      ...config.listeners,
      websocket: config.listeners.websocket.map((l) => withTlsPaths(l, base)),
      rawsocket: config.listeners.rawsocket.map((l) => withTlsPaths(l, base)),
      mqtt: config.listeners.mqtt.map((l) => withTlsPaths(l, base)),
      unix: config.listeners.unix.map((u) => ({ ...u, path: path.resolve(base, u.path) })),
    },
    bridges: config.bridges.map((b) => resolveBridgeFiles(b, base)),
  };
}

function withTlsPaths<
  L extends { tls?: { cert: string; key: string; clientCa?: string; clientCrl?: string } | undefined },
>(l: L, base: string): L {
  if (l.tls === undefined) return l;
  const { cert, key, clientCa, clientCrl } = l.tls;
  const tls = {
    ...l.tls,
    cert: path.resolve(base, cert),
    key: path.resolve(base, key),
    ...(clientCa !== undefined && { clientCa: path.resolve(base, clientCa) }),
    ...(clientCrl !== undefined && { clientCrl: path.resolve(base, clientCrl) }),
  };
  return { ...l, tls };
}
