// Which API and route a request path is for. Specs are compiled once per change into segment
// lists; a request path is split, percent-decoded segment by segment, and matched. A decoded
// segment is a parameter value, never a path: "..", "." and segments holding "/" are refused,
// so no request reaches a route its path does not name.

import type { ApiSpec, Method, Route } from './spec.ts';

interface CompiledRoute {
  readonly route: Route;
  /** Literal segments as strings, parameters as { name }. */
  readonly segments: readonly (string | { readonly name: string })[];
}

export interface CompiledApi {
  readonly spec: ApiSpec;
  readonly base: readonly string[];
  readonly routes: readonly CompiledRoute[];
}

export type RouteMatch =
  | {
      readonly kind: 'route';
      readonly api: CompiledApi;
      readonly route: Route;
      readonly params: Record<string, string>;
    }
  | { readonly kind: 'method'; readonly api: CompiledApi; readonly allowed: readonly Method[] }
  | { readonly kind: 'none'; readonly api: CompiledApi }
  | { readonly kind: 'bad_path'; readonly api: CompiledApi };

const split = (path: string): string[] => (path === '/' ? [] : path.slice(1).split('/'));

export function compile(specs: readonly ApiSpec[]): CompiledApi[] {
  return (
    specs
      .map((spec) => ({
        spec,
        base: split(spec.basePath),
        routes: spec.routes.map((route) => ({
          route,
          segments: split(route.path).map((s) => (s.startsWith('{') ? { name: s.slice(1, -1) } : s)),
        })),
      }))
      // The longest base path first: /api/v2 before /api.
      .sort((a, b) => b.base.length - a.base.length)
  );
}

export interface ApiAt {
  readonly api: CompiledApi;
  /** The path's segments under the API's base path, not decoded. */
  readonly rest: readonly string[];
}

/** The API whose base path holds `path` (raw, not decoded), if any. */
export function apiFor(apis: readonly CompiledApi[], path: string): ApiAt | undefined {
  const parts = split(path);
  for (const api of apis) {
    if (api.base.length > parts.length) continue;
    if (api.base.every((s, i) => s === parts[i])) return { api, rest: parts.slice(api.base.length) };
  }
  return undefined;
}

export function matchRoute(api: CompiledApi, rest: readonly string[], method: string): RouteMatch {
  const decoded: string[] = [];
  for (const raw of rest) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return { kind: 'bad_path', api };
    }
    if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')) return { kind: 'bad_path', api };
    decoded.push(s);
  }
  const allowed: Method[] = [];
  for (const { route, segments } of api.routes) {
    if (segments.length !== decoded.length) continue;
    const params: Record<string, string> = {};
    const fits = segments.every((seg, i) => {
      if (typeof seg === 'string') return seg === decoded[i];
      params[seg.name] = decoded[i]!;
      return true;
    });
    if (!fits) continue;
    if (route.method === method) return { kind: 'route', api, route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'method', api, allowed } : { kind: 'none', api };
}

// Paths remembered per compiled spec set; past this many the memory starts again, so a client
// naming endless distinct paths costs a lookup each, never memory. Longer paths are looked up
// every time: what a stranger can make the cache hold stays under 2 x 1,024 x 256 characters.
const REMEMBERED_PATHS = 1024;
const REMEMBERED_PATH_LENGTH = 256;

/**
 * apiFor and matchRoute of the paths requests name, remembered until the specs change: most
 * requests name a path seen before, and its lookup (split, decode, match) gives the same answer.
 * The answers are shared: nobody changes them (or their params).
 */
export class RouteCache {
  readonly apis: readonly CompiledApi[];
  readonly #apiAt = new Map<string, ApiAt | null>();
  readonly #matches = new Map<string, RouteMatch>();

  constructor(apis: readonly CompiledApi[]) {
    this.apis = apis;
  }

  apiFor(path: string): ApiAt | undefined {
    if (path.length > REMEMBERED_PATH_LENGTH) return apiFor(this.apis, path);
    let found = this.#apiAt.get(path);
    if (found === undefined) {
      if (this.#apiAt.size >= REMEMBERED_PATHS) this.#apiAt.clear();
      found = apiFor(this.apis, path) ?? null;
      this.#apiAt.set(path, found);
    }
    return found ?? undefined;
  }

  /** matchRoute of `at` (this cache's apiFor(path)) for `method`. */
  match(at: ApiAt, path: string, method: string): RouteMatch {
    if (path.length > REMEMBERED_PATH_LENGTH) return matchRoute(at.api, at.rest, method);
    const key = `${method} ${path}`;
    let m = this.#matches.get(key);
    if (m === undefined) {
      if (this.#matches.size >= REMEMBERED_PATHS) this.#matches.clear();
      m = matchRoute(at.api, at.rest, method);
      this.#matches.set(key, m);
    }
    return m;
  }
}
