// What a node says about itself over DNS-SD, sans-IO: the service type, the instance and host
// names made from a node id, the TXT record (node id, cluster id, protocol version, link port),
// and whether a node heard of that way may be proposed as a neighbour. Apart from the packets
// (discovery/packets.ts) because this is what we announce, not how mDNS carries it.

import { createHash } from 'node:crypto';

export const SERVICE_TYPE = '_wampmesh._tcp.local';

/**
 * The cluster id put in TXT and sent in the link handshake's hello: a hash of the cluster
 * *name* (never the secret), so nodes of other clusters on the same link are told apart before
 * any connection is made. 16 octets of SHA-256 with a domain-separation prefix, hex. The link
 * layer (links/auth.ts) must compute exactly this; test/netns/discovery-packets.test.ts checks they agree.
 */
export function clusterIdOf(name: string): string {
  return createHash('sha256').update('wampmesh-cluster/1\u0000').update(name, 'utf8').digest('hex').slice(0, 32);
}

const LABEL_OK = /^[A-Za-z0-9-]{1,63}$/;

/**
 * A DNS label (at most 63 bytes, no dots: dns-packet does not escape them) for a node id. Ids
 * that are already a clean label are used as they are; others are cleaned, cut and given a
 * hash of the id so two ids never share a label. The real node id travels in TXT.
 */
export function dnsLabelOf(prefix: string, nodeId: string): string {
  const plain = prefix + nodeId;
  if (LABEL_OK.test(plain)) return plain;
  const digest = createHash('sha256').update(nodeId, 'utf8').digest('hex').slice(0, 8);
  return `${plain.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 54)}-${digest}`;
}

export function instanceNameOf(nodeId: string): string {
  return `${dnsLabelOf('', nodeId)}.${SERVICE_TYPE}`;
}

/** Our own host name per node, not the machine's: nodes in network namespaces share that. */
export function hostNameOf(nodeId: string): string {
  return `${dnsLabelOf('wm-', nodeId)}.local`;
}

export interface ServiceInfo {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly protocolVersion: number;
  readonly linkPort: number;
}

export function encodeTxt(info: ServiceInfo): Buffer[] {
  return [
    `node=${info.nodeId}`,
    `cluster=${info.clusterId}`,
    `pv=${info.protocolVersion}`,
    `port=${info.linkPort}`,
  ].map((s) => Buffer.from(s, 'utf8'));
}

/**
 * TXT rdata (dns-packet gives an array of Buffers; a string or one Buffer is accepted too) as
 * key -> value. Keys are case-insensitive and the first occurrence wins (RFC 6763 §6.4).
 */
export function decodeTxt(data: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const items: unknown[] = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const text = Buffer.isBuffer(item) ? item.toString('utf8') : typeof item === 'string' ? item : undefined;
    if (text === undefined || text.length === 0) continue;
    const eq = text.indexOf('=');
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    if (key.length === 0 || out.has(key)) continue;
    out.set(key, eq < 0 ? '' : text.slice(eq + 1));
  }
  return out;
}

const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

/** The service info in a TXT record, or why it is unusable. */
export function serviceInfoFromTxt(data: unknown): ServiceInfo | string {
  const txt = decodeTxt(data);
  const nodeId = txt.get('node');
  const clusterId = txt.get('cluster');
  const pv = txt.get('pv');
  const port = txt.get('port');
  if (nodeId === undefined || nodeId.length === 0) return 'TXT without node';
  if (clusterId === undefined || !/^[0-9a-f]{32}$/.test(clusterId)) return 'TXT without a valid cluster';
  if (pv === undefined || !DECIMAL.test(pv)) return 'TXT without a valid pv';
  if (port === undefined || !DECIMAL.test(port) || Number(port) < 1 || Number(port) > 65535)
    return 'TXT without a valid port';
  return { nodeId, clusterId, protocolVersion: Number(pv), linkPort: Number(port) };
}

export type PeerVerdict = 'ok' | 'self' | 'other-cluster' | 'other-protocol';

/** Whether a discovered node may be proposed as a neighbour of `self`. */
export function judgePeer(
  info: ServiceInfo,
  self: { nodeId: string; clusterId: string; protocolVersion: number },
): PeerVerdict {
  if (info.nodeId === self.nodeId) return 'self';
  if (info.clusterId !== self.clusterId) return 'other-cluster';
  if (info.protocolVersion !== self.protocolVersion) return 'other-protocol';
  return 'ok';
}
