// What MdnsDiscovery is started with (checked once, at construction), and the socket it uses.

import type { RemoteInfo } from 'node:dgram';
import multicastDns from 'multicast-dns';
import type { Logger } from '../../log.ts';
import type { InterfaceChoice } from './interfaces.ts';
import type { DnsPacket } from './packets.ts';

/** Fixed by RFC 6762. */
export const MDNS_PORT = 5353;
/** TXT strings are at most 255 bytes; "node=" takes 5. */
const MAX_NODE_ID_BYTES = 200;

/** What MdnsDiscovery needs of a socket; multicast-dns by default, a fake bus in unit tests. */
export interface MdnsSocket {
  on(event: 'query' | 'response', listener: (packet: unknown, rinfo: RemoteInfo) => void): unknown;
  on(event: 'error' | 'warning', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  send(packet: DnsPacket, rinfo: { address: string; port: number } | null, cb: (err?: Error | null) => void): void;
  destroy(cb?: () => void): void;
}

export type MdnsSocketFactory = (iface: InterfaceChoice) => MdnsSocket;

export const defaultSocketFactory: MdnsSocketFactory = (iface) =>
  multicastDns({
    interface: iface.address,
    bind: '0.0.0.0',
    port: MDNS_PORT,
    reuseAddr: true,
    loopback: true,
    ttl: 255,
  });

export interface PeerEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface MdnsDiscoveryOptions {
  nodeId: string;
  clusterName: string;
  /** TCP port the mesh link listener accepts on. */
  linkPort: number;
  /** Interface names or IPv4 addresses; default: every non-loopback IPv4 interface with multicast. */
  interfaces?: readonly string[];
  protocolVersion?: number;
  /** Default: meshDefaults.mdnsTtlSec. */
  ttlSec?: number;
  /** Default: meshDefaults.mdnsQueryIntervalMs. */
  queryIntervalMs?: number;
  logger?: Logger;
  /** A node of our cluster and protocol appeared, or its endpoint changed. */
  onPeer?: (nodeId: string, endpoint: PeerEndpoint) => void;
  /** Its records were withdrawn (goodbye) or ran out on every interface. */
  onPeerGone?: (nodeId: string) => void;
  /** Another host holds our instance or host name on this interface: a duplicate node id. */
  onConflict?: (iface: InterfaceChoice, from: string) => void;
  /** For tests: makes the socket of one interface. */
  socketFactory?: MdnsSocketFactory;
  /** For tests: the machine's interfaces (default os.networkInterfaces and sysfs flags). */
  listInterfaces?: () => InterfaceChoice[];
}

/** The first problem with the options, as a sentence; undefined when there is none. */
export function checkOptions(o: MdnsDiscoveryOptions): string | undefined {
  if (typeof o.nodeId !== 'string' || o.nodeId.length === 0) return 'discovery: nodeId must be a non-empty string';
  if (Buffer.byteLength(o.nodeId, 'utf8') > MAX_NODE_ID_BYTES)
    return `discovery: nodeId must be at most ${MAX_NODE_ID_BYTES} bytes`;
  if (typeof o.clusterName !== 'string' || o.clusterName.length === 0)
    return 'discovery: clusterName must be a non-empty string';
  if (!Number.isInteger(o.linkPort) || o.linkPort < 1 || o.linkPort > 65535)
    return 'discovery: linkPort must be a port number';
  if (o.protocolVersion !== undefined && (!Number.isInteger(o.protocolVersion) || o.protocolVersion < 0))
    return 'discovery: protocolVersion must be an integer >= 0';
  if (o.ttlSec !== undefined && (!Number.isInteger(o.ttlSec) || o.ttlSec < 2 || o.ttlSec > 4500))
    return 'discovery: ttlSec must be an integer from 2 to 4500';
  if (o.queryIntervalMs !== undefined && (!Number.isFinite(o.queryIntervalMs) || o.queryIntervalMs < 100))
    return 'discovery: queryIntervalMs must be >= 100';
  if (
    o.interfaces !== undefined &&
    (!Array.isArray(o.interfaces) || o.interfaces.some((i) => typeof i !== 'string' || i.length === 0))
  )
    return 'discovery: interfaces must be a list of names or IPv4 addresses';
  return undefined;
}
