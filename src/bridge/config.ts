// The "bridges" section of the configuration file: each bridge forwards chosen WAMP events to
// an external MQTT broker or an HTTP endpoint through the durable outbox, and (MQTT) brings
// chosen MQTT topics in as WAMP events. Defaults and their reasons are next to each field.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isValidUri } from '../wamp/uris.ts';
import { urlProblem, type UrlRule } from './url.ts';

function intIn(min: number, max: number) {
  const error = `expected integer ${min}..${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

/** A bridge's url: scheme, host and port checked (./url.ts), the problem in the field's message. */
function url(rule: UrlRule) {
  return z.string({ error: `expected ${rule.usage}` }).superRefine((text, ctx) => {
    const problem = urlProblem(text, rule);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

// Built on each call, not at load: an idle router keeps no schema (src/config/fields.ts).
function schemas() {
  const wampTopic = z
    .string()
    .refine((s) => isValidUri(s, 'loose', true), { error: 'expected a topic URI or pattern' });
  const match = z.enum(['exact', 'prefix', 'wildcard'], { error: 'expected "exact", "prefix" or "wildcard"' });
  const qos = z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' });
  // Levels MQTT publishes to: no wildcards, no empty "$" system topics.
  const mqttTopicPrefix = z.string().refine((s) => !/[+#\0]/.test(s) && !s.startsWith('$'), {
    error: 'expected an MQTT topic (prefix) without "+", "#" or a leading "$"',
  });
  const mqttFilter = z
    .string()
    .min(1, { error: 'expected an MQTT topic filter such as "site7/cmd/#"' })
    .refine((s) => !s.includes('\0') && !/#./.test(s), {
      error: 'expected an MQTT topic filter ("#" only at the end)',
    });

  const queueSchema = z
    .strictObject({
      // A week of a few events per second fits in both: a weekend-long outage loses nothing.
      maxMessages: intIn(1, 100_000_000).default(100_000),
      maxBytes: intIn(1024, 64 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
      maxAgeSec: intIn(1, 365 * 24 * 3600).default(7 * 24 * 3600),
      // Telemetry: the newest data matters most, so the oldest gives way; "reject" refuses new events.
      onFull: z.enum(['dropOldest', 'reject'], { error: 'expected "dropOldest" or "reject"' }).default('dropOldest'),
      // Unconfirmed events at once: enough to fill a link with latency, few enough to resend after a cut.
      inflight: intIn(1, 1000).default(16),
      // An event sent and neither confirmed nor refused by then is a failure like a cut link: a
      // remote that takes events and never answers (no PUBACK, no PUBLISHED) must not hold the
      // queue for good. Long enough for a slow broker's QoS 2 round trips.
      confirmTimeoutMs: intIn(100, 3_600_000).default(30_000),
    })
    .prefault({});

  const retry = z
    .strictObject({
      // Doubles per failure up to maxMs, each delay with +-50% jitter so many edges do not reconnect in step.
      initialMs: intIn(10, 600_000).default(500),
      maxMs: intIn(10, 3_600_000).default(60_000),
    })
    .prefault({})
    .refine((r) => r.maxMs >= r.initialMs, { error: 'must be at least initialMs', path: ['maxMs'] });

  const common = {
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1..64 letters, digits, "_" or "-"' }),
    realm: z.string().refine((s) => isValidUri(s), { error: 'expected a realm URI' }),
    queue: queueSchema,
    retry,
  };

  const outRule = z.strictObject({
    direction: z.literal('out'),
    wamp: wampTopic,
    match: match.default('exact'),
    // The MQTT topic is this prefix followed by the rest of the WAMP topic (after `wamp` for a
    // prefix rule, the whole topic otherwise), dots as slashes; for an exact rule without a trailing
    // "/", this topic itself.
    mqtt: mqttTopicPrefix.default(''),
    qos: qos.default(1),
    retain: z.boolean({ error: 'expected true or false' }).default(false),
  });
  const inRule = z.strictObject({
    direction: z.literal('in'),
    mqtt: mqttFilter,
    // The WAMP topic is this prefix followed by the MQTT topic's levels after the filter's fixed
    // part; for a filter without wildcards, this topic itself.
    wamp: z
      .string()
      .refine((s) => s === '' || isValidUri(s, 'loose', true), { error: 'expected a topic URI or prefix' }),
    qos: qos.default(1),
  });

  const tls = z
    .strictObject({
      // File paths; read and checked at start (./files.ts).
      ca: z.string().min(1, { error: 'expected the path of a PEM file of CA certificates' }).optional(),
      cert: z.string().min(1, { error: 'expected the path of a PEM certificate file' }).optional(),
      key: z.string().min(1, { error: 'expected the path of a PEM private key file' }).optional(),
      // Never off by default: a bridge carries a site's data off-site.
      rejectUnauthorized: z.boolean({ error: 'expected true or false' }).default(true),
    })
    // A client certificate is the pair: one without the other is a half-done edit.
    .superRefine((t, ctx) => {
      if (t.cert !== undefined && t.key === undefined)
        ctx.addIssue({ code: 'custom', message: 'required with tls.cert (its private key)', path: ['key'] });
      if (t.key !== undefined && t.cert === undefined)
        ctx.addIssue({ code: 'custom', message: 'required with tls.key (the client certificate)', path: ['cert'] });
    });

  const wampIdentity = z.strictObject({
    // The user the bridge's incoming events are published as (its grants apply); anonymous without.
    authid: z.string().min(1, { error: 'expected a user name' }),
    ticketFile: z.string().min(1, { error: 'expected a file path' }),
  });

  const mqttBridge = z
    .strictObject({
      ...common,
      type: z.literal('mqtt'),
      url: url({
        schemes: ['mqtt', 'mqtts', 'ws', 'wss'],
        usage: 'mqtt://HOST:PORT, mqtts://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH',
      }),
      protocolVersion: z.union([z.literal(4), z.literal(5)], { error: 'expected 4 (MQTT 3.1.1) or 5' }).default(5),
      // "{name}" is replaced by the bridge's name; a broker drops an older connection with the same id.
      clientId: z.string().min(1).max(256).default('wampmesh-{name}'),
      username: z.string().optional(),
      passwordFile: z.string().min(1).optional(),
      tls: tls.optional(),
      keepaliveSec: intIn(0, 65535).default(30),
      connectTimeoutMs: intIn(100, 600_000).default(10_000),
      as: wampIdentity.optional(),
      rules: z
        .array(z.discriminatedUnion('direction', [outRule, inRule], { error: 'expected direction "out" or "in"' }))
        .min(1, {
          error: 'expected at least one rule',
        }),
    })
    .refine((b) => b.passwordFile === undefined || b.username !== undefined, {
      error: 'passwordFile needs username',
      path: ['username'],
    })
    // mqtt:// and ws:// are plaintext: TLS settings there were ignored and the bridge connected
    // in the clear, though whoever wrote them meant the link to be encrypted.
    .refine((b) => b.tls === undefined || /^(mqtts|wss):/i.test(b.url), {
      error:
        'applies to mqtts:// and wss:// only, and the url is not encrypted: use mqtts:// (or wss://), or remove tls',
      path: ['tls'],
    });

  const webhookRule = z.strictObject({ wamp: wampTopic, match: match.default('exact') });

  const webhookBridge = z.strictObject({
    ...common,
    type: z.literal('webhook'),
    url: url({ schemes: ['http', 'https'], usage: 'an http:// or https:// URL' }),
    // The body is signed with HMAC-SHA256 under this secret: X-Wampmesh-Signature: sha256=<hex>.
    hmacSecretFile: z.string().min(1).optional(),
    timeoutMs: intIn(100, 600_000).default(10_000),
    rules: z.array(webhookRule).min(1, { error: 'expected at least one rule' }),
  });

  // An uplink to another WAMP router: events of `out` rules are published there (through the
  // outbox), topics of `in` rules are subscribed to there and published here, and procedures of
  // `procedure` rules are registered there, each call going to the callee here.
  const wampRule = z.strictObject({
    direction: z.enum(['out', 'in', 'procedure'], { error: 'expected "out", "in" or "procedure"' }),
    wamp: wampTopic,
    match: match.default('exact'),
  });

  const wampBridge = z.strictObject({
    ...common,
    type: z.literal('wamp'),
    // WebSocket or RawSocket (rss: over TLS), with the JSON serialization: what every WAMP router speaks.
    url: url({
      schemes: ['ws', 'wss', 'rs', 'rss'],
      portRequired: ['rs', 'rss'],
      noPath: ['rs', 'rss'],
      usage: 'ws://HOST[:PORT]/PATH, wss://..., rs://HOST:PORT or rss://HOST:PORT',
    }),
    // The realm on the other router; the same URI as `realm` unless given.
    remoteRealm: z
      .string()
      .refine((s) => isValidUri(s), { error: 'expected a realm URI' })
      .optional(),
    // How this router logs in there: with one of ticket, WAMP-CRA or cryptosign; anonymous without.
    remote: z
      .strictObject({
        authid: z.string().min(1, { error: 'expected a user name' }),
        ticketFile: z.string().min(1, { error: 'expected a file path' }).optional(),
        wampcraSecretFile: z.string().min(1, { error: 'expected a file path' }).optional(),
        // 64 hex digits: the Ed25519 seed, as Autobahn and Crossbar keep a private key.
        cryptosignKeyFile: z.string().min(1, { error: 'expected a file path' }).optional(),
      })
      .refine(
        (r) => [r.ticketFile, r.wampcraSecretFile, r.cryptosignKeyFile].filter((f) => f !== undefined).length === 1,
        { error: 'expected exactly one of ticketFile, wampcraSecretFile, cryptosignKeyFile' },
      )
      .optional(),
    as: wampIdentity.optional(),
    // A call from there to a procedure here that gets no answer by then is answered wamp.error.canceled.
    callTimeoutMs: intIn(100, 3_600_000).default(30_000),
    rules: z.array(wampRule).min(1, { error: 'expected at least one rule' }),
  });

  const bridgeSchema = z.discriminatedUnion('type', [mqttBridge, webhookBridge, wampBridge], {
    error: 'expected type "mqtt", "webhook" or "wamp"',
  });

  const bridgesSchema = z
    .array(bridgeSchema)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((b, i) => {
        if (seen.has(b.name))
          ctx.addIssue({ code: 'custom', message: `duplicate bridge "${b.name}"`, path: [i, 'name'] });
        seen.add(b.name);
      });
    });
  return { bridge: bridgeSchema, bridges: bridgesSchema, outRule, inRule };
}

/** The "bridges" section. */
export const bridgesSchema = () => schemas().bridges;

type Schemas = ReturnType<typeof schemas>;
export type BridgeConfig = z.output<Schemas['bridge']>;
export type MqttBridgeConfig = Extract<BridgeConfig, { type: 'mqtt' }>;
export type WebhookBridgeConfig = Extract<BridgeConfig, { type: 'webhook' }>;
export type WampBridgeConfig = Extract<BridgeConfig, { type: 'wamp' }>;
export type OutRule = z.output<Schemas['outRule']>;
export type InRule = z.output<Schemas['inRule']>;

/** The bridge with its file paths (secrets, certificates) resolved against `base` (the config file's folder). */
export function resolveBridgeFiles(b: BridgeConfig, base: string): BridgeConfig {
  const at = (file: string | undefined) => (file === undefined ? undefined : path.resolve(base, file));
  if (b.type === 'webhook') return b.hmacSecretFile === undefined ? b : { ...b, hmacSecretFile: at(b.hmacSecretFile)! };
  if (b.type === 'wamp')
    return {
      ...b,
      ...(b.remote !== undefined && {
        remote: {
          ...b.remote,
          ...(b.remote.ticketFile !== undefined && { ticketFile: at(b.remote.ticketFile)! }),
          ...(b.remote.wampcraSecretFile !== undefined && { wampcraSecretFile: at(b.remote.wampcraSecretFile)! }),
          ...(b.remote.cryptosignKeyFile !== undefined && { cryptosignKeyFile: at(b.remote.cryptosignKeyFile)! }),
        },
      }),
      ...(b.as !== undefined && { as: { ...b.as, ticketFile: at(b.as.ticketFile)! } }),
    };
  return {
    ...b,
    ...(b.passwordFile !== undefined && { passwordFile: at(b.passwordFile)! }),
    ...(b.as !== undefined && { as: { ...b.as, ticketFile: at(b.as.ticketFile)! } }),
    ...(b.tls !== undefined && {
      tls: {
        ...b.tls,
        ...(b.tls.ca !== undefined && { ca: at(b.tls.ca)! }),
        ...(b.tls.cert !== undefined && { cert: at(b.tls.cert)! }),
        ...(b.tls.key !== undefined && { key: at(b.tls.key)! }),
      },
    }),
  };
}

/** Reads a secret or certificate file of a bridge; the error names the bridge and the field. */
export function readBridgeFile(bridge: string, field: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(
      `bridge ${bridge}: ${field}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}
