// A uWS request's head copied out for the HTTP routes (uWS's request object is valid only
// inside its handler). Read for every request of the WebSocket port's HTTP routes (the
// gateway's), so what is the same from one request to the next is made once: the text of a
// client's address, and the header names most requests carry.

import type uWS from '@btc-vision/uwebsockets.js';
import { addressFromOctets, isLoopback, isMappedIPv4 } from '../net/address.ts';
import { NO_BODY, type UwsRequest } from './uws-http.ts';

/** The head of the request uWS is handling now, with an empty body (uws-http.ts sets it once read). */
export function uwsHead(res: uWS.HttpResponse, req: uWS.HttpRequest): UwsRequest {
  const headers: Record<string, string> = {};
  collecting = headers;
  req.forEach(collectHeader);
  const from = peerOf(res.getRemoteAddress());
  return {
    method: methodName(req.getCaseSensitiveMethod()),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remote: from.remote,
    local: from.local,
    body: NO_BODY,
  };
}

// The headers object being filled by forEach: one callback for every request, not a closure
// per request.
let collecting: Record<string, string> = {};
const collectHeader = (k: string, v: string): void => {
  const name = headerName(k);
  const seen = collecting[name];
  collecting[name] = seen === undefined ? v : `${seen}, ${v}`;
};

/** Upper case; the usual methods as constants (see headerName), without a conversion. */
const METHODS: ReadonlyMap<string, string> = new Map(
  ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'].map((m) => [m, m]),
);
const methodName = (m: string): string => METHODS.get(m) ?? m.toUpperCase();

/**
 * The header names most requests carry (lower case, as uWS gives them) as the constants they
 * are: a name from uWS is a new string, and V8 looks a new string up in its table of property
 * names at each read and write of the property it names (twice per header here, and again
 * wherever a route reads it). Compared by content here (most told apart by their length alone),
 * with no hash of the new string, the constant is used instead.
 */
function headerName(s: string): string {
  switch (s) {
    case 'host':
      return 'host';
    case 'content-type':
      return 'content-type';
    case 'content-length':
      return 'content-length';
    case 'accept':
      return 'accept';
    case 'authorization':
      return 'authorization';
    case 'user-agent':
      return 'user-agent';
    case 'connection':
      return 'connection';
    case 'accept-encoding':
      return 'accept-encoding';
    case 'origin':
      return 'origin';
    default:
      return s;
  }
}

interface Peer {
  readonly remote: string;
  readonly local: boolean;
}

// IPv4 clients seen (IPv6-mapped ones too), by their four octets as one number: most requests
// come from a client seen before, and its address as text and whether it is loopback are the
// same each time. Past this many the memory starts again, so a client naming endless addresses
// costs the text made each time, never memory.
const REMEMBERED_ADDRESSES = 1024;
const ipv4 = new Map<number, Peer>();

/** The client's address as text, and whether it is loopback, from uWS's octets. */
function peerOf(raw: ArrayBuffer): Peer {
  const b = new Uint8Array(raw);
  const at = b.length === 4 ? 0 : b.length === 16 && isMappedIPv4(b) ? 12 : -1;
  if (at < 0) {
    const remote = addressFromOctets(raw);
    return { remote, local: isLoopback(remote) };
  }
  const key = b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  let peer = ipv4.get(key);
  if (peer === undefined) {
    if (ipv4.size >= REMEMBERED_ADDRESSES) ipv4.clear();
    const remote = addressFromOctets(raw);
    peer = { remote, local: isLoopback(remote) };
    ipv4.set(key, peer);
  }
  return peer;
}
