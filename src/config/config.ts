// The configuration file (JSON), validated once at start so a typo stops the router with the
// exact field at fault instead of surfacing later as odd behaviour. Every field has a default;
// an empty object `{}` is the embedded default configuration.

import path from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from '../log.ts';
import { ADMIN_REALM } from '../security/admin.ts';
import { defaultRealmLimits as rl } from '../router/limits.ts';
import { oauth2Schema } from '../oauth2/settings.ts';
import { bridgesSchema, resolveBridgeFiles } from '../bridge/config.ts';
import { realmSchema } from './realms.ts';
import { listenersSchema } from './listeners.ts';
import { limitsSchema } from './limits.ts';
import { meshSchema } from './mesh.ts';
import { gatewaySchema } from './gateway.ts';
import { checkDistinctAddresses } from './addresses.ts';
import { readConfigFile } from './config-file.ts';
import { fieldPath, printable } from './field-names.ts';

// Built for each parse: the config is parsed once at start (and on a check), and zod's schemas
// kept at module level would stay in the heap for the router's life (src/config/fields.ts).
const configSchema = () =>
  z
    .strictObject({
      // Relative to the config file's directory (or the working directory without a file).
      dataDir: z.string().min(1, { error: 'expected a directory path' }).default('./data'),
      // Quiet by default: a healthy router has nothing to say.
      logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('warn'),
      realms: z
        .array(realmSchema())
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
      listeners: listenersSchema().default({
        websocket: [{ host: '127.0.0.1', port: 8080, path: '/ws' }],
        rawsocket: [{ host: '127.0.0.1', port: 8081 }],
        unix: [],
        http: [],
        mqtt: [],
      }),
      // prefault runs the defaults of each limit when the file has no "limits" object.
      limits: limitsSchema().prefault({}),
      mesh: meshSchema().prefault({}),
      // OAuth2 token endpoints per realm (README "OAuth2"); none unless listed. Defaults and
      // their reasons: src/oauth2/settings.ts.
      oauth2: oauth2Schema().prefault({}),
      gateway: gatewaySchema().prefault({}),
      // Forwarding to MQTT brokers and webhooks through a durable outbox: src/bridge/config.ts.
      bridges: bridgesSchema(),
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
    .superRefine(checkDistinctAddresses)
    .refine((c) => !c.mesh.enabled || c.mesh.cluster.secret !== undefined, {
      error: 'required when mesh.enabled is true (at least 16 characters, the same on every node)',
      path: ['mesh', 'cluster', 'secret'],
    });

export type Config = z.output<ReturnType<typeof configSchema>>;
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

function toIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({ field: fieldPath([...issue.path, k]), problem: 'unknown field' }))
      : [{ field: fieldPath(issue.path), problem: issue.message }],
  );
}

/** Validates a parsed JSON value; `source` names it in errors (usually the file path). */
export function parseConfig(value: unknown, source: string): Config {
  const result = configSchema().safeParse(value, {
    // Parsed once: zod's generated parser for each object schema (compiled with new Function on
    // first use) would cost more to make than it saves (most of this parse's time in a start-up
    // profile, 10-20 ms of the main thread's CPU).
    jitless: true,
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
    text = readConfigFile(file);
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
