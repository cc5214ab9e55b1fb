// Host, port and peer address text, one way for every listener and link. IPv6 hosts go in
// brackets ("[::1]:8080"), as in URLs: a bare "::1:8080" is ambiguous.

import type net from 'node:net';

/** "10.0.0.1:80", "[::1]:80"; without a port, the host alone (bracketed if IPv6). */
export function formatHostPort(host: string, port?: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** The inverse of formatHostPort for text already validated as HOST:PORT (config seeds). */
export function splitHostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}

/** "::ffff:10.0.0.1" -> "10.0.0.1": dual-stack listeners report IPv4 clients in mapped form. */
export function unmapIPv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

/** Loopback in either family, including the IPv4-mapped form. */
export function isLoopback(address: string): boolean {
  // Only the IPv4-mapped form ("::ffff:...") needs unmapping: most addresses skip the regular
  // expression (read for every HTTP request).
  const a = address.startsWith('::') ? unmapIPv4(address) : address;
  return a.startsWith('127.') || a === '::1';
}

/** The other end of a TCP socket as HOST:PORT. */
export function remoteAddress(socket: net.Socket): string {
  return formatHostPort(unmapIPv4(socket.remoteAddress ?? 'unknown'), socket.remotePort ?? 0);
}

/** An address given as 4 or 16 raw octets (uWS); IPv4 clients of a dual-stack listener come IPv6-mapped. */
export function addressFromOctets(raw: ArrayBuffer): string {
  const b = new Uint8Array(raw);
  // Read for every HTTP request on uWS: the IPv4 forms are written out directly (a typed
  // array's join() and every() cost a microsecond).
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return 'unknown';
  if (isMappedIPv4(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  // The URL parser produces the canonical compressed form (RFC 5952), e.g. "::1".
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** ::ffff:a.b.c.d: ten zero octets, then two 0xff. */
export function isMappedIPv4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}
