// HOST:PORT values of --ws and --rawsocket. IPv6 hosts go in brackets ("[::1]:8080"), as in
// URLs, because a bare "::1:8080" is ambiguous.

import { isHost } from '../config/host.ts';
import { UsageError } from './errors.ts';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(flag: string, value: string): HostPort {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(value);
  let host: string;
  let portText: string;
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2] ?? '';
  } else {
    if (value.startsWith('[')) throw new UsageError(`${flag}: expected [IPV6]:PORT, got '${value}'`);
    const colon = value.lastIndexOf(':');
    if (colon <= 0) throw new UsageError(`${flag}: expected HOST:PORT, got '${value}'`);
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) {
      throw new UsageError(`${flag}: an IPv6 address goes in brackets, e.g. [::1]:8080; got '${value}'`);
    }
  }
  if (!isHost(host)) throw new UsageError(`${flag}: '${host}' is not an IP address or host name (in '${value}')`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`${flag}: port must be an integer 0..65535, got '${portText}' (in '${value}')`);
  }
  return { host, port: Number(portText) };
}

/** --ws takes an optional URL path after the port: "127.0.0.1:8080/wamp" (default "/ws"). */
export function parseWebSocketAddress(flag: string, value: string): HostPort & { path: string } {
  // The path starts at the first "/" after the port; IPv6 brackets never contain "/".
  const slash = value.indexOf('/', value.lastIndexOf(']') + 1);
  const hostPort = slash < 0 ? value : value.slice(0, slash);
  const path = slash < 0 ? '/ws' : value.slice(slash);
  if (/[\s?#]/.test(path)) throw new UsageError(`${flag}: invalid URL path '${path}'`);
  return { ...parseHostPort(flag, hostPort), path };
}
