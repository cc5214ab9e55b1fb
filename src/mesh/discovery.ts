// Finding mesh neighbours on the local links: DNS-SD (RFC 6763) over Multicast DNS (RFC 6762).
//
// Every node announces one service instance of type _wampmesh._tcp.local on each configured
// interface: PTR (type -> instance), SRV (instance -> host name, link port), TXT (node id,
// cluster id, protocol version, link port) and A (host name -> that interface's address). It
// probes before announcing, answers queries (with known-answer suppression), browses
// periodically, keeps a cache of what it heard with the TTLs it was given, and reports a
// neighbour as gone on a goodbye (TTL 0) or when the TTL runs out. Nodes of another cluster or
// protocol version are cached (so known-answer suppression keeps them quiet) but never reported.
//
// Discovery only proposes neighbours: the link layer authenticates them with the cluster secret.
// The cluster id in TXT is a hash of the cluster *name*, so anyone on the link may read it; the
// secret never leaves the node.
//
// One multicast-dns socket per interface, each given { interface: <ip>, bind: '0.0.0.0' }: a
// socket bound to the unicast address never receives multicast. Linux delivers a multicast
// datagram to every socket bound to 0.0.0.0:5353 that any socket joined the group for
// (IP_MULTICAST_ALL, which Node can't turn off), so each socket keeps only packets whose source
// is inside its own interface's subnet: mDNS never crosses a router, so the sender of a packet
// that arrived on an interface is on that interface's subnet.

import { createHash } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import multicastDns from 'multicast-dns';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { meshDefaults } from './defaults.ts';

export const SERVICE_TYPE = '_wampmesh._tcp.local';
/** DNS-SD service type enumeration (RFC 6763 §9): lets `avahi-browse -a` list us. */
export const SERVICES_META = '_services._dns-sd._udp.local';
/**
 * The version in our TXT record ("pv"): of what discovery announces, not of the link protocol
 * (HELLO_VERSION, link-auth.ts). It stays 1 when only the link protocol changes (version 2 added
 * integrity tags), so that nodes of different releases still find each other and the link
 * handshake then refuses them with a log line naming both versions, instead of each ignoring
 * the other in silence.
 */
export const PROTOCOL_VERSION = 1;
// Our own timings (record TTL, browse interval, rescans, conflict retry) are in defaults.ts with
// the reasons for them; the ones below are fixed by RFC 6762.
const MDNS_PORT = 5353;
const AUTHORITATIVE_ANSWER = 1 << 10;
const PROBE_INTERVAL_MS = 250;
const PROBE_COUNT = 3;
const CONFLICT_RETRY_MS = meshDefaults.mdnsConflictRetryMs;
const RESCAN_INTERVAL_MS = meshDefaults.mdnsRescanIntervalMs;
/** TXT strings are at most 255 bytes; "node=" takes 5. */
const MAX_NODE_ID_BYTES = 200;
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_MULTICAST = 0x1000;

// ---- pure parts: names, TXT, records, packets ------------------------------------------------

/**
 * The cluster id put in TXT and sent in the link handshake's hello: a hash of the cluster
 * *name* (never the secret), so nodes of other clusters on the same link are told apart before
 * any connection is made. 16 octets of SHA-256 with a domain-separation prefix, hex. The link
 * layer (link-auth.ts) must compute exactly this; test/netns/discovery-packets.test.ts checks they agree.
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
  return [`node=${info.nodeId}`, `cluster=${info.clusterId}`, `pv=${info.protocolVersion}`, `port=${info.linkPort}`].map((s) => Buffer.from(s, 'utf8'));
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
  if (port === undefined || !DECIMAL.test(port) || Number(port) < 1 || Number(port) > 65535) return 'TXT without a valid port';
  return { nodeId, clusterId, protocolVersion: Number(pv), linkPort: Number(port) };
}

export type PeerVerdict = 'ok' | 'self' | 'other-cluster' | 'other-protocol';

/** Whether a discovered node may be proposed as a neighbour of `self`. */
export function judgePeer(info: ServiceInfo, self: { nodeId: string; clusterId: string; protocolVersion: number }): PeerVerdict {
  if (info.nodeId === self.nodeId) return 'self';
  if (info.clusterId !== self.clusterId) return 'other-cluster';
  if (info.protocolVersion !== self.protocolVersion) return 'other-protocol';
  return 'ok';
}

/** A resource record as dns-packet 5.x encodes and decodes it. Fields off the wire are unchecked. */
export interface DnsRecord {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  flush?: boolean;
  data?: unknown;
}

export interface DnsQuestion {
  name: string;
  type: string;
  class?: string;
}

export interface DnsPacket {
  type?: 'query' | 'response';
  id?: number;
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
}

/** The records one node announces on one interface. */
export interface OwnRecords {
  readonly instance: string;
  readonly host: string;
  readonly ptr: DnsRecord;
  readonly srv: DnsRecord;
  readonly txt: DnsRecord;
  readonly a: DnsRecord;
  readonly meta: DnsRecord;
}

export function ownRecords(info: ServiceInfo, address: string, ttlSec: number): OwnRecords {
  const instance = instanceNameOf(info.nodeId);
  const host = hostNameOf(info.nodeId);
  return {
    instance,
    host,
    // PTR is shared (many instances answer it): no cache-flush bit. The rest are unique to us.
    ptr: { name: SERVICE_TYPE, type: 'PTR', class: 'IN', ttl: ttlSec, data: instance },
    srv: { name: instance, type: 'SRV', class: 'IN', ttl: ttlSec, flush: true, data: { priority: 0, weight: 0, port: info.linkPort, target: host } },
    txt: { name: instance, type: 'TXT', class: 'IN', ttl: ttlSec, flush: true, data: encodeTxt(info) },
    a: { name: host, type: 'A', class: 'IN', ttl: ttlSec, flush: true, data: address },
    meta: { name: SERVICES_META, type: 'PTR', class: 'IN', ttl: ttlSec, data: SERVICE_TYPE },
  };
}

const withTtl = (r: DnsRecord, ttl: number): DnsRecord => ({ ...r, ttl });
const sameName = (a: unknown, b: string): boolean => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** RFC 6762 §8.1: "does anyone own these names?", with the records we mean to claim. */
export function probePacket(own: OwnRecords): DnsPacket {
  return {
    type: 'query', id: 0, flags: 0,
    questions: [{ name: own.instance, type: 'ANY' }, { name: own.host, type: 'ANY' }],
    authorities: [own.srv, own.txt, own.a],
  };
}

export function announcementPacket(own: OwnRecords): DnsPacket {
  return { type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER, answers: [own.ptr, own.srv, own.txt, own.a] };
}

/** The same records with TTL 0: caches drop them one second later (RFC 6762 §10.1). */
export function goodbyePacket(own: OwnRecords): DnsPacket {
  return { type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER, answers: [own.ptr, own.srv, own.txt, own.a].map((r) => withTtl(r, 0)) };
}

/** A browse query; `known` are PTR answers we hold with more than half their TTL left (§7.1). */
export function browsePacket(known: readonly { instance: string; ttlSec: number }[]): DnsPacket {
  return {
    type: 'query', id: 0, flags: 0,
    questions: [{ name: SERVICE_TYPE, type: 'PTR' }],
    answers: known.map((k) => ({ name: SERVICE_TYPE, type: 'PTR', class: 'IN', ttl: k.ttlSec, data: k.instance })),
  };
}

export function instanceQueryPacket(instance: string): DnsPacket {
  return { type: 'query', id: 0, flags: 0, questions: [{ name: instance, type: 'SRV' }, { name: instance, type: 'TXT' }] };
}

export interface Reply {
  /** The questions that were answered (for a legacy unicast reply, which echoes them). */
  questions: DnsQuestion[];
  answers: DnsRecord[];
  additionals: DnsRecord[];
  /** Contains a shared record (PTR): send after a random 20-120 ms (RFC 6762 §6). */
  shared: boolean;
}

/** What we answer to a query, or undefined when it asks nothing of ours. */
export function replyTo(query: DnsPacket, own: OwnRecords): Reply | undefined {
  const answers: DnsRecord[] = [];
  const additionals: DnsRecord[] = [];
  const add = (list: DnsRecord[], r: DnsRecord): void => {
    if (!answers.includes(r) && !list.includes(r)) list.push(r);
  };
  let shared = false;
  const questions: DnsQuestion[] = [];
  const known = Array.isArray(query.answers) ? query.answers : [];
  const ptrKnown = known.some((k) => k !== null && typeof k === 'object' && k.type === 'PTR' && sameName(k.name, SERVICE_TYPE)
    && sameName(k.data, own.instance) && typeof k.ttl === 'number' && k.ttl >= (own.ptr.ttl ?? 0) / 2);
  for (const q of Array.isArray(query.questions) ? query.questions : []) {
    if (q === null || typeof q !== 'object' || typeof q.name !== 'string') continue;
    const any = q.type === 'ANY';
    const count = answers.length;
    if (sameName(q.name, SERVICE_TYPE) && (any || q.type === 'PTR')) {
      if (ptrKnown) continue;
      add(answers, own.ptr);
      shared = true;
    } else if (sameName(q.name, SERVICES_META) && (any || q.type === 'PTR')) {
      add(answers, own.meta);
      shared = true;
    } else if (sameName(q.name, own.instance)) {
      if (any || q.type === 'SRV') add(answers, own.srv);
      if (any || q.type === 'TXT') add(answers, own.txt);
    } else if (sameName(q.name, own.host) && (any || q.type === 'A')) {
      add(answers, own.a);
    }
    if (answers.length > count) questions.push({ name: q.name, type: String(q.type) });
  }
  if (answers.length === 0) return undefined;
  if (answers.includes(own.ptr)) { add(additionals, own.srv); add(additionals, own.txt); }
  if (answers.includes(own.srv) || additionals.includes(own.srv)) add(additionals, own.a);
  return { questions, answers, additionals: additionals.filter((r) => !answers.includes(r)), shared };
}

/** What one response says about one service instance of our type. */
export interface InstanceSighting {
  /** Lower-cased full instance name. */
  readonly instance: string;
  readonly ptrTtl?: number;
  readonly srv?: { readonly port: number; readonly target: string; readonly ttl: number };
  readonly txt?: { readonly info: ServiceInfo | string; readonly ttl: number };
  /** A records of the SRV target found in the same packet. */
  readonly addresses: readonly string[];
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;
const ttlOf = (r: DnsRecord): number => (typeof r.ttl === 'number' && Number.isInteger(r.ttl) && r.ttl >= 0 ? r.ttl : 0);
const isInstanceOfOurType = (name: string): boolean => name.endsWith(`.${SERVICE_TYPE}`) && !name.slice(0, -SERVICE_TYPE.length - 1).includes('.');

/** The instances of _wampmesh._tcp a response's answers and additionals speak of. */
export function sightingsIn(packet: DnsPacket): InstanceSighting[] {
  const records = [...(Array.isArray(packet.answers) ? packet.answers : []), ...(Array.isArray(packet.additionals) ? packet.additionals : [])]
    .filter((r): r is DnsRecord => r !== null && typeof r === 'object' && typeof r.name === 'string' && typeof r.type === 'string');
  const byInstance = new Map<string, { ptrTtl?: number; srv?: { port: number; target: string; ttl: number }; txt?: { info: ServiceInfo | string; ttl: number } }>();
  const entry = (name: string) => {
    let e = byInstance.get(name);
    if (e === undefined) byInstance.set(name, (e = {}));
    return e;
  };
  for (const r of records) {
    const name = r.name.toLowerCase();
    if (r.type === 'PTR' && name === SERVICE_TYPE && typeof r.data === 'string') {
      const instance = r.data.toLowerCase();
      if (isInstanceOfOurType(instance)) entry(instance).ptrTtl = ttlOf(r);
    } else if (r.type === 'SRV' && isInstanceOfOurType(name)) {
      const d = r.data as { port?: unknown; target?: unknown } | null | undefined;
      if (d !== null && typeof d === 'object' && typeof d.port === 'number' && Number.isInteger(d.port) && d.port > 0 && d.port < 65536 && typeof d.target === 'string') {
        entry(name).srv = { port: d.port, target: d.target.toLowerCase(), ttl: ttlOf(r) };
      }
    } else if (r.type === 'TXT' && isInstanceOfOurType(name)) {
      entry(name).txt = { info: serviceInfoFromTxt(r.data), ttl: ttlOf(r) };
    }
  }
  const out: InstanceSighting[] = [];
  for (const [instance, e] of byInstance) {
    const target = e.srv?.target;
    const addresses = target === undefined ? [] : records
      .filter((r) => r.type === 'A' && r.name.toLowerCase() === target && typeof r.data === 'string' && IPV4.test(r.data) && ttlOf(r) > 0)
      .map((r) => r.data as string);
    out.push({ instance, ...e, addresses });
  }
  return out;
}

/**
 * A record in `records` that claims one of our names with other data (RFC 6762 §9): SRV or TXT
 * of our instance that differ from ours, or an A record for our host name with an address
 * that is not one of this machine's. Our own packets, looped back, never conflict.
 */
export function conflictIn(records: readonly DnsRecord[], own: OwnRecords, localAddresses: ReadonlySet<string>): DnsRecord | undefined {
  for (const r of records) {
    if (r === null || typeof r !== 'object' || typeof r.name !== 'string' || ttlOf(r) === 0) continue;
    if (sameName(r.name, own.instance) && (r.type === 'SRV' || r.type === 'TXT')) {
      if (recordKey(r) !== recordKey(r.type === 'SRV' ? own.srv : own.txt)) return r;
    } else if (sameName(r.name, own.host) && r.type === 'A') {
      if (typeof r.data !== 'string' || !localAddresses.has(r.data)) return r;
    }
  }
  return undefined;
}

/** A comparable form of a record's type and data (names lower-cased, TXT as hex). */
export function recordKey(r: DnsRecord): string {
  const d = r.data;
  switch (r.type) {
    case 'A': return `A ${typeof d === 'string' ? d.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('') : ''}`;
    case 'SRV': {
      const s = (d ?? {}) as { priority?: unknown; weight?: unknown; port?: unknown; target?: unknown };
      return `SRV ${String(s.priority ?? 0)} ${String(s.weight ?? 0)} ${String(s.port)} ${String(s.target).toLowerCase()}`;
    }
    case 'TXT': {
      const items: unknown[] = Array.isArray(d) ? d : [d];
      return `TXT ${items.map((i) => (Buffer.isBuffer(i) ? i.toString('hex') : typeof i === 'string' ? Buffer.from(i).toString('hex') : '')).join('.')}`;
    }
    default: return `${r.type} ${JSON.stringify(d)}`;
  }
}

/**
 * Simultaneous probe tie-break (RFC 6762 §8.2, simplified to our record keys): compares the
 * other prober's claims on our names with ours. Negative: we lose and probe again a second
 * later; positive: we win and go on; zero: identical (our own probe looped back).
 */
export function probeTiebreak(theirs: readonly DnsRecord[], ours: readonly DnsRecord[]): number {
  const a = ours.map(recordKey).sort();
  const b = theirs.map(recordKey).sort();
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return a.length - b.length;
}

export function ipv4ToInt(address: string): number | undefined {
  if (!IPV4.test(address)) return undefined;
  return address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function inSubnet(address: string, ifaceAddress: string, netmask: string): boolean {
  const a = ipv4ToInt(address);
  const b = ipv4ToInt(ifaceAddress);
  const m = ipv4ToInt(netmask);
  if (a === undefined || b === undefined || m === undefined) return false;
  return ((a & m) >>> 0) === ((b & m) >>> 0);
}

export interface InterfaceChoice {
  readonly name: string;
  readonly address: string;
  readonly netmask: string;
}

/**
 * The interfaces to run on. `wanted` holds interface names or IPv4 addresses; without it every
 * interface that is up, not loopback, has multicast and an IPv4 address. One address per
 * interface: one group membership per interface is all mDNS needs.
 */
export function chooseInterfaces(
  wanted: readonly string[] | undefined,
  nets: NodeJS.Dict<NetworkInterfaceInfo[]>,
  flagsOf: (name: string) => number | undefined,
): InterfaceChoice[] {
  const out: InterfaceChoice[] = [];
  for (const [name, infos] of Object.entries(nets)) {
    const v4 = (infos ?? []).filter((i) => i.family === 'IPv4');
    if (v4.length === 0) continue;
    if (wanted === undefined) {
      const flags = flagsOf(name);
      if (v4[0]!.internal) continue;
      if (flags !== undefined && ((flags & IFF_UP) === 0 || (flags & IFF_LOOPBACK) !== 0 || (flags & IFF_MULTICAST) === 0)) continue;
      out.push({ name, address: v4[0]!.address, netmask: v4[0]!.netmask });
    } else if (wanted.includes(name)) {
      out.push({ name, address: v4[0]!.address, netmask: v4[0]!.netmask });
    } else {
      const byAddress = v4.find((i) => wanted.includes(i.address));
      if (byAddress !== undefined) out.push({ name, address: byAddress.address, netmask: byAddress.netmask });
    }
  }
  return out;
}

/** Interface flags from sysfs (Linux); undefined where unreadable (then flags aren't checked). */
export function linuxInterfaceFlags(name: string): number | undefined {
  try {
    const text = readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim();
    const n = Number.parseInt(text, 16);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

// ---- the service ----------------------------------------------------------------------------

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
  multicastDns({ interface: iface.address, bind: '0.0.0.0', port: MDNS_PORT, reuseAddr: true, loopback: true, ttl: 255 });

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

interface CacheEntry {
  instance: string;
  info?: ServiceInfo;
  verdict?: PeerVerdict | string;
  host?: string;
  port?: number;
  ttlMs: number;
  receivedAt: number;
  expiresAt: number;
  /** 0: fresh; 1: re-queried at 80% of the TTL; 2: at 90%. */
  refreshStage: number;
  goodbye: boolean;
}

interface Link {
  readonly iface: InterfaceChoice;
  readonly socket: MdnsSocket;
  readonly own: OwnRecords;
  state: 'starting' | 'probing' | 'announced' | 'conflict' | 'closed';
  /** Bumped whenever probing restarts, so stale probe timers do nothing. */
  probeRound: number;
  browseDelayMs: number;
  readonly cache: Map<string, CacheEntry>;
  readonly asked: Map<string, number>;
  readonly timers: Set<NodeJS.Timeout>;
  conflictLogged: boolean;
}

export class MdnsDiscovery {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly protocolVersion: number;
  readonly linkPort: number;
  readonly ttlSec: number;
  readonly queryIntervalMs: number;
  readonly #options: MdnsDiscoveryOptions;
  readonly #logger: Logger;
  readonly #links = new Map<string, Link>();
  /** What we last reported per peer: endpoint and the interface it was seen on. */
  readonly #reported = new Map<string, PeerEndpoint & { link: string }>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #started = false;
  #closed = false;
  #maintainTimer: NodeJS.Timeout | undefined;
  #maintainAt = Infinity;

  constructor(options: MdnsDiscoveryOptions) {
    const problem = checkOptions(options);
    if (problem !== undefined) throw new Error(problem);
    this.#options = options;
    this.nodeId = options.nodeId;
    this.clusterId = clusterIdOf(options.clusterName);
    this.protocolVersion = options.protocolVersion ?? PROTOCOL_VERSION;
    this.linkPort = options.linkPort;
    this.ttlSec = options.ttlSec ?? meshDefaults.mdnsTtlSec;
    this.queryIntervalMs = options.queryIntervalMs ?? meshDefaults.mdnsQueryIntervalMs;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'mdns' });
  }

  /** Opens a socket per interface; resolves once each has bound (or failed, which is logged). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const ready = this.#rescan();
    this.#every(RESCAN_INTERVAL_MS, () => void this.#rescan());
    await ready;
  }

  /** Nodes currently proposed, with the endpoint last reported for each. */
  peers(): Map<string, PeerEndpoint> {
    return new Map([...this.#reported].map(([id, e]) => [id, { host: e.host, port: e.port }]));
  }

  /** Interfaces in use and their state. */
  interfaces(): { name: string; address: string; state: string }[] {
    return [...this.#links.values()].map((l) => ({ name: l.iface.name, address: l.iface.address, state: l.state }));
  }

  /** Sends goodbyes on every interface where we announced, then closes the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    clearTimeout(this.#maintainTimer);
    await Promise.all([...this.#links.values()].map((link) => this.#closeLink(link, true)));
    this.#links.clear();
    this.#reported.clear();
  }

  // ---- interfaces and sockets

  async #rescan(): Promise<void> {
    if (this.#closed) return;
    const list = this.#options.listInterfaces ?? (() => chooseInterfaces(this.#options.interfaces, networkInterfaces(), linuxInterfaceFlags));
    let wanted: InterfaceChoice[];
    try {
      wanted = list();
    } catch (err) {
      this.#logger.warn({ err }, 'mdns: cannot list interfaces');
      return;
    }
    const keep = new Set(wanted.map((i) => i.address));
    for (const link of [...this.#links.values()]) {
      if (!keep.has(link.iface.address)) {
        this.#logger.info({ iface: link.iface.name, address: link.iface.address }, 'mdns: interface gone');
        void this.#closeLink(link, false);
      }
    }
    if (wanted.length === 0 && this.#links.size === 0) {
      this.#logger.debug({ interfaces: this.#options.interfaces }, 'mdns: no usable interface (yet)');
    }
    const opening: Promise<void>[] = [];
    for (const iface of wanted) if (!this.#links.has(iface.address)) opening.push(this.#openLink(iface));
    await Promise.all(opening);
  }

  #openLink(iface: InterfaceChoice): Promise<void> {
    const factory = this.#options.socketFactory ?? defaultSocketFactory;
    let socket: MdnsSocket;
    try {
      socket = factory(iface);
    } catch (err) {
      this.#logger.warn({ err, iface: iface.name }, 'mdns: cannot open socket');
      return Promise.resolve();
    }
    const link: Link = {
      iface, socket,
      own: ownRecords({ nodeId: this.nodeId, clusterId: this.clusterId, protocolVersion: this.protocolVersion, linkPort: this.linkPort }, iface.address, this.ttlSec),
      state: 'starting', probeRound: 0, browseDelayMs: 1_000,
      cache: new Map(), asked: new Map(), timers: new Set(), conflictLogged: false,
    };
    this.#links.set(iface.address, link);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (): void => { if (!settled) { settled = true; resolve(); } };
      socket.on('ready', () => {
        settle();
        if (link.state !== 'starting') return;
        this.#logger.info({ iface: iface.name, address: iface.address }, 'mdns: listening');
        this.#browse(link, 20 + Math.random() * 100);
        this.#probe(link);
      });
      socket.on('error', (err) => {
        settle();
        this.#logger.warn({ err, iface: iface.name, address: iface.address }, 'mdns: socket failed; retrying on the next interface scan');
        void this.#closeLink(link, false);
      });
      socket.on('warning', (err) => this.#logger.debug({ err, iface: iface.name }, 'mdns: socket warning'));
      socket.on('query', (packet, rinfo) => this.#guard(link, packet, rinfo, (p) => this.#onQuery(link, p, rinfo)));
      socket.on('response', (packet, rinfo) => this.#guard(link, packet, rinfo, (p) => this.#onResponse(link, p, rinfo)));
    });
  }

  async #closeLink(link: Link, sayGoodbye: boolean): Promise<void> {
    if (link.state === 'closed') return;
    const announced = link.state === 'announced';
    link.state = 'closed';
    for (const t of link.timers) clearTimeout(t);
    link.timers.clear();
    if (this.#links.get(link.iface.address) === link) this.#links.delete(link.iface.address);
    if (sayGoodbye && announced) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        link.socket.send(goodbyePacket(link.own), null, (err) => {
          clearTimeout(timer);
          if (err) this.#logger.debug({ err, iface: link.iface.name }, 'mdns: goodbye not sent');
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      try {
        link.socket.destroy(() => resolve());
      } catch {
        resolve();
      }
    });
    const affected = new Set<string>();
    for (const e of link.cache.values()) if (e.info !== undefined && e.verdict === 'ok') affected.add(e.info.nodeId);
    link.cache.clear();
    if (!this.#closed) for (const id of affected) this.#reconcile(id);
  }

  // ---- probing and announcing

  #probe(link: Link): void {
    link.state = 'probing';
    const round = ++link.probeRound;
    const send = (n: number): void => {
      if (link.state !== 'probing' || link.probeRound !== round) return;
      if (n === PROBE_COUNT) {
        this.#announce(link);
        return;
      }
      this.#send(link, probePacket(link.own));
      this.#later(link, PROBE_INTERVAL_MS, () => send(n + 1));
    };
    this.#later(link, Math.random() * PROBE_INTERVAL_MS, () => send(0));
  }

  #announce(link: Link): void {
    link.state = 'announced';
    link.conflictLogged = false;
    this.#logger.info({ iface: link.iface.name, address: link.iface.address, instance: link.own.instance }, 'mdns: announced');
    // At least two announcements, one second apart, then doubling (RFC 6762 §8.3).
    const send = (n: number, gapMs: number): void => {
      if (link.state !== 'announced') return;
      this.#send(link, announcementPacket(link.own));
      if (n < 2) this.#later(link, gapMs, () => send(n + 1, gapMs * 2));
    };
    send(0, 1_000);
  }

  #lostName(link: Link, from: string, record: DnsRecord): void {
    if (!link.conflictLogged) {
      link.conflictLogged = true;
      this.#logger.error({ iface: link.iface.name, from, record: `${record.name} ${recordKey(record)}`, nodeId: this.nodeId },
        'mdns: another host announces this node id on this link; not announcing here (duplicate mesh.nodeId?)');
      try {
        this.#options.onConflict?.(link.iface, from);
      } catch (err) {
        this.#logger.error({ err }, 'mdns: onConflict threw');
      }
    }
    link.state = 'conflict';
    link.probeRound++;
    this.#later(link, CONFLICT_RETRY_MS, () => { if (link.state === 'conflict') this.#probe(link); });
  }

  // ---- incoming

  #guard(link: Link, packet: unknown, rinfo: RemoteInfo, handle: (p: DnsPacket) => void): void {
    if (link.state === 'closed' || this.#closed) return;
    // See the top of the file: only packets from this interface's subnet are this link's.
    if (!inSubnet(rinfo.address, link.iface.address, link.iface.netmask)) return;
    if (packet === null || typeof packet !== 'object') return;
    try {
      handle(packet as DnsPacket);
    } catch (err) {
      this.#logger.debug({ err, from: rinfo.address }, 'mdns: bad packet');
    }
  }

  #onQuery(link: Link, query: DnsPacket, rinfo: RemoteInfo): void {
    if (link.state === 'probing' && Array.isArray(query.authorities)) {
      // Someone else probing for our names at the same time?
      const theirs = query.authorities.filter((r) => r !== null && typeof r === 'object' && (sameName(r.name, link.own.instance) || sameName(r.name, link.own.host)));
      if (theirs.length > 0 && probeTiebreak(theirs, [link.own.srv, link.own.txt, link.own.a]) < 0) {
        this.#logger.debug({ iface: link.iface.name, from: rinfo.address }, 'mdns: lost a simultaneous probe; probing again in 1 s');
        link.probeRound++;
        link.state = 'conflict';
        this.#later(link, 1_000, () => { if (link.state === 'conflict') this.#probe(link); });
        return;
      }
    }
    if (link.state !== 'announced') return;
    const reply = replyTo(query, link.own);
    if (reply === undefined) return;
    if (rinfo.port !== MDNS_PORT) {
      // Legacy unicast query (RFC 6762 §6.7): answer it directly, echoing id and questions.
      const clamp = (r: DnsRecord): DnsRecord => ({ ...r, flush: false, ttl: Math.min(ttlOf(r), 10) });
      this.#send(link, { type: 'response', id: query.id ?? 0, flags: AUTHORITATIVE_ANSWER, questions: reply.questions,
        answers: reply.answers.map(clamp), additionals: reply.additionals.map(clamp) }, { address: rinfo.address, port: rinfo.port });
      return;
    }
    const packet: DnsPacket = { type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER, answers: reply.answers, additionals: reply.additionals };
    if (reply.shared) this.#later(link, 20 + Math.random() * 100, () => { if (link.state === 'announced') this.#send(link, packet); });
    else this.#send(link, packet);
  }

  #onResponse(link: Link, response: DnsPacket, rinfo: RemoteInfo): void {
    // RFC 6762 §6, §11: responses come from port 5353; anything else is not mDNS (or spoofed).
    if (rinfo.port !== MDNS_PORT) return;
    const records = [...(Array.isArray(response.answers) ? response.answers : []), ...(Array.isArray(response.additionals) ? response.additionals : [])];
    if (link.state === 'probing' || link.state === 'announced') {
      const conflict = conflictIn(records, link.own, this.#localAddresses());
      if (conflict !== undefined) {
        if (link.state === 'probing') this.#lostName(link, rinfo.address, conflict);
        else {
          // RFC 6762 §9: a conflict after announcing means probing again; whoever keeps the
          // name will answer our probes and we back off.
          this.#logger.warn({ iface: link.iface.name, from: rinfo.address }, 'mdns: conflicting records for our name; probing again');
          this.#probe(link);
        }
      }
    }
    const now = Date.now();
    for (const s of sightingsIn(response)) {
      if (s.instance === link.own.instance.toLowerCase()) continue;
      this.#sighted(link, s, rinfo, now);
    }
  }

  #sighted(link: Link, s: InstanceSighting, rinfo: RemoteInfo, now: number): void {
    let entry = link.cache.get(s.instance);
    const srvTtl = s.srv?.ttl;
    const goodbye = srvTtl === 0 || s.ptrTtl === 0 || (srvTtl === undefined && s.ptrTtl === undefined && s.txt?.ttl === 0);
    if (goodbye) {
      if (entry !== undefined && !entry.goodbye) {
        // RFC 6762 §10.1: keep it one more second, in case it was a mistake corrected at once.
        entry.goodbye = true;
        entry.expiresAt = Math.min(entry.expiresAt, now + 1_000);
        this.#logger.debug({ iface: link.iface.name, instance: s.instance, nodeId: entry.info?.nodeId }, 'mdns: goodbye');
        this.#armMaintain();
      }
      return;
    }
    const ttlSec = srvTtl ?? s.txt?.ttl ?? s.ptrTtl ?? 0;
    if (entry === undefined) {
      if (s.txt === undefined || s.srv === undefined) {
        // Only part of the set (e.g. a PTR alone): ask for the rest, at most once a second.
        this.#askInstance(link, s.instance, now);
        if (s.txt === undefined) return;
      }
      entry = { instance: s.instance, ttlMs: 0, receivedAt: now, expiresAt: now, refreshStage: 0, goodbye: false };
      link.cache.set(s.instance, entry);
    }
    entry.goodbye = false;
    entry.ttlMs = ttlSec * 1000;
    entry.receivedAt = now;
    entry.expiresAt = now + entry.ttlMs;
    entry.refreshStage = 0;
    const before = entry.info;
    if (s.txt !== undefined) {
      const info = s.txt.info;
      if (typeof info === 'string') {
        if (entry.verdict !== info) this.#logger.debug({ iface: link.iface.name, instance: s.instance, from: rinfo.address, reason: info }, 'mdns: ignoring instance');
        entry.verdict = info;
        entry.info = undefined;
      } else {
        const verdict = judgePeer(info, this);
        if (verdict !== 'ok' && verdict !== 'self' && entry.verdict !== verdict) {
          this.#logger.debug({ iface: link.iface.name, nodeId: info.nodeId, from: rinfo.address, reason: verdict, clusterId: info.clusterId, protocolVersion: info.protocolVersion }, 'mdns: ignoring node');
        }
        entry.verdict = verdict;
        entry.info = info;
      }
    }
    if (s.srv !== undefined) {
      entry.port = s.srv.port;
      entry.host = s.addresses.find((a) => inSubnet(a, link.iface.address, link.iface.netmask)) ?? rinfo.address;
    } else if (entry.host === undefined) {
      entry.host = rinfo.address;
    }
    if (before !== undefined && entry.info?.nodeId !== before.nodeId) this.#reconcile(before.nodeId);
    if (entry.info !== undefined) this.#reconcile(entry.info.nodeId);
    this.#armMaintain();
  }

  #askInstance(link: Link, instance: string, now: number): void {
    const last = link.asked.get(instance);
    if (last !== undefined && now - last < 1_000) return;
    link.asked.set(instance, now);
    this.#send(link, instanceQueryPacket(instance));
  }

  // ---- cache upkeep and what the owner is told

  #maintain(): void {
    if (this.#closed) return;
    const now = Date.now();
    const touched = new Set<string>();
    for (const link of this.#links.values()) {
      for (const [name, e] of link.cache) {
        if (now >= e.expiresAt) {
          link.cache.delete(name);
          if (e.info !== undefined) touched.add(e.info.nodeId);
          if (!e.goodbye && e.verdict === 'ok') this.#logger.debug({ iface: link.iface.name, nodeId: e.info?.nodeId }, 'mdns: records expired');
          continue;
        }
        if (e.goodbye || e.ttlMs === 0) continue;
        // Cache maintenance (RFC 6762 §5.2): ask again at 80% and 90% of the lifetime.
        const age = (now - e.receivedAt) / e.ttlMs;
        if ((e.refreshStage === 0 && age >= 0.8) || (e.refreshStage === 1 && age >= 0.9)) {
          e.refreshStage++;
          this.#logger.debug({ iface: link.iface.name, nodeId: e.info?.nodeId, instance: e.instance, stage: e.refreshStage }, 'mdns: refreshing');
          this.#send(link, instanceQueryPacket(e.instance));
        }
      }
      for (const [name, at] of link.asked) if (now - at > 10_000) link.asked.delete(name);
    }
    for (const id of touched) this.#reconcile(id);
    this.#armMaintain();
  }

  /** Sets the one upkeep timer for the earliest refresh or expiry due in any cache. */
  #armMaintain(): void {
    if (this.#closed) return;
    let next = Infinity;
    for (const link of this.#links.values()) {
      for (const e of link.cache.values()) {
        const due = e.goodbye || e.ttlMs === 0 || e.refreshStage >= 2 ? e.expiresAt
          : e.receivedAt + e.ttlMs * (e.refreshStage === 0 ? 0.8 : 0.9);
        if (due < next) next = due;
      }
    }
    if (next === Infinity || (this.#maintainTimer !== undefined && this.#maintainAt <= next)) return;
    clearTimeout(this.#maintainTimer);
    this.#maintainAt = next;
    this.#maintainTimer = setTimeout(() => {
      this.#maintainTimer = undefined;
      this.#maintainAt = Infinity;
      this.#maintain();
    }, Math.max(0, next - Date.now()) + 5);
    this.#maintainTimer.unref();
  }

  /** Compares what we know of a node with what we reported and tells the owner the difference. */
  #reconcile(nodeId: string): void {
    if (this.#closed) return;
    const seen: (PeerEndpoint & { link: string })[] = [];
    for (const link of this.#links.values()) {
      for (const e of link.cache.values()) {
        if (e.info?.nodeId === nodeId && e.verdict === 'ok' && !e.goodbye && e.host !== undefined && e.port !== undefined) {
          seen.push({ host: e.host, port: e.port, link: link.iface.address });
        }
      }
    }
    const reported = this.#reported.get(nodeId);
    if (seen.length === 0) {
      if (reported === undefined) return;
      this.#reported.delete(nodeId);
      this.#logger.info({ peer: nodeId }, 'mdns: peer gone');
      this.#call(() => this.#options.onPeerGone?.(nodeId));
      return;
    }
    const pick = seen.find((s) => s.link === reported?.link) ?? seen[0]!;
    if (reported !== undefined && reported.host === pick.host && reported.port === pick.port) {
      if (reported.link !== pick.link) this.#reported.set(nodeId, pick);
      return;
    }
    this.#reported.set(nodeId, pick);
    this.#logger.info({ peer: nodeId, host: pick.host, port: pick.port }, 'mdns: peer found');
    this.#call(() => this.#options.onPeer?.(nodeId, { host: pick.host, port: pick.port }));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err }, 'mdns: discovery callback threw');
    }
  }

  // ---- outgoing and timers

  #browse(link: Link, delayMs: number): void {
    this.#later(link, delayMs, () => {
      const now = Date.now();
      const known = [...link.cache.values()]
        .filter((e) => !e.goodbye && e.ttlMs > 0 && e.expiresAt - now > e.ttlMs / 2)
        .map((e) => ({ instance: e.instance, ttlSec: Math.floor((e.expiresAt - now) / 1000) }));
      this.#send(link, browsePacket(known));
      const next = link.browseDelayMs;
      link.browseDelayMs = Math.min(this.queryIntervalMs, link.browseDelayMs * 2);
      this.#browse(link, next);
    });
  }

  #send(link: Link, packet: DnsPacket, to: { address: string; port: number } | null = null): void {
    if (link.state === 'closed') return;
    try {
      link.socket.send(packet, to, (err) => {
        if (err) this.#logger.debug({ err, iface: link.iface.name }, 'mdns: send failed');
      });
    } catch (err) {
      this.#logger.debug({ err, iface: link.iface.name }, 'mdns: send failed');
    }
  }

  #later(link: Link, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      link.timers.delete(timer);
      if (link.state !== 'closed' && !this.#closed) fn();
    }, ms);
    // The sockets keep the process alive, not our timers.
    timer.unref();
    link.timers.add(timer);
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #localAddresses(): Set<string> {
    const out = new Set<string>();
    for (const link of this.#links.values()) out.add(link.iface.address);
    try {
      for (const infos of Object.values(networkInterfaces())) for (const i of infos ?? []) out.add(i.address);
    } catch {
      // the links' own addresses are enough
    }
    return out;
  }
}

function checkOptions(o: MdnsDiscoveryOptions): string | undefined {
  if (typeof o.nodeId !== 'string' || o.nodeId.length === 0) return 'discovery: nodeId must be a non-empty string';
  if (Buffer.byteLength(o.nodeId, 'utf8') > MAX_NODE_ID_BYTES) return `discovery: nodeId must be at most ${MAX_NODE_ID_BYTES} bytes`;
  if (typeof o.clusterName !== 'string' || o.clusterName.length === 0) return 'discovery: clusterName must be a non-empty string';
  if (!Number.isInteger(o.linkPort) || o.linkPort < 1 || o.linkPort > 65535) return 'discovery: linkPort must be a port number';
  if (o.protocolVersion !== undefined && (!Number.isInteger(o.protocolVersion) || o.protocolVersion < 0)) return 'discovery: protocolVersion must be an integer >= 0';
  if (o.ttlSec !== undefined && (!Number.isInteger(o.ttlSec) || o.ttlSec < 2 || o.ttlSec > 4500)) return 'discovery: ttlSec must be an integer from 2 to 4500';
  if (o.queryIntervalMs !== undefined && (!Number.isFinite(o.queryIntervalMs) || o.queryIntervalMs < 100)) return 'discovery: queryIntervalMs must be >= 100';
  if (o.interfaces !== undefined && (!Array.isArray(o.interfaces) || o.interfaces.some((i) => typeof i !== 'string' || i.length === 0))) return 'discovery: interfaces must be a list of names or IPv4 addresses';
  return undefined;
}
