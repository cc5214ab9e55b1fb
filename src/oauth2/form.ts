// The endpoints' input: an application/x-www-form-urlencoded body (RFC 6749 section 3.2) and the
// client's credentials, from HTTP Basic (section 2.3.1, each part form-urlencoded) or the body's
// client_id / client_secret. Parameters may not repeat (section 3.1); both ways of sending
// client credentials at once is refused too.

import { OAuth2ErrorCode } from './errors.ts';

/** Forms are a handful of short fields; anything bigger is not a token request. */
export const MAX_FORM_BYTES = 16 * 1024;

export interface EndpointRequest {
  readonly method: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  readonly body: Uint8Array;
  /** The peer as TransportInfo.peer writes it ("1.2.3.4:5678", "[::1]:80", "unix:..."). */
  readonly peer: string;
}

export interface ClientCredentials {
  readonly id: string;
  readonly secret: string | undefined;
  /** Whether they came in an Authorization header (an error answers with its scheme). */
  readonly basic: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; code: OAuth2ErrorCode; description: string };

const bad = (description: string): Parsed<never> => ({
  ok: false,
  code: OAuth2ErrorCode.INVALID_REQUEST,
  description,
});

export function parseForm(req: EndpointRequest): Parsed<Map<string, string>> {
  const type = (req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return bad('the body must be application/x-www-form-urlencoded');
  if (req.body.length > MAX_FORM_BYTES) return bad(`the body must be at most ${MAX_FORM_BYTES} bytes`);
  const text = Buffer.from(req.body).toString('utf8');
  if (!text.isWellFormed() || text.includes('\uFFFD')) return bad('the body must be UTF-8');
  const form = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (form.has(name)) return bad(`parameter ${name} is repeated`);
    // Section 3.1: parameters sent without a value are treated as omitted.
    if (value !== '') form.set(name, value);
  }
  return { ok: true, value: form };
}

/** The client's credentials, if it sent any. */
export function clientCredentials(
  req: EndpointRequest,
  form: ReadonlyMap<string, string>,
): Parsed<ClientCredentials | undefined> {
  const auth = req.header('authorization');
  const inBody = form.has('client_secret');
  if (auth !== undefined) {
    const m = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(auth);
    if (m === null)
      return { ok: false, code: OAuth2ErrorCode.INVALID_CLIENT, description: 'expected HTTP Basic authentication' };
    if (inBody) return bad('send client credentials once: in the Authorization header or in the body');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      return { ok: false, code: OAuth2ErrorCode.INVALID_CLIENT, description: 'malformed Basic credentials' };
    try {
      const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      if (form.has('client_id') && form.get('client_id') !== id)
        return bad('client_id differs from the authenticated client');
      return { ok: true, value: { id, secret, basic: true } };
    } catch {
      return { ok: false, code: OAuth2ErrorCode.INVALID_CLIENT, description: 'malformed Basic credentials' };
    }
  }
  const id = form.get('client_id');
  if (id === undefined) return inBody ? bad('client_secret without client_id') : { ok: true, value: undefined };
  return { ok: true, value: { id, secret: form.get('client_secret'), basic: false } };
}
