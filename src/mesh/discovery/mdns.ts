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
//
// This file is the adapter: sockets, timers, the cache and what the owner is told. The pure
// parts are apart: the node's names and TXT (discovery/service.ts), the records and packets
// (discovery/packets.ts) and the choice of interfaces (discovery/interfaces.ts).

import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../log.ts';
import { silentLogger } from '../../log.ts';
import { meshDefaults } from '../defaults.ts';
import { clusterIdOf, judgePeer } from './service.ts';
import {
  announcementPacket, AUTHORITATIVE_ANSWER, browsePacket, conflictIn, goodbyePacket, instanceQueryPacket, ownRecords, probePacket,
  probeTiebreak, recordKey, replyTo, sameName, sightingsIn, ttlOf, type DnsPacket, type DnsRecord, type InstanceSighting, type OwnRecords,
} from './packets.ts';
import { chooseInterfaces, inSubnet, linuxInterfaceFlags, type InterfaceChoice } from './interfaces.ts';
import { dueAt, endpointsOf, upkeep, type CacheEntry } from './cache.ts';
import { checkOptions, defaultSocketFactory, MDNS_PORT, type MdnsDiscoveryOptions, type MdnsSocket, type PeerEndpoint } from './options.ts';

export { defaultSocketFactory, type MdnsDiscoveryOptions, type MdnsSocket, type MdnsSocketFactory, type PeerEndpoint } from './options.ts';

/**
 * The version in our TXT record ("pv"): of what discovery announces, not of the link protocol
 * (HELLO_VERSION, links/auth.ts). It stays 1 when only the link protocol changes (version 2 added
 * integrity tags), so that nodes of different releases still find each other and the link
 * handshake then refuses them with a log line naming both versions, instead of each ignoring
 * the other in silence.
 */
export const PROTOCOL_VERSION = 1;
// Our own timings (record TTL, browse interval, rescans, conflict retry) are in defaults.ts with
// the reasons for them; the ones below are fixed by RFC 6762.
const PROBE_INTERVAL_MS = 250;
const PROBE_COUNT = 3;
const CONFLICT_RETRY_MS = meshDefaults.mdnsConflictRetryMs;
const RESCAN_INTERVAL_MS = meshDefaults.mdnsRescanIntervalMs;


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
      const { expired, refresh } = upkeep(link.cache, now);
      for (const e of expired) {
        if (e.info !== undefined) touched.add(e.info.nodeId);
        if (!e.goodbye && e.verdict === 'ok') this.#logger.debug({ iface: link.iface.name, nodeId: e.info?.nodeId }, 'mdns: records expired');
      }
      for (const e of refresh) {
        this.#logger.debug({ iface: link.iface.name, nodeId: e.info?.nodeId, instance: e.instance, stage: e.refreshStage }, 'mdns: refreshing');
        this.#send(link, instanceQueryPacket(e.instance));
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
    const seen = [...this.#links.values()].flatMap((link) => endpointsOf(link.cache, nodeId).map((e) => ({ ...e, link: link.iface.address })));
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
