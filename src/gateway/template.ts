// The small template language of API specs. A string in a spec's args, kwargs or URIs may name
// parts of the request in braces: {path.id}, {query.limit}, {header.x-device}, {body},
// {body.a.b}, {caller.authid}, {caller.authrole}. A string that is exactly one reference takes
// the referenced value with its type (a JSON object stays an object); inside longer text the
// value is written as text. No expressions, no pipes: what a template can reach is the request.

const REF = /\{([^{}]*)\}/g;
const REF_FORM =
  /^(?:path\.[a-z][a-z0-9_]*|query\.[A-Za-z0-9_.-]+|header\.[a-z0-9-]+|body(?:\.[A-Za-z0-9_-]+)*|caller\.(?:authid|authrole|session))$/;
// Anything a URI template fills in must be one URI component: no ".", "#", whitespace, so a
// request can never steer a call outside the URIs its spec names (../, a.b.c, wamp.*).
const URI_VALUE = /^[A-Za-z0-9_-]{1,128}$/;
const URI_REF = /^(?:path\.[a-z][a-z0-9_]*|query\.[A-Za-z0-9_.-]+)$/;

export interface TemplateContext {
  readonly path: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly header: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly caller: { readonly authid: string; readonly authrole: string; readonly session: number };
}

/** Undefined when `value` is a valid template, else the problem (for the spec's field error). */
export function checkTemplate(value: unknown, depth = 0): string | undefined {
  if (depth > 16) return 'nested too deeply';
  if (typeof value === 'string') {
    for (const m of value.matchAll(REF)) {
      if (!REF_FORM.test(m[1]!))
        return `unknown reference {${m[1]}}: expected path.x, query.x, header.x, body[.x...], caller.authid|authrole|session`;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const p = checkTemplate(v, depth + 1);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) {
      const p = checkTemplate(v, depth + 1);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

/** Undefined when `uri` is a URI with at most {path.x}/{query.x} components, else the problem. */
export function checkUriTemplate(uri: string): string | undefined {
  for (const m of uri.matchAll(REF))
    if (!URI_REF.test(m[1]!)) return `only {path.x} and {query.x} may fill in a URI, not {${m[1]}}`;
  const sample = uri.replace(REF, 'x');
  if (!/^([0-9a-z_]+\.)*[0-9a-z_]+\.?$/.test(sample)) return 'expected a URI of lower-case components (a.b.c)';
  if (sample.startsWith('wamp.')) return 'URIs under "wamp." belong to the router';
  return undefined;
}

/** What a reference names in this request (undefined when absent). */
function lookup(ref: string, ctx: TemplateContext): unknown {
  const dot = ref.indexOf('.');
  const head = dot < 0 ? ref : ref.slice(0, dot);
  const rest = dot < 0 ? '' : ref.slice(dot + 1);
  switch (head) {
    case 'path':
      return ctx.path[rest];
    case 'query':
      return ctx.query.get(rest) ?? undefined;
    case 'header':
      return ctx.header[rest];
    case 'caller':
      return ctx.caller[rest as 'authid'];
    case 'body': {
      let v: unknown = ctx.body;
      if (rest === '') return v;
      for (const key of rest.split('.')) {
        if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
        v = (v as Record<string, unknown>)[key];
      }
      return v;
    }
  }
  return undefined;
}

/** The value of a template for this request. A lone reference to something absent is null. */
export function render(value: unknown, ctx: TemplateContext): unknown {
  if (typeof value === 'string') {
    const whole = /^\{([^{}]*)\}$/.exec(value);
    if (whole) return lookup(whole[1]!, ctx) ?? null;
    if (!value.includes('{')) return value;
    return value.replace(REF, (_m, ref: string) => {
      const v = lookup(ref, ctx);
      if (v === undefined || v === null) return '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => render(v, ctx));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, ctx);
    return out;
  }
  return value;
}

/** The URI for this request, or the reference whose value cannot be one URI component. */
export function renderUri(uri: string, ctx: TemplateContext): { uri: string } | { bad: string } {
  let bad: string | undefined;
  const out = uri.replace(REF, (_m, ref: string) => {
    const v = lookup(ref, ctx);
    if (typeof v !== 'string' || !URI_VALUE.test(v)) bad ??= ref;
    return typeof v === 'string' ? v : '';
  });
  return bad === undefined ? { uri: out } : { bad };
}
