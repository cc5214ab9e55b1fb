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
// every time: what a stranger can make the cache hold stays under 1,024 x (256 + 16 x 16)
// characters (a path, and the methods remembered for it).
const REMEMBERED_PATHS = 1024;
const REMEMBERED_PATH_LENGTH = 256;

/**
 * apiFor and matchRoute of the paths requests name, remembered until the specs change: most
 * requests name a path seen before, and its lookup (split, decode, match) gives the same answer.
 * The answers are shared: nobody changes them (or their params).
 */
// Methods remembered per path (a stranger may name any token as its method): past this many,
// that path's memory starts again; longer methods are looked up every time.
const REMEMBERED_METHODS = 16;
const REMEMBERED_METHOD_LENGTH = 16;

/** A remembered ApiAt, with its matchRoute answers by method. */
interface RememberedAt extends ApiAt {
  readonly byMethod: Map<string, RouteMatch>;
}

export class RouteCache {
  readonly apis: readonly CompiledApi[];
  readonly #apiAt = new Map<string, RememberedAt | null>();

  constructor(apis: readonly CompiledApi[]) {
    this.apis = apis;
  }

  apiFor(path: string): ApiAt | undefined {
    if (path.length > REMEMBERED_PATH_LENGTH) return apiFor(this.apis, path);
    let found = this.#apiAt.get(path);
    if (found === undefined) {
      if (this.#apiAt.size >= REMEMBERED_PATHS) this.#apiAt.clear();
      const at = apiFor(this.apis, path);
      found = at === undefined ? null : { api: at.api, rest: at.rest, byMethod: new Map() };
      this.#apiAt.set(path, found);
    }
    return found ?? undefined;
  }

  /**
   * matchRoute of `at` (this cache's apiFor(path)) for `method`: kept beside `at`, so a request
   * looks it up by its method alone (no key made of method and path per request).
   */
  match(at: ApiAt, method: string): RouteMatch {
    const byMethod = (at as Partial<RememberedAt>).byMethod;
    if (byMethod === undefined || method.length > REMEMBERED_METHOD_LENGTH) return matchRoute(at.api, at.rest, method);
    let m = byMethod.get(method);
    if (m === undefined) {
      if (byMethod.size >= REMEMBERED_METHODS) byMethod.clear();
      m = matchRoute(at.api, at.rest, method);
      byMethod.set(method, m);
    }
    return m;
  }
}
