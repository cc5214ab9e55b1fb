// What an HTTP listener answers, independent of the server that carries it (uWebSockets.js
// beside WebSocket, or node:http where uWS cannot load). Every answer is computed at once from
// memory, so both servers can reply synchronously.

import type { HttpHandler, HttpReply } from '../transport/http-server.ts';
import { CONTENT_TYPE } from './exposition.ts';
import { CONSOLE_HEADERS, type StaticFile } from './console-assets.ts';
import { readinessText, type Health } from './health.ts';

// 'gateway' and 'oauth2' are served by asynchronous routes (transport/http-exchange.ts) that
// their owners mount; this file answers only the synchronous three.
export const HTTP_SERVICES = ['metrics', 'health', 'console', 'gateway', 'oauth2'] as const;
export type HttpService = (typeof HTTP_SERVICES)[number];

export interface RouteSources {
  readonly health: Health;
  metrics?(): string;
  /** Console files by path ("/console/", "/console/app.js"). */
  readonly console?: ReadonlyMap<string, StaticFile>;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  302: 'Found',
  404: 'Not Found',
  405: 'Method Not Allowed',
  503: 'Service Unavailable',
};

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
}

const text = (status: number, body: string, extra: Record<string, string> = {}): HttpReply => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra },
  body,
});

function queryFlag(query: string, name: string): boolean {
  const v = new URLSearchParams(query).get(name);
  return v !== null && v !== '0' && v !== 'false';
}

export function httpRoutes(services: readonly HttpService[], src: RouteSources): HttpHandler {
  const serves = new Set(services);
  const known = (path: string): boolean =>
    (serves.has('metrics') && path === '/metrics') ||
    (serves.has('health') && (path === '/healthz' || path === '/readyz')) ||
    (serves.has('console') && (src.console?.has(path) === true || path === '/' || path === '/console'));
  return (method, path, query) => {
    const m = method.toUpperCase();
    const get = m === 'GET' || m === 'HEAD';
    const route = (): HttpReply | undefined => {
      if (serves.has('metrics') && path === '/metrics' && src.metrics !== undefined) {
        return {
          status: 200,
          headers: { 'Content-Type': CONTENT_TYPE, 'Cache-Control': 'no-store' },
          body: src.metrics(),
        };
      }
      if (serves.has('health') && path === '/healthz') return text(200, 'ok\n');
      if (serves.has('health') && path === '/readyz') {
        const r = src.health.readiness();
        return text(r.ready ? 200 : 503, readinessText(r, queryFlag(query, 'verbose')));
      }
      if (serves.has('console') && src.console !== undefined) {
        if (path === '/' || path === '/console')
          return {
            status: 302,
            headers: { Location: '/console/', 'Content-Type': 'text/plain' },
            body: 'see /console/\n',
          };
        const file = src.console.get(path);
        if (file !== undefined) {
          return {
            status: 200,
            headers: {
              'Content-Type': file.type,
              'Cache-Control': 'no-cache',
              'X-Content-Type-Options': 'nosniff',
              ...CONSOLE_HEADERS,
            },
            body: file.body,
          };
        }
      }
      return undefined;
    };
    // Nothing here changes state: other methods are refused rather than answered like GET.
    if (!get) return known(path) ? text(405, 'method not allowed\n', { Allow: 'GET, HEAD' }) : text(404, 'not found\n');
    const reply = route() ?? text(404, 'not found\n');
    return m === 'HEAD' ? { ...reply, body: '' } : reply;
  };
}
