// HTTP answers of the gateway: values in the codec the client accepts, and errors from the
// one table (errors.ts) with the body {"error", "args", "kwargs"}.

import { errorText } from '../log.ts';
import type { HttpReply } from '../transport/http-exchange.ts';
import { hasKeys } from '../wamp/has-keys.ts';
import { encodeValue, type Codec } from './codec.ts';
import { errorReply, GatewayErrorUri, type ErrorContext } from './errors.ts';

// The headers of an answer with nothing extra (most), per content type: made once.
const PLAIN = new Map<string, Readonly<Record<string, string>>>();

function plainHeaders(contentType: string): Readonly<Record<string, string>> {
  let headers = PLAIN.get(contentType);
  if (headers === undefined) {
    headers = Object.freeze({ 'Content-Type': contentType, 'Cache-Control': 'no-store' });
    PLAIN.set(contentType, headers);
  }
  return headers;
}

export function valueReply(
  status: number,
  codec: Codec,
  value: unknown,
  extra?: Readonly<Record<string, string>>,
): HttpReply {
  return {
    status,
    headers: hasKeys(extra)
      ? { 'Content-Type': codec.contentType, 'Cache-Control': 'no-store', ...extra }
      : plainHeaders(codec.contentType),
    body: encodeValue(codec, value),
  };
}

export function errorHttpReply(
  codec: Codec,
  uri: string,
  args: readonly unknown[] = [],
  kwargs: Readonly<Record<string, unknown>> = {},
  ctx: ErrorContext = {},
  extra: Readonly<Record<string, string>> = {},
): HttpReply {
  const e = errorReply(uri, args, kwargs, ctx);
  return valueReply(e.status, codec, { error: e.error, args: e.args, kwargs: e.kwargs }, { ...e.headers, ...extra });
}

/**
 * The answer when a callee's value cannot be written as `codec` (an integer beyond 64 bits as
 * MessagePack, nesting deeper than an encoder's stack): 502, naming why. The value is valid
 * WAMP, so the callee did nothing wrong; this client alone cannot have it.
 */
export function unencodableReply(codec: Codec, error: unknown, extra?: Readonly<Record<string, string>>): HttpReply {
  const { error: uri, args } = unencodable(`the answer cannot be written as ${codec.contentType}`, error, {});
  return errorHttpReply(codec, uri, args, {}, {}, extra);
}

/** The error of a value that cannot be written (`what`, e.g. "the event cannot be written as JSON"), naming why. */
export function unencodable(
  what: string,
  error: unknown,
  kwargs: Record<string, unknown>,
): { error: string; args: [string]; kwargs: Record<string, unknown> } {
  return { error: GatewayErrorUri.UNENCODABLE, args: [`${what}: ${errorText(error)}`], kwargs };
}
