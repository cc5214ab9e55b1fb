// The "listeners" section of the configuration file: where clients connect (WebSocket,
// RawSocket, Unix sockets, HTTP, MQTT) and with which TLS files.

import { z } from 'zod';
import { isValidUri } from '../wamp/uris.ts';
import { MESSAGE_SIZE_MAX, MESSAGE_SIZE_MIN } from '../net/client-limits.ts';
import { mqttDefaults } from '../mqtt/options.ts';
import { HTTP_SERVICES } from '../observe/http-routes.ts';
import { host, intIn, port } from './fields.ts';

export function listenersSchema() {
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
      host: host().default('127.0.0.1'),
      port: port().default(8080),
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
    host: host().default('127.0.0.1'),
    port: port().default(8081),
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
    host: host().default('127.0.0.1'),
    port: port().default(8082),
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
    host: host().default('127.0.0.1'),
    port: port().default(1883),
    realm: z
      .string()
      .refine((s) => isValidUri(s), { error: 'expected a realm URI' })
      .default('realm1'),
    maxPacketBytes: intIn(64, 256 * 1024 * 1024).default(mqttDefaults.maxPacketBytes),
    maxKeepAliveSec: intIn(1, 65535).default(mqttDefaults.maxKeepAliveSec),
    maxInflight: intIn(1, 65535).default(mqttDefaults.maxInflight),
    maxQueued: intIn(0, 1_000_000).default(mqttDefaults.maxQueued),
    maxOutboundBytes: intIn(1024, 1024 * 1024 * 1024).default(mqttDefaults.maxOutboundBytes),
    maxSubscriptions: intIn(1, 100_000).default(mqttDefaults.maxSubscriptions),
    // Persistent sessions (clean session false, MQTT 5 session expiry): kept at most this long
    // while their client is away, with at most maxQueued messages / maxQueuedBytes queued.
    maxSessionExpirySec: intIn(0, 365 * 24 * 3600).default(mqttDefaults.maxSessionExpirySec),
    maxQueuedBytes: intIn(1024, 1024 * 1024 * 1024).default(mqttDefaults.maxQueuedBytes),
    maxPersistentSessions: intIn(0, 1_000_000).default(mqttDefaults.maxPersistentSessions),
    maxConnections: intIn(1, 1_000_000).default(mqttDefaults.maxConnections),
    maxUserProperties: intIn(0, 1_000_000).default(mqttDefaults.maxUserProperties),
    maxUserPropertyBytes: intIn(0, 256 * 1024 * 1024).default(mqttDefaults.maxUserPropertyBytes),
    // MQTT over TLS (mqtts, usually port 8883), optionally with client certificates.
    tls: clientTls.optional(),
  });

  return z.strictObject({
    // A file that has a "listeners" object says exactly where to listen: kinds it leaves out are
    // off, so a Unix-socket-only setup doesn't also open TCP ports behind the admin's back.
    websocket: z.array(websocketListener).default([]),
    rawsocket: z.array(rawsocketListener).default([]),
    unix: z.array(unixListener).default([]),
    http: z.array(httpListener).default([]),
    mqtt: z.array(mqttListener).default([]),
  });
}
