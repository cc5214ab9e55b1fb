// One interface of mDNS discovery (discovery/mdns.ts): its socket and timers; the side that
// makes this node known there (probing for its names, announcing them, answering queries,
// backing off on a conflict, the goodbye when it stops); and the side that listens (browsing,
// and the cache of what it heard, discovery/cache.ts). Which peers to report, from the caches of
// every interface, is discovery/mdns.ts's.
//
// One multicast-dns socket per interface, each given { interface: <ip>, bind: '0.0.0.0' }: a
// socket bound to the unicast address never receives multicast. Linux delivers a multicast
// datagram to every socket bound to 0.0.0.0:5353 that any socket joined the group for
// (IP_MULTICAST_ALL, which Node can't turn off), so each socket keeps only packets whose source
// is inside its own interface's subnet: mDNS never crosses a router, so the sender of a packet
// that arrived on an interface is on that interface's subnet.

import type { RemoteInfo } from 'node:dgram';
import type { Logger } from '../../log.ts';
import { meshDefaults } from '../defaults.ts';
import {
  announcementPacket,
  AUTHORITATIVE_ANSWER,
  browsePacket,
  conflictIn,
  goodbyePacket,
  instanceQueryPacket,
  probePacket,
  probeTiebreak,
  recordKey,
  replyTo,
  sameName,
  sightingsIn,
  ttlOf,
  type DnsPacket,
  type DnsRecord,
  type InstanceSighting,
  type OwnRecords,
} from './packets.ts';
import type { PeerVerdict, ServiceInfo } from './service.ts';
import { inSubnet, type InterfaceChoice } from './interfaces.ts';
import type { CacheEntry } from './cache.ts';
import { MDNS_PORT, type MdnsSocket } from './options.ts';

// Our own timings (record TTL, browse interval, rescans, conflict retry) are in defaults.ts with
// the reasons for them; the ones below are fixed by RFC 6762.
const PROBE_INTERVAL_MS = 250;
const PROBE_COUNT = 3;
const CONFLICT_RETRY_MS = meshDefaults.mdnsConflictRetryMs;

/** What an interface needs from the discovery that owns it. */
export interface MdnsLinkOwner {
  readonly nodeId: string;
  readonly logger: Logger;
  /** The whole discovery is closed: no timer of any interface may act any more. */
  isClosed(): boolean;
  /** Every local address (a record naming one of them is ours, not a conflict). */
  localAddresses(): Set<string>;
  onConflict?: (iface: InterfaceChoice, from: string) => void;
  /** The longest pause between browse queries. */
  readonly queryIntervalMs: number;
  /** Whether a node it heard of is one to report (our cluster and protocol, not ourselves). */
  judge(info: ServiceInfo): PeerVerdict;
  /** What this interface knows of the node changed. */
  reconcile(nodeId: string): void;
  /** A cache entry's refresh or expiry may now be due earlier. */
  armMaintain(): void;
}

export class MdnsLink {
  readonly iface: InterfaceChoice;
  readonly socket: MdnsSocket;
  readonly own: OwnRecords;
  state: 'starting' | 'probing' | 'announced' | 'conflict' | 'closed' = 'starting';
  #browseDelayMs = 1_000;
  readonly cache = new Map<string, CacheEntry>();
  readonly asked = new Map<string, number>();
  /** Bumped whenever probing restarts, so stale probe timers do nothing. */
  #probeRound = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  #conflictLogged = false;
  readonly #owner: MdnsLinkOwner;

  constructor(owner: MdnsLinkOwner, iface: InterfaceChoice, socket: MdnsSocket, own: OwnRecords) {
    this.#owner = owner;
    this.iface = iface;
    this.socket = socket;
    this.own = own;
  }

  /** Only packets from this interface's subnet are this interface's (see the top of the file). */
  accepts(rinfo: RemoteInfo): boolean {
    return this.state !== 'closed' && inSubnet(rinfo.address, this.iface.address, this.iface.netmask);
  }

  // ---- probing and announcing

  probe(): void {
    this.state = 'probing';
    const round = ++this.#probeRound;
    const send = (n: number): void => {
      if (this.state !== 'probing' || this.#probeRound !== round) return;
      if (n === PROBE_COUNT) {
        this.#announce();
        return;
      }
      this.send(probePacket(this.own));
      this.later(PROBE_INTERVAL_MS, () => send(n + 1));
    };
    this.later(Math.random() * PROBE_INTERVAL_MS, () => send(0));
  }

  #announce(): void {
    this.state = 'announced';
    this.#conflictLogged = false;
    this.#owner.logger.info(
      { iface: this.iface.name, address: this.iface.address, instance: this.own.instance },
      'mdns: announced',
    );
    // At least two announcements, one second apart, then doubling (RFC 6762 §8.3).
    const send = (n: number, gapMs: number): void => {
      if (this.state !== 'announced') return;
      this.send(announcementPacket(this.own));
      if (n < 2) this.later(gapMs, () => send(n + 1, gapMs * 2));
    };
    send(0, 1_000);
  }

  #lostName(from: string, record: DnsRecord): void {
    if (!this.#conflictLogged) {
      this.#conflictLogged = true;
      this.#owner.logger.error(
        { iface: this.iface.name, from, record: `${record.name} ${recordKey(record)}`, nodeId: this.#owner.nodeId },
        'mdns: another host announces this node id on this link; not announcing here (duplicate mesh.nodeId?)',
      );
      try {
        this.#owner.onConflict?.(this.iface, from);
      } catch (err) {
        this.#owner.logger.error({ err }, 'mdns: onConflict threw');
      }
    }
    this.state = 'conflict';
    this.#probeRound++;
    this.later(CONFLICT_RETRY_MS, () => {
      if (this.state === 'conflict') this.probe();
    });
  }

  // ---- answering, and conflicts

  onQuery(query: DnsPacket, rinfo: RemoteInfo): void {
    if (this.state === 'probing' && Array.isArray(query.authorities)) {
      // Someone else probing for our names at the same time?
      const theirs = query.authorities.filter(
        (r) =>
          r !== null &&
          typeof r === 'object' &&
          (sameName(r.name, this.own.instance) || sameName(r.name, this.own.host)),
      );
      if (theirs.length > 0 && probeTiebreak(theirs, [this.own.srv, this.own.txt, this.own.a]) < 0) {
        this.#owner.logger.debug(
          { iface: this.iface.name, from: rinfo.address },
          'mdns: lost a simultaneous probe; probing again in 1 s',
        );
        this.#probeRound++;
        this.state = 'conflict';
        this.later(1_000, () => {
          if (this.state === 'conflict') this.probe();
        });
        return;
      }
    }
    if (this.state !== 'announced') return;
    const reply = replyTo(query, this.own);
    if (reply === undefined) return;
    if (rinfo.port !== MDNS_PORT) {
      // Legacy unicast query (RFC 6762 §6.7): answer it directly, echoing id and questions.
      const clamp = (r: DnsRecord): DnsRecord => ({ ...r, flush: false, ttl: Math.min(ttlOf(r), 10) });
      this.send(
        {
          type: 'response',
          id: query.id ?? 0,
          flags: AUTHORITATIVE_ANSWER,
          questions: reply.questions,
          answers: reply.answers.map(clamp),
          additionals: reply.additionals.map(clamp),
        },
        { address: rinfo.address, port: rinfo.port },
      );
      return;
    }
    const packet: DnsPacket = {
      type: 'response',
      id: 0,
      flags: AUTHORITATIVE_ANSWER,
      answers: reply.answers,
      additionals: reply.additionals,
    };
    if (reply.shared)
      this.later(20 + Math.random() * 100, () => {
        if (this.state === 'announced') this.send(packet);
      });
    else this.send(packet);
  }

  /** The records of a response, checked against our own names. */
  #checkConflict(records: DnsRecord[], rinfo: RemoteInfo): void {
    if (this.state !== 'probing' && this.state !== 'announced') return;
    const conflict = conflictIn(records, this.own, this.#owner.localAddresses());
    if (conflict === undefined) return;
    if (this.state === 'probing') this.#lostName(rinfo.address, conflict);
    else {
      // RFC 6762 §9: a conflict after announcing means probing again; whoever keeps the
      // name will answer our probes and we back off.
      this.#owner.logger.warn(
        { iface: this.iface.name, from: rinfo.address },
        'mdns: conflicting records for our name; probing again',
      );
      this.probe();
    }
  }

  // ---- browsing, and what it heard

  browse(delayMs: number): void {
    this.later(delayMs, () => {
      const now = Date.now();
      const known = [...this.cache.values()]
        .filter((e) => !e.goodbye && e.ttlMs > 0 && e.expiresAt - now > e.ttlMs / 2)
        .map((e) => ({ instance: e.instance, ttlSec: Math.floor((e.expiresAt - now) / 1000) }));
      this.send(browsePacket(known));
      const next = this.#browseDelayMs;
      this.#browseDelayMs = Math.min(this.#owner.queryIntervalMs, this.#browseDelayMs * 2);
      this.browse(next);
    });
  }

  onResponse(response: DnsPacket, rinfo: RemoteInfo): void {
    // RFC 6762 §6, §11: responses come from port 5353; anything else is not mDNS (or spoofed).
    if (rinfo.port !== MDNS_PORT) return;
    const records = [
      ...(Array.isArray(response.answers) ? response.answers : []),
      ...(Array.isArray(response.additionals) ? response.additionals : []),
    ];
    this.#checkConflict(records, rinfo);
    const now = Date.now();
    for (const s of sightingsIn(response)) {
      if (s.instance === this.own.instance.toLowerCase()) continue;
      this.#sighted(s, rinfo, now);
    }
  }

  #sighted(s: InstanceSighting, rinfo: RemoteInfo, now: number): void {
    let entry = this.cache.get(s.instance);
    const srvTtl = s.srv?.ttl;
    const goodbye =
      srvTtl === 0 || s.ptrTtl === 0 || (srvTtl === undefined && s.ptrTtl === undefined && s.txt?.ttl === 0);
    if (goodbye) {
      if (entry !== undefined && !entry.goodbye) {
        // RFC 6762 §10.1: keep it one more second, in case it was a mistake corrected at once.
        entry.goodbye = true;
        entry.expiresAt = Math.min(entry.expiresAt, now + 1_000);
        this.#owner.logger.debug(
          { iface: this.iface.name, instance: s.instance, nodeId: entry.info?.nodeId },
          'mdns: goodbye',
        );
        this.#owner.armMaintain();
      }
      return;
    }
    const ttlSec = srvTtl ?? s.txt?.ttl ?? s.ptrTtl ?? 0;
    if (entry === undefined) {
      if (s.txt === undefined || s.srv === undefined) {
        // Only part of the set (e.g. a PTR alone): ask for the rest, at most once a second.
        this.#askInstance(s.instance, now);
        if (s.txt === undefined) return;
      }
      entry = { instance: s.instance, ttlMs: 0, receivedAt: now, expiresAt: now, refreshStage: 0, goodbye: false };
      this.cache.set(s.instance, entry);
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
        if (entry.verdict !== info)
          this.#owner.logger.debug(
            { iface: this.iface.name, instance: s.instance, from: rinfo.address, reason: info },
            'mdns: ignoring instance',
          );
        entry.verdict = info;
        entry.info = undefined;
      } else {
        const verdict = this.#owner.judge(info);
        if (verdict !== 'ok' && verdict !== 'self' && entry.verdict !== verdict) {
          this.#owner.logger.debug(
            {
              iface: this.iface.name,
              nodeId: info.nodeId,
              from: rinfo.address,
              reason: verdict,
              clusterId: info.clusterId,
              protocolVersion: info.protocolVersion,
            },
            'mdns: ignoring node',
          );
        }
        entry.verdict = verdict;
        entry.info = info;
      }
    }
    if (s.srv !== undefined) {
      entry.port = s.srv.port;
      entry.host = s.addresses.find((a) => inSubnet(a, this.iface.address, this.iface.netmask)) ?? rinfo.address;
    } else if (entry.host === undefined) {
      entry.host = rinfo.address;
    }
    if (before !== undefined && entry.info?.nodeId !== before.nodeId) this.#owner.reconcile(before.nodeId);
    if (entry.info !== undefined) this.#owner.reconcile(entry.info.nodeId);
    this.#owner.armMaintain();
  }

  #askInstance(instance: string, now: number): void {
    const last = this.asked.get(instance);
    if (last !== undefined && now - last < 1_000) return;
    this.asked.set(instance, now);
    this.send(instanceQueryPacket(instance));
  }

  // ---- socket and timers

  /** Stops the timers, says goodbye if asked to and announced, and closes the socket. */
  async close(sayGoodbye: boolean): Promise<void> {
    const announced = this.state === 'announced';
    this.state = 'closed';
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (sayGoodbye && announced) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.socket.send(goodbyePacket(this.own), null, (err) => {
          clearTimeout(timer);
          if (err) this.#owner.logger.debug({ err, iface: this.iface.name }, 'mdns: goodbye not sent');
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      try {
        this.socket.destroy(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  send(packet: DnsPacket, to: { address: string; port: number } | null = null): void {
    if (this.state === 'closed') return;
    try {
      this.socket.send(packet, to, (err) => {
        if (err) this.#owner.logger.debug({ err, iface: this.iface.name }, 'mdns: send failed');
      });
    } catch (err) {
      this.#owner.logger.debug({ err, iface: this.iface.name }, 'mdns: send failed');
    }
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.state !== 'closed' && !this.#owner.isClosed()) fn();
    }, ms);
    // The sockets keep the process alive, not our timers.
    timer.unref();
    this.#timers.add(timer);
  }
}
