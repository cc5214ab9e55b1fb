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
// This file is the adapter: the interfaces in use, browsing, the cache and what the owner is
// told. Each interface's socket, timers and announcing are discovery/mdns-link.ts. The pure
// parts are apart: the node's names and TXT (discovery/service.ts), the records and packets
// (discovery/packets.ts) and the choice of interfaces (discovery/interfaces.ts).

import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../log.ts';
import { silentLogger } from '../../log.ts';
import { meshDefaults } from '../defaults.ts';
import { clusterIdOf, judgePeer } from './service.ts';
import { instanceQueryPacket, ownRecords, type DnsPacket } from './packets.ts';
import { chooseInterfaces, linuxInterfaceFlags, type InterfaceChoice } from './interfaces.ts';
import { dueAt, endpointsOf, upkeep } from './cache.ts';
import { MdnsLink, type MdnsLinkOwner } from './mdns-link.ts';
import {
  checkOptions,
  defaultSocketFactory,
  type MdnsDiscoveryOptions,
  type MdnsSocket,
  type PeerEndpoint,
} from './options.ts';

export {
  defaultSocketFactory,
  type MdnsDiscoveryOptions,
  type MdnsSocket,
  type MdnsSocketFactory,
  type PeerEndpoint,
} from './options.ts';

/**
 * The version in our TXT record ("pv"): of what discovery announces, not of the link protocol
 * (HELLO_VERSION, links/auth.ts). It stays 1 when only the link protocol changes (version 2 added
 * integrity tags), so that nodes of different releases still find each other and the link
 * handshake then refuses them with a log line naming both versions, instead of each ignoring
 * the other in silence.
 */
export const PROTOCOL_VERSION = 1;
const RESCAN_INTERVAL_MS = meshDefaults.mdnsRescanIntervalMs;

export class MdnsDiscovery {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly protocolVersion: number;
  readonly linkPort: number;
  readonly ttlSec: number;
  readonly queryIntervalMs: number;
  readonly #options: MdnsDiscoveryOptions;
  readonly #logger: Logger;
  readonly #links = new Map<string, MdnsLink>();
  /** What we last reported per peer: endpoint and the interface it was seen on. */
  readonly #reported = new Map<string, PeerEndpoint & { link: string }>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #started = false;
  #closed = false;
  #maintainTimer: NodeJS.Timeout | undefined;
  #maintainAt = Infinity;
  /** What each interface needs from here. */
  readonly #owner: MdnsLinkOwner;

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
    this.#owner = {
      nodeId: this.nodeId,
      logger: this.#logger,
      onConflict: options.onConflict,
      isClosed: () => this.#closed,
      localAddresses: () => this.#localAddresses(),
      queryIntervalMs: this.queryIntervalMs,
      judge: (info) => judgePeer(info, this),
      reconcile: (nodeId) => this.#reconcile(nodeId),
      armMaintain: () => this.#armMaintain(),
    };
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
    const list =
      this.#options.listInterfaces ??
      (() => chooseInterfaces(this.#options.interfaces, networkInterfaces(), linuxInterfaceFlags));
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
    const own = ownRecords(
      {
        nodeId: this.nodeId,
        clusterId: this.clusterId,
        protocolVersion: this.protocolVersion,
        linkPort: this.linkPort,
      },
      iface.address,
      this.ttlSec,
    );
    const link = new MdnsLink(this.#owner, iface, socket, own);
    this.#links.set(iface.address, link);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (): void => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      socket.on('ready', () => {
        settle();
        if (link.state !== 'starting') return;
        this.#logger.info({ iface: iface.name, address: iface.address }, 'mdns: listening');
        link.browse(20 + Math.random() * 100);
        link.probe();
      });
      socket.on('error', (err) => {
        settle();
        this.#logger.warn(
          { err, iface: iface.name, address: iface.address },
          'mdns: socket failed; retrying on the next interface scan',
        );
        void this.#closeLink(link, false);
      });
      socket.on('warning', (err) => this.#logger.debug({ err, iface: iface.name }, 'mdns: socket warning'));
      socket.on('query', (packet, rinfo) => this.#guard(link, packet, rinfo, (p) => link.onQuery(p, rinfo)));
      socket.on('response', (packet, rinfo) => this.#guard(link, packet, rinfo, (p) => link.onResponse(p, rinfo)));
    });
  }

  async #closeLink(link: MdnsLink, sayGoodbye: boolean): Promise<void> {
    if (link.state === 'closed') return;
    if (this.#links.get(link.iface.address) === link) this.#links.delete(link.iface.address);
    await link.close(sayGoodbye);
    const affected = new Set<string>();
    for (const e of link.cache.values()) if (e.info !== undefined && e.verdict === 'ok') affected.add(e.info.nodeId);
    link.cache.clear();
    if (!this.#closed) for (const id of affected) this.#reconcile(id);
  }

  // ---- incoming

  #guard(link: MdnsLink, packet: unknown, rinfo: RemoteInfo, handle: (p: DnsPacket) => void): void {
    if (this.#closed || !link.accepts(rinfo)) return;
    if (packet === null || typeof packet !== 'object') return;
    try {
      handle(packet as DnsPacket);
    } catch (err) {
      this.#logger.debug({ err, from: rinfo.address }, 'mdns: bad packet');
    }
  }

  // ---- cache upkeep and what the owner is told

  #maintain(): void {
    if (this.#closed) return;
    const now = Date.now();
    const touched = new Set<string>();
    for (const link of this.#links.values()) {
      const { expired, refresh } = upkeep(link.cache, now);
      for (const e of expired) {
        if (e.info !== undefined) touched.add(e.info.nodeId);
        if (!e.goodbye && e.verdict === 'ok')
          this.#logger.debug({ iface: link.iface.name, nodeId: e.info?.nodeId }, 'mdns: records expired');
      }
      for (const e of refresh) {
        this.#logger.debug(
          { iface: link.iface.name, nodeId: e.info?.nodeId, instance: e.instance, stage: e.refreshStage },
          'mdns: refreshing',
        );
        link.send(instanceQueryPacket(e.instance));
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
      for (const e of link.cache.values()) next = Math.min(next, dueAt(e));
    }
    if (next === Infinity || (this.#maintainTimer !== undefined && this.#maintainAt <= next)) return;
    clearTimeout(this.#maintainTimer);
    this.#maintainAt = next;
    this.#maintainTimer = setTimeout(
      () => {
        this.#maintainTimer = undefined;
        this.#maintainAt = Infinity;
        this.#maintain();
      },
      Math.max(0, next - Date.now()) + 5,
    );
    this.#maintainTimer.unref();
  }

  /** Compares what we know of a node with what we reported and tells the owner the difference. */
  #reconcile(nodeId: string): void {
    if (this.#closed) return;
    const seen = [...this.#links.values()].flatMap((link) =>
      endpointsOf(link.cache, nodeId).map((e) => ({ ...e, link: link.iface.address })),
    );
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

  // ---- timers and addresses

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
