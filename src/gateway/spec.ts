// An API specification: how HTTP requests under a base path become WAMP actions of one realm.
// The JSON shape (README "HTTP API gateway") is checked here, once, with errors naming the
// field; the rest of the gateway trusts what passed.

import { z } from 'zod';
import { isValidUri } from '../wamp/uris.ts';
import { parse } from '../security/schemas.ts';
import { invalid, joinField } from '../security/errors.ts';
import { checkTemplate, checkUriTemplate } from './template.ts';
import { gatewayDefaults as gd } from './defaults.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

// A path segment: letters, digits and the unreserved marks of RFC 3986, or a {name} parameter
// that matches one whole segment. No "." or ".." segments, no empty ones.
const SEGMENT = /^(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*|\{[a-z][a-z0-9_]*\})$/;
const pathTemplate = z.string().refine(
  (p) =>
    p === '/' ||
    (p.startsWith('/') &&
      p
        .slice(1)
        .split('/')
        .every((s) => SEGMENT.test(s) && s !== '..')),
  {
    error:
      'expected "/" or "/segment/{param}/...": segments of letters, digits, "-", "_", "~", "." (no "." or ".." alone)',
  },
);
const basePath = pathTemplate.refine((p) => !p.includes('{'), { error: 'a base path has no parameters' });

const uriTemplate = z.string().refine((s) => checkUriTemplate(s) === undefined, {
  error: (iss) => checkUriTemplate(iss.input as string) ?? 'invalid',
});
const errorUri = z.string().refine((s) => isValidUri(s), { error: 'expected a URI' });
const statusCodes = z.record(errorUri, z.number().int().min(400).max(599)).default({});

/** A value built per request: strings may hold {path.x}, {query.x}, {header.x}, {body...}, {caller.x}. */
const template: z.ZodType<unknown> = z.unknown().superRefine((v, ctx) => {
  const problem = checkTemplate(v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const timeoutMs = z.number().int().min(1).max(gd.maxRouteTimeoutMs);

const common = {
  method: z.enum(METHODS, { error: `expected one of ${METHODS.join(', ')}` }),
  path: pathTemplate,
};

const callRoute = z.strictObject({
  ...common,
  call: uriTemplate,
  args: z.array(template).optional(),
  kwargs: z.record(z.string(), template).optional(),
  /** CALL.Options passed on (only the ones a caller may set). */
  options: z.strictObject({ disclose_me: z.boolean().optional() }).default({}),
  timeoutMs: timeoutMs.optional(),
  /** Progressive results may stream (as NDJSON or text/event-stream, as the client accepts). */
  progress: z.boolean().default(false),
  /** "wamp": {"args", "kwargs"}; "first": args[0] alone (null when absent). */
  result: z.enum(['wamp', 'first']).default('wamp'),
  statusCodes,
});

const publishRoute = z.strictObject({
  ...common,
  publish: uriTemplate,
  args: z.array(template).optional(),
  kwargs: z.record(z.string(), template).optional(),
  options: z.strictObject({ exclude_me: z.boolean().optional(), retain: z.boolean().optional() }).default({}),
  statusCodes,
});

const subscribeRoute = z.strictObject({
  ...common,
  method: z.literal('GET', { error: 'a subscribe route is GET (server-sent events)' }),
  subscribe: uriTemplate,
  match: z.enum(['exact', 'prefix', 'wildcard']).default('exact'),
  /** Seconds between comment lines that keep proxies from closing an idle stream. */
  heartbeatSec: z.number().int().min(1).max(3600).default(gd.sseHeartbeatSec),
});

const webhookRoute = z.strictObject({
  ...common,
  method: z.literal('POST', { error: 'a webhook route is POST' }),
  webhook: z.strictObject({
    topic: uriTemplate,
    /** The user the verified body is published as (its grants apply). */
    as: z.string().min(1),
    /** The shared secret, or a file holding it (read for each request, so a rotated file applies at once). */
    secret: z.string().min(16, { error: 'at least 16 characters' }).optional(),
    secretFile: z.string().min(1).optional(),
    /** Header holding "sha256=<hex>" (or the bare hex) of HMAC-SHA256(secret, "<timestamp>.<body>"). */
    signatureHeader: z.string().default('x-signature'),
    /** Header holding the sender's Unix time in seconds. */
    timestampHeader: z.string().default('x-timestamp'),
    toleranceSec: z.number().int().min(1).max(3600).default(gd.webhookToleranceSec),
  }),
});

// Which kind a route is goes by the key it has, so its errors name the route's own fields
// (a union would only say that no kind fits).
const ROUTE_KINDS = {
  call: callRoute,
  publish: publishRoute,
  subscribe: subscribeRoute,
  webhook: webhookRoute,
} as const;
export type Route = z.output<(typeof ROUTE_KINDS)[keyof typeof ROUTE_KINDS]>;

const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export const apiSpecSchema = z.strictObject({
  name: z.string().regex(NAME, { error: 'expected 1..64 of a-z, 0-9, "_", ".", "-"' }),
  realm: errorUri,
  basePath,
  description: z.string().max(1000).default(''),
  /** Ways in, in the order tried: "bearer", "basic" (ticket users), "anonymous". */
  auth: z
    .array(z.enum(['bearer', 'basic', 'anonymous']))
    .min(1)
    .default(['bearer', 'basic', 'anonymous']),
  timeoutMs: timeoutMs.default(gd.routeTimeoutMs),
  maxBodyBytes: z.number().int().min(0).max(gd.maxBodyBytesCeiling).default(gd.maxBodyBytes),
  statusCodes,
  /** Origins that may call from a browser; none: no CORS headers at all. */
  cors: z.strictObject({ origins: z.array(z.string().min(1)).min(1) }).optional(),
  // Each checked by its kind in parseApiSpec.
  routes: z.array(z.record(z.string(), z.unknown())).min(1).max(gd.maxRoutes),
});

export type ApiSpec = Omit<z.output<typeof apiSpecSchema>, 'routes'> & { readonly routes: readonly Route[] };
export type CallRoute = z.output<typeof callRoute>;
export type PublishRoute = z.output<typeof publishRoute>;
export type SubscribeRoute = z.output<typeof subscribeRoute>;
export type WebhookRoute = z.output<typeof webhookRoute>;

/** Checks a spec; throws a SecurityError naming the field (`prefix` before it) when it is invalid. */
export function parseApiSpec(value: unknown, prefix = ''): ApiSpec {
  const shape = parse(apiSpecSchema, value, prefix);
  const routes = shape.routes.map((r, i): Route => {
    const kinds = (Object.keys(ROUTE_KINDS) as (keyof typeof ROUTE_KINDS)[]).filter((k) => Object.hasOwn(r, k));
    const at = joinField(prefix, `routes[${i}]`);
    if (kinds.length !== 1)
      throw invalid(at, 'expected a route with exactly one of "call", "publish", "subscribe", "webhook"');
    return parse(ROUTE_KINDS[kinds[0]!], r, at);
  });
  const spec: ApiSpec = { ...shape, routes };
  spec.routes.forEach((r, i) => {
    if ('webhook' in r && (r.webhook.secret === undefined) === (r.webhook.secretFile === undefined))
      throw invalid(joinField(prefix, `routes[${i}].webhook`), 'exactly one of "secret", "secretFile"');
  });
  const seen = new Set<string>();
  spec.routes.forEach((r, i) => {
    // Two routes whose paths differ only in parameter names would shadow each other.
    const key = `${r.method} ${r.path.replace(/\{[^}]*\}/g, '{}')}`;
    if (seen.has(key)) throw invalid(joinField(prefix, `routes[${i}].path`), `a second route for ${key}`);
    seen.add(key);
  });
  return spec;
}

export function routeKind(r: Route): 'call' | 'publish' | 'subscribe' | 'webhook' {
  if ('call' in r) return 'call';
  if ('publish' in r) return 'publish';
  if ('subscribe' in r) return 'subscribe';
  return 'webhook';
}
