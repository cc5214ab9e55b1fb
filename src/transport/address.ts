// Peer addresses as the transports print them, and which of them count as local.

/** "::ffff:10.0.0.1" -> "10.0.0.1": dual-stack listeners report IPv4 clients in mapped form. */
export function unmapIPv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

/** Loopback in either family, including the IPv4-mapped form. */
export function isLoopback(address: string): boolean {
  const a = unmapIPv4(address);
  return a.startsWith('127.') || a === '::1';
}

/** "host:port", IPv6 in brackets; the bare host without a port. */
export function formatHostPort(address: string, port: number | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}
