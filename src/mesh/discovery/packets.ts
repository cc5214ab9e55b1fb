// The DNS-SD packets of discovery, sans-IO (RFC 6762, RFC 6763): the records one node announces
// on one interface; the probe, announcement, goodbye and query packets made of them; the reply
// to a query (with known-answer suppression); and what a response says: the instances of our
// type it speaks of and any record that conflicts with our names. Pure functions over
// dns-packet objects, so they are tested without a network; MdnsDiscovery (discovery/mdns.ts) sends
// them and keeps the timers and the cache.

import {
  encodeTxt,
  hostNameOf,
  instanceNameOf,
  SERVICE_TYPE,
  serviceInfoFromTxt,
  type ServiceInfo,
} from './service.ts';
import { IPV4 } from './interfaces.ts';

/** DNS-SD service type enumeration (RFC 6763 §9): lets `avahi-browse -a` list us. */
export const SERVICES_META = '_services._dns-sd._udp.local';
/** The AA bit of the DNS header's flags (RFC 1035 §4.1.1). */
export const AUTHORITATIVE_ANSWER = 1 << 10;

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
    srv: {
      name: instance,
      type: 'SRV',
      class: 'IN',
      ttl: ttlSec,
      flush: true,
      data: { priority: 0, weight: 0, port: info.linkPort, target: host },
    },
    txt: { name: instance, type: 'TXT', class: 'IN', ttl: ttlSec, flush: true, data: encodeTxt(info) },
    a: { name: host, type: 'A', class: 'IN', ttl: ttlSec, flush: true, data: address },
    meta: { name: SERVICES_META, type: 'PTR', class: 'IN', ttl: ttlSec, data: SERVICE_TYPE },
  };
}

const withTtl = (r: DnsRecord, ttl: number): DnsRecord => ({ ...r, ttl });
export const sameName = (a: unknown, b: string): boolean =>
  typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** RFC 6762 §8.1: "does anyone own these names?", with the records we mean to claim. */
export function probePacket(own: OwnRecords): DnsPacket {
  return {
    type: 'query',
    id: 0,
    flags: 0,
    questions: [
      { name: own.instance, type: 'ANY' },
      { name: own.host, type: 'ANY' },
    ],
    authorities: [own.srv, own.txt, own.a],
  };
}

export function announcementPacket(own: OwnRecords): DnsPacket {
  return { type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER, answers: [own.ptr, own.srv, own.txt, own.a] };
}

/** The same records with TTL 0: caches drop them one second later (RFC 6762 §10.1). */
export function goodbyePacket(own: OwnRecords): DnsPacket {
  return {
    type: 'response',
    id: 0,
    flags: AUTHORITATIVE_ANSWER,
    answers: [own.ptr, own.srv, own.txt, own.a].map((r) => withTtl(r, 0)),
  };
}

/** A browse query; `known` are PTR answers we hold with more than half their TTL left (§7.1). */
export function browsePacket(known: readonly { instance: string; ttlSec: number }[]): DnsPacket {
  return {
    type: 'query',
    id: 0,
    flags: 0,
    questions: [{ name: SERVICE_TYPE, type: 'PTR' }],
    answers: known.map((k) => ({ name: SERVICE_TYPE, type: 'PTR', class: 'IN', ttl: k.ttlSec, data: k.instance })),
  };
}

export function instanceQueryPacket(instance: string): DnsPacket {
  return {
    type: 'query',
    id: 0,
    flags: 0,
    questions: [
      { name: instance, type: 'SRV' },
      { name: instance, type: 'TXT' },
    ],
  };
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
  const ptrKnown = known.some(
    (k) =>
      k !== null &&
      typeof k === 'object' &&
      k.type === 'PTR' &&
      sameName(k.name, SERVICE_TYPE) &&
      sameName(k.data, own.instance) &&
      typeof k.ttl === 'number' &&
      k.ttl >= (own.ptr.ttl ?? 0) / 2,
  );
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
  if (answers.includes(own.ptr)) {
    add(additionals, own.srv);
    add(additionals, own.txt);
  }
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

export const ttlOf = (r: DnsRecord): number =>
  typeof r.ttl === 'number' && Number.isInteger(r.ttl) && r.ttl >= 0 ? r.ttl : 0;
const isInstanceOfOurType = (name: string): boolean =>
  name.endsWith(`.${SERVICE_TYPE}`) && !name.slice(0, -SERVICE_TYPE.length - 1).includes('.');

/** The instances of _wampmesh._tcp a response's answers and additionals speak of. */
export function sightingsIn(packet: DnsPacket): InstanceSighting[] {
  const records = [
    ...(Array.isArray(packet.answers) ? packet.answers : []),
    ...(Array.isArray(packet.additionals) ? packet.additionals : []),
  ].filter(
    (r): r is DnsRecord =>
      r !== null && typeof r === 'object' && typeof r.name === 'string' && typeof r.type === 'string',
  );
  const byInstance = new Map<
    string,
    {
      ptrTtl?: number;
      srv?: { port: number; target: string; ttl: number };
      txt?: { info: ServiceInfo | string; ttl: number };
    }
  >();
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
      if (
        d !== null &&
        typeof d === 'object' &&
        typeof d.port === 'number' &&
        Number.isInteger(d.port) &&
        d.port > 0 &&
        d.port < 65536 &&
        typeof d.target === 'string'
      ) {
        entry(name).srv = { port: d.port, target: d.target.toLowerCase(), ttl: ttlOf(r) };
      }
    } else if (r.type === 'TXT' && isInstanceOfOurType(name)) {
      entry(name).txt = { info: serviceInfoFromTxt(r.data), ttl: ttlOf(r) };
    }
  }
  const out: InstanceSighting[] = [];
  for (const [instance, e] of byInstance) {
    const target = e.srv?.target;
    const addresses =
      target === undefined
        ? []
        : records
            .filter(
              (r) =>
                r.type === 'A' &&
                r.name.toLowerCase() === target &&
                typeof r.data === 'string' &&
                IPV4.test(r.data) &&
                ttlOf(r) > 0,
            )
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
export function conflictIn(
  records: readonly DnsRecord[],
  own: OwnRecords,
  localAddresses: ReadonlySet<string>,
): DnsRecord | undefined {
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
    case 'A':
      return `A ${
        typeof d === 'string'
          ? d
              .split('.')
              .map((o) => Number(o).toString(16).padStart(2, '0'))
              .join('')
          : ''
      }`;
    case 'SRV': {
      const s = (d ?? {}) as { priority?: unknown; weight?: unknown; port?: unknown; target?: unknown };
      return `SRV ${String(s.priority ?? 0)} ${String(s.weight ?? 0)} ${String(s.port)} ${String(s.target).toLowerCase()}`;
    }
    case 'TXT': {
      const items: unknown[] = Array.isArray(d) ? d : [d];
      return `TXT ${items.map((i) => (Buffer.isBuffer(i) ? i.toString('hex') : typeof i === 'string' ? Buffer.from(i).toString('hex') : '')).join('.')}`;
    }
    default:
      return `${r.type} ${JSON.stringify(d)}`;
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
