// MdnsDiscovery without a network: the packet building and parsing as pure functions, and the
// whole state machine over an in-memory "link" (fake sockets). Needs no root; the real
// multicast test is discovery.test.ts in network namespaces.

import test from 'ava';
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import { clusterIdOf as linkClusterIdOf } from '../../src/mesh/links/auth.ts';
import { MdnsDiscovery, type MdnsSocket } from '../../src/mesh/discovery/mdns.ts';
import { chooseInterfaces, inSubnet, type InterfaceChoice } from '../../src/mesh/discovery/interfaces.ts';
import {
  announcementPacket,
  browsePacket,
  conflictIn,
  goodbyePacket,
  ownRecords,
  probePacket,
  probeTiebreak,
  replyTo,
  sightingsIn,
  type DnsPacket,
} from '../../src/mesh/discovery/packets.ts';
import {
  clusterIdOf,
  decodeTxt,
  dnsLabelOf,
  encodeTxt,
  hostNameOf,
  instanceNameOf,
  judgePeer,
  serviceInfoFromTxt,
  SERVICE_TYPE,
  type ServiceInfo,
} from '../../src/mesh/discovery/service.ts';

const info = (nodeId: string, over: Partial<ServiceInfo> = {}): ServiceInfo => ({
  nodeId,
  clusterId: clusterIdOf('c1'),
  protocolVersion: 1,
  linkPort: 7000,
  ...over,
});

test('clusterIdOf: hash of the name, 32 hex digits, the same function as the link handshake', (t) => {
  const id = clusterIdOf('plant-7');
  t.regex(id, /^[0-9a-f]{32}$/);
  t.is(clusterIdOf('plant-7'), id);
  t.not(clusterIdOf('plant-8'), id);
  for (const name of ['plant-7', '', 'ünïcode', 'x'.repeat(300)]) t.is(clusterIdOf(name), linkClusterIdOf(name), name);
});

test('instance and host labels: clean ids kept, others made valid and kept distinct', (t) => {
  t.is(instanceNameOf('node-1'), `node-1.${SERVICE_TYPE}`);
  t.is(hostNameOf('node-1'), 'wm-node-1.local');
  const odd = ['a.b', 'a_b', 'a b', 'ä', 'x'.repeat(100), 'x'.repeat(100) + 'y'];
  const labels = odd.map((id) => dnsLabelOf('', id));
  for (const l of labels) t.regex(l, /^[A-Za-z0-9-]{1,63}$/);
  t.is(new Set(labels).size, odd.length);
  t.regex(dnsLabelOf('wm-', 'x'.repeat(100)), /^[A-Za-z0-9-]{1,63}$/);
});

test('TXT: encode, decode, validate', (t) => {
  const i = info('A', { linkPort: 7443 });
  const txt = encodeTxt(i);
  t.true(txt.every((b) => Buffer.isBuffer(b) && b.length <= 255));
  t.deepEqual(txt.map(String), ['node=A', `cluster=${clusterIdOf('c1')}`, 'pv=1', 'port=7443']);
  t.deepEqual(serviceInfoFromTxt(txt), i);
  t.deepEqual(serviceInfoFromTxt(txt.map(String)), i, 'strings work too');
  // Keys are case-insensitive, the first occurrence wins, empty strings are skipped.
  const m = decodeTxt([
    Buffer.from('NODE=x'),
    Buffer.from('node=y'),
    Buffer.alloc(0),
    Buffer.from('flag'),
    Buffer.from('k=a=b'),
  ]);
  t.deepEqual(
    [...m],
    [
      ['node', 'x'],
      ['flag', ''],
      ['k', 'a=b'],
    ],
  );
  t.is(serviceInfoFromTxt([]), 'TXT without node');
  t.is(serviceInfoFromTxt(['node=A']), 'TXT without a valid cluster');
  t.is(serviceInfoFromTxt(['node=A', 'cluster=secret']), 'TXT without a valid cluster');
  t.is(serviceInfoFromTxt(['node=A', `cluster=${clusterIdOf('c')}`, 'pv=x']), 'TXT without a valid pv');
  t.is(serviceInfoFromTxt(['node=A', `cluster=${clusterIdOf('c')}`, 'pv=1', 'port=70000']), 'TXT without a valid port');
  t.is(serviceInfoFromTxt(['node=A', `cluster=${clusterIdOf('c')}`, 'pv=1', 'port=0']), 'TXT without a valid port');
  t.is(serviceInfoFromTxt(undefined), 'TXT without node');
  t.is(serviceInfoFromTxt(42), 'TXT without node');
});

test('peer filter: self, other cluster, other protocol version', (t) => {
  const self = { nodeId: 'A', clusterId: clusterIdOf('c1'), protocolVersion: 1 };
  t.is(judgePeer(info('B'), self), 'ok');
  t.is(judgePeer(info('A'), self), 'self');
  t.is(judgePeer(info('B', { clusterId: clusterIdOf('c2') }), self), 'other-cluster');
  t.is(judgePeer(info('B', { protocolVersion: 2 }), self), 'other-protocol');
});

test('own records: shared PTR, unique (cache-flush) SRV/TXT/A', (t) => {
  const own = ownRecords(info('A', { linkPort: 7001 }), '10.0.0.1', 120);
  t.like(own.ptr, { name: SERVICE_TYPE, type: 'PTR', ttl: 120, data: `A.${SERVICE_TYPE}` });
  t.falsy(own.ptr.flush);
  t.like(own.srv, { name: `A.${SERVICE_TYPE}`, type: 'SRV', flush: true, data: { port: 7001, target: 'wm-A.local' } });
  t.like(own.a, { name: 'wm-A.local', type: 'A', flush: true, data: '10.0.0.1' });
  t.true(own.txt.flush);
  const probe = probePacket(own);
  t.is(probe.type, 'query');
  t.deepEqual(
    probe.questions?.map((q) => q.type),
    ['ANY', 'ANY'],
  );
  t.is(probe.authorities?.length, 3);
  t.true(goodbyePacket(own).answers!.every((r) => r.ttl === 0));
  t.is(announcementPacket(own).answers!.length, 4);
});

test('replies: PTR browse with additionals, known-answer suppression, direct questions, nothing for others', (t) => {
  const own = ownRecords(info('A'), '10.0.0.1', 120);
  const browse = replyTo(browsePacket([]), own)!;
  t.deepEqual(browse.answers, [own.ptr]);
  t.deepEqual(browse.additionals, [own.srv, own.txt, own.a]);
  t.true(browse.shared);
  t.is(
    replyTo(browsePacket([{ instance: own.instance, ttlSec: 60 }]), own),
    undefined,
    'known with half the TTL: suppressed',
  );
  t.truthy(replyTo(browsePacket([{ instance: own.instance, ttlSec: 59 }]), own), 'less than half: answered');
  t.truthy(
    replyTo(browsePacket([{ instance: `B.${SERVICE_TYPE}`, ttlSec: 120 }]), own),
    'someone else known: answered',
  );
  const srv = replyTo({ type: 'query', questions: [{ name: own.instance.toUpperCase(), type: 'SRV' }] }, own)!;
  t.deepEqual(srv.answers, [own.srv]);
  t.deepEqual(srv.additionals, [own.a]);
  t.false(srv.shared);
  t.deepEqual(replyTo({ questions: [{ name: own.host, type: 'A' }] }, own)!.answers, [own.a]);
  t.deepEqual(replyTo({ questions: [{ name: '_services._dns-sd._udp.local', type: 'PTR' }] }, own)!.answers, [
    own.meta,
  ]);
  t.is(replyTo({ questions: [{ name: '_http._tcp.local', type: 'PTR' }] }, own), undefined);
  t.is(replyTo({ questions: [{ name: `B.${SERVICE_TYPE}`, type: 'ANY' }] }, own), undefined);
  t.is(replyTo({ questions: 'junk' } as unknown as DnsPacket, own), undefined);
});

test('sightings: an announcement, a goodbye, junk', (t) => {
  const own = ownRecords(info('B', { linkPort: 7002 }), '10.0.0.2', 120);
  const [s] = sightingsIn(announcementPacket(own));
  t.like(s, { instance: `b.${SERVICE_TYPE}`, ptrTtl: 120, srv: { port: 7002, target: 'wm-b.local', ttl: 120 } });
  t.deepEqual(s!.txt?.info, info('B', { linkPort: 7002 }));
  t.deepEqual(s!.addresses, ['10.0.0.2']);
  const [g] = sightingsIn(goodbyePacket(own));
  t.is(g!.srv?.ttl, 0);
  t.is(g!.ptrTtl, 0);
  t.deepEqual(g!.addresses, [], 'A records with TTL 0 give no address');
  t.deepEqual(
    sightingsIn({
      answers: [
        null,
        7,
        { name: 'x', type: 'SRV', data: null },
        { name: `a.b.${SERVICE_TYPE}`, type: 'SRV', data: { port: 1, target: 'h' } },
      ],
    } as unknown as DnsPacket),
    [],
  );
  t.deepEqual(sightingsIn({ answers: [{ name: SERVICE_TYPE, type: 'PTR', ttl: 120, data: `c.${SERVICE_TYPE}` }] }), [
    { instance: `c.${SERVICE_TYPE}`, ptrTtl: 120, addresses: [] },
  ]);
  const bad = sightingsIn({
    answers: [{ name: `d.${SERVICE_TYPE}`, type: 'TXT', ttl: 120, data: [Buffer.from('node=d')] }],
  });
  t.is(bad[0]!.txt?.info, 'TXT without a valid cluster');
});

test('conflicts: our own records never; other data for our names always', (t) => {
  const own = ownRecords(info('A'), '10.0.0.1', 120);
  const local = new Set(['10.0.0.1', '10.0.1.1']);
  t.is(conflictIn(announcementPacket(own).answers!, own, local), undefined);
  t.is(
    conflictIn(announcementPacket(ownRecords(info('A'), '10.0.1.1', 120)).answers!, own, local),
    undefined,
    'our other interface',
  );
  t.is(
    conflictIn(goodbyePacket(ownRecords(info('A', { linkPort: 9 }), '10.9.9.9', 120)).answers!, own, local),
    undefined,
    'goodbyes claim nothing',
  );
  const elsewhere = ownRecords(info('A'), '10.0.0.7', 120);
  t.is(conflictIn(announcementPacket(elsewhere).answers!, own, local), elsewhere.a);
  const otherPort = ownRecords(info('A', { linkPort: 7999 }), '10.0.0.1', 120);
  t.is(conflictIn(announcementPacket(otherPort).answers!, own, local), otherPort.srv);
  t.is(conflictIn(announcementPacket(ownRecords(info('B'), '10.0.0.7', 120)).answers!, own, local), undefined);
});

test('simultaneous probes: a total order, identical is a tie', (t) => {
  const mine = ownRecords(info('A'), '10.0.0.1', 120);
  const theirs = ownRecords(info('A'), '10.0.0.2', 120);
  const m = [mine.srv, mine.txt, mine.a];
  const o = [theirs.srv, theirs.txt, theirs.a];
  t.is(probeTiebreak(m, m), 0);
  t.true(probeTiebreak(o, m) < 0, 'lower address loses');
  t.true(probeTiebreak(m, o) > 0);
});

test('interfaces: subnets; default choice skips loopback, down and non-multicast; names and addresses', (t) => {
  t.true(inSubnet('10.77.1.2', '10.77.1.1', '255.255.255.0'));
  t.false(inSubnet('10.77.2.2', '10.77.1.1', '255.255.255.0'));
  t.false(inSubnet('nonsense', '10.77.1.1', '255.255.255.0'));
  const v4 = (address: string, internal = false) => ({
    address,
    netmask: '255.255.255.0',
    family: 'IPv4' as const,
    mac: '00:00:00:00:00:00',
    internal,
    cidr: `${address}/24`,
  });
  const v6 = {
    address: 'fe80::1',
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6' as const,
    mac: '00:00:00:00:00:00',
    internal: false,
    cidr: 'fe80::1/64',
    scopeid: 2,
  };
  const nets = {
    lo: [v4('127.0.0.1', true)],
    eth0: [v6, v4('192.0.2.10')],
    wlan0: [v4('198.51.100.7')],
    tun0: [v4('203.0.113.1')],
    down0: [v4('203.0.113.9')],
    v6only: [v6],
  };
  const flags: Record<string, number> = { lo: 0x9, eth0: 0x1003, wlan0: 0x1003, tun0: 0x11, down0: 0x1002 };
  const names = (l: InterfaceChoice[]) => l.map((i) => `${i.name}=${i.address}`);
  t.deepEqual(names(chooseInterfaces(undefined, nets, (n) => flags[n])), ['eth0=192.0.2.10', 'wlan0=198.51.100.7']);
  t.deepEqual(names(chooseInterfaces(['wlan0', '203.0.113.1'], nets, (n) => flags[n])), [
    'wlan0=198.51.100.7',
    'tun0=203.0.113.1',
  ]);
  t.deepEqual(names(chooseInterfaces(['nope'], nets, () => undefined)), []);
  t.throws(() => new MdnsDiscovery({ nodeId: '', clusterName: 'c', linkPort: 1 }), { message: /nodeId/ });
  t.throws(() => new MdnsDiscovery({ nodeId: 'x'.repeat(201), clusterName: 'c', linkPort: 1 }), { message: /nodeId/ });
  t.throws(() => new MdnsDiscovery({ nodeId: 'A', clusterName: 'c', linkPort: 0 }), { message: /linkPort/ });
  t.throws(() => new MdnsDiscovery({ nodeId: 'A', clusterName: 'c', linkPort: 1, ttlSec: 1 }), { message: /ttlSec/ });
});

// ---- the state machine on an in-memory link ----------------------------------------------------

/** One L2 segment: every packet reaches every socket on it (our own too, like IP_MULTICAST_LOOP). */
class FakeLink {
  readonly sockets = new Set<FakeSocket>();
  open(address: string): FakeSocket {
    const s = new FakeSocket(this, address);
    this.sockets.add(s);
    setImmediate(() => s.emit('ready'));
    return s;
  }
}

class FakeSocket extends EventEmitter implements MdnsSocket {
  readonly sent: DnsPacket[] = [];
  /** Unplugged: sends nothing, receives nothing (a power cut). */
  cut = false;
  readonly link: FakeLink;
  readonly address: string;
  constructor(link: FakeLink, address: string) {
    super();
    this.link = link;
    this.address = address;
  }
  send(packet: DnsPacket, _to: { address: string; port: number } | null, cb: (err?: Error | null) => void): void {
    if (this.cut) {
      setImmediate(() => cb(null));
      return;
    }
    this.sent.push(packet);
    const rinfo: RemoteInfo = { address: this.address, port: 5353, family: 'IPv4', size: 0 };
    for (const s of this.link.sockets) {
      const copy = clone(packet) as DnsPacket;
      setImmediate(() => s.emit(copy.type === 'response' ? 'response' : 'query', copy, rinfo));
    }
    setImmediate(() => cb(null));
  }
  destroy(cb?: () => void): void {
    this.link.sockets.delete(this);
    setImmediate(() => cb?.());
  }
}

function clone(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(clone);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

function fakeNode(
  link: FakeLink,
  nodeId: string,
  address: string,
  over: { clusterName?: string; ttlSec?: number; protocolVersion?: number } = {},
) {
  const events: string[] = [];
  const iface = { name: 'eth0', address, netmask: '255.255.255.0' };
  const d = new MdnsDiscovery({
    nodeId,
    clusterName: over.clusterName ?? 'c1',
    linkPort: 7000,
    ttlSec: over.ttlSec,
    protocolVersion: over.protocolVersion,
    queryIntervalMs: 500,
    listInterfaces: () => [iface],
    socketFactory: () => link.open(address),
    onPeer: (id, e) => events.push(`peer ${id} ${e.host}:${e.port}`),
    onPeerGone: (id) => events.push(`gone ${id}`),
    onConflict: (_i, from) => events.push(`conflict ${from}`),
  });
  return { d, events };
}

async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('state machine: discover, ignore another cluster, goodbye on close, expiry without one', async (t) => {
  const link = new FakeLink();
  const a = fakeNode(link, 'A', '10.0.0.1');
  const b = fakeNode(link, 'B', '10.0.0.2', { ttlSec: 2 });
  const x = fakeNode(link, 'X', '10.0.0.3', { clusterName: 'other' });
  t.teardown(() => Promise.all([a.d.close(), b.d.close(), x.d.close()]));
  await Promise.all([a.d.start(), b.d.start(), x.d.start()]);
  await until(
    'A and B see each other',
    () => a.events.includes('peer B 10.0.0.2:7000') && b.events.includes('peer A 10.0.0.1:7000'),
  );
  await until('everyone announced', () => [a, b, x].every((n) => n.d.interfaces()[0]?.state === 'announced'));
  t.deepEqual([...a.d.peers().keys()], ['B']);
  t.deepEqual(x.events, []);

  // B's TTL is 2 s: A refreshes it at 80% / 90%, so B is still there after 2.5 s.
  // What is tested here is time itself: B outlives three of its TTLs in A's cache.
  const since = a.events.length;
  const seenAt = Date.now();
  await until('three TTLs of B have passed', () => Date.now() - seenAt >= 3 * 2_000, 8_000);
  t.deepEqual(a.events.slice(since), [], 'no flapping while B answers refresh queries');

  await b.d.close();
  await until('A drops B after its goodbye', () => a.events.includes('gone B'), 3_000);

  // A peer that vanishes silently: its socket is cut without goodbye, the TTL runs out.
  const c = fakeNode(link, 'C', '10.0.0.4', { ttlSec: 2 });
  t.teardown(() => c.d.close());
  await c.d.start();
  await until('A sees C', () => a.events.includes('peer C 10.0.0.4:7000'));
  for (const s of [...link.sockets])
    if (s.address === '10.0.0.4') {
      s.cut = true;
      link.sockets.delete(s);
    }
  const cut = Date.now();
  await until('A drops C by TTL', () => a.events.includes('gone C'), 4_000);
  t.true(Date.now() - cut <= 2_600, `${Date.now() - cut} ms`);
  await c.d.close();
});

test('state machine: a duplicate node id loses the probe and does not announce', async (t) => {
  const link = new FakeLink();
  const a = fakeNode(link, 'A', '10.0.0.1');
  t.teardown(() => a.d.close());
  await a.d.start();
  await until('A announced', () => a.d.interfaces()[0]?.state === 'announced');
  const dup = fakeNode(link, 'A', '10.0.0.9');
  t.teardown(() => dup.d.close());
  await dup.d.start();
  await until('dup sees the conflict', () => dup.events.includes('conflict 10.0.0.1'));
  t.is(dup.d.interfaces()[0]?.state, 'conflict');
  t.deepEqual(a.events, []);
});
