// HTTP API gateway specs (src/gateway/spec.ts) in the security store: realm state, exported,
// imported and replicated with the rest of the realm. Stored as checked (defaults filled in),
// so every node serves the same spec.

import { parseApiSpec, type ApiSpec } from '../gateway/spec.ts';
import { exists, notFound } from './errors.ts';
import { requireRealm } from './realms.ts';
import type { Statements, StoreContext } from './tables.ts';

/** The specs of `realm`, or of every realm. */
export function listApis(s: StoreContext, realm?: string): ApiSpec[] {
  return s.tx.read(() => {
    if (realm !== undefined) requireRealm(s.q, realm);
    const rows = (realm === undefined ? s.q.allApis.all() : s.q.apis.all(realm)) as { spec: string }[];
    return rows.map((r) => JSON.parse(r.spec) as ApiSpec);
  });
}

export function getApi(s: StoreContext, realm: string, name: string): ApiSpec | undefined {
  return s.tx.read(() => {
    const row = s.q.api.get(realm, name) as { spec: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.spec) as ApiSpec);
  });
}

/** Adds a spec; one by that name in its realm is replaced only with `replace`. */
export function putApi(s: StoreContext, input: unknown, options: { replace?: boolean } = {}): ApiSpec {
  const spec = parseApiSpec(input);
  s.tx.write([{ kind: 'api', realm: spec.realm }], () => {
    requireRealm(s.q, spec.realm);
    if (options.replace !== true && s.q.api.get(spec.realm, spec.name) !== undefined)
      throw exists('name', `API '${spec.name}' exists in realm '${spec.realm}' (replace it with --replace)`);
    s.q.putApi.run(spec.realm, spec.name, JSON.stringify(spec));
  });
  return spec;
}

export function deleteApi(s: StoreContext, realm: string, name: string): void {
  s.tx.write([{ kind: 'api', realm }], () => {
    requireRealm(s.q, realm);
    if (s.q.deleteApi.run(realm, name).changes === 0) throw notFound('name', `no API '${name}' in realm '${realm}'`);
  });
}

/** The realm's specs as an export carries them: no `apis` key when there are none. */
export function apisOf(q: Statements, realm: string): { apis?: Record<string, unknown>[] } {
  const rows = q.apis.all(realm) as { spec: string }[];
  return rows.length === 0 ? {} : { apis: rows.map((r) => JSON.parse(r.spec) as Record<string, unknown>) };
}

/** Stores an imported spec of `realm`, checked again as putApi does (inside the import's transaction). */
export function insertApi(q: Statements, realm: string, input: unknown): void {
  const spec = parseApiSpec(input);
  q.putApi.run(realm, spec.name, JSON.stringify(spec));
}
