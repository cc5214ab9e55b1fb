// Cross-origin access, off unless an API lists the origins that may call it from a browser.
// Credentials are never allowed cross-origin (no Access-Control-Allow-Credentials): a page of
// a listed origin sends its own Authorization header.

import type { CompiledApi } from './routes.ts';
import { matchRoute } from './routes.ts';
import type { ApiSpec } from './spec.ts';
import type { HttpReply } from '../transport/http-exchange.ts';

const MAX_AGE_SEC = '600';

// Shared by every answer without CORS headers (most): nobody changes it.
const NONE: Readonly<Record<string, string>> = Object.freeze({});

export function corsHeaders(spec: ApiSpec, origin: string | undefined): Readonly<Record<string, string>> {
  if (spec.cors === undefined || origin === undefined || !spec.cors.origins.includes(origin)) return NONE;
  return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
}

/** The answer to a CORS preflight (OPTIONS), or undefined when CORS does not allow it. */
export function preflight(
  api: CompiledApi,
  rest: readonly string[],
  headers: Readonly<Record<string, string>>,
): HttpReply | undefined {
  const allow = corsHeaders(api.spec, headers.origin);
  const method = headers['access-control-request-method'];
  if (Object.keys(allow).length === 0 || method === undefined) return undefined;
  const m = matchRoute(api, rest, method.toUpperCase());
  if (m.kind !== 'route') return undefined;
  return {
    status: 204,
    headers: {
      ...allow,
      'Access-Control-Allow-Methods': m.route.method,
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, Last-Event-ID',
      'Access-Control-Max-Age': MAX_AGE_SEC,
    },
    body: '',
  };
}
