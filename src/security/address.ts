// Where a connection comes from, as the sources of a realm see it: a Unix socket, or an IP
// address matched against CIDR blocks. TransportInfo.peer is "unix:/path", "1.2.3.4:5678",
// "[::1]:5678", or a bare address (WebSocket).

import net from 'node:net';

export type PeerAddress =
  | { readonly kind: 'unix' }
  | { readonly kind: 'ip'; readonly family: 'ipv4' | 'ipv6'; readonly address: string }
  | { readonly kind: 'unknown' };

export function parsePeer(peer: string): PeerAddress {
  if (peer.startsWith('unix:')) return { kind: 'unix' };
  let host = peer;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  if (bracketed) host = bracketed[1]!;
  else if (net.isIP(peer) === 0) {
    const colon = peer.lastIndexOf(':');
    if (colon > 0) host = peer.slice(0, colon);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) host = mapped[1]!;
  const v = net.isIP(host);
  if (v === 4) return { kind: 'ip', family: 'ipv4', address: host };
  if (v === 6) return { kind: 'ip', family: 'ipv6', address: host };
  return { kind: 'unknown' };
}

/** A source's "cidr": "any", "unix", or an IPv4/IPv6 block such as "10.0.0.0/8" or "::1/128". */
export interface Cidr {
  readonly text: string;
  matches(address: PeerAddress): boolean;
}

export function parseCidr(text: string): Cidr | undefined {
  if (text === 'any') return { text, matches: () => true };
  if (text === 'unix') return { text, matches: (a) => a.kind === 'unix' };
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const family = net.isIP(m[1]!);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new net.BlockList();
  try {
    list.addSubnet(m[1]!, prefix, type);
  } catch {
    return undefined;
  }
  return { text, matches: (a) => a.kind === 'ip' && a.family === type && list.check(a.address, type) };
}

/** The key the failure throttle counts under: the IPv4 address, the IPv6 /64, or "unix". */
export function throttleKey(address: PeerAddress, peer: string): string {
  if (address.kind === 'unix') return 'unix';
  if (address.kind === 'unknown') return `?${peer}`;
  if (address.family === 'ipv4') return address.address;
  return `${expandIPv6(address.address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  let text = address;
  // A trailing dotted quad ("::ffff:1.2.3.4" not unmapped, or "64:ff9b::1.2.3.4").
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().padStart(4, '0'));
}
