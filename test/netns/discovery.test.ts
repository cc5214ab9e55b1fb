// mDNS discovery for real: a discovery-only process (discovery-node.ts) in each namespace of
// chain4 (A-B-C-D, each link its own segment). Multicast on loopback proves nothing, so this is
// where MdnsDiscovery's sockets, probing, answers, goodbyes and TTL expiry are tested.

import test from 'ava';
import {
  announceSkip,
  createBed,
  eventually,
  netnsUnavailable,
  startNodeInNetns,
  type Bed,
  type NsProcess,
} from './harness.ts';

const SCRIPT = 'test/netns/discovery-node.ts';
const CLUSTER = 'netns-discovery';
const unavailable = netnsUnavailable();

interface Ctx {
  bed: Bed;
  procs: Map<string, NsProcess>;
}

function peersOf(p: NsProcess): Set<string> {
  const peers = new Set<string>();
  for (const e of p.events()) {
    if (e.event === 'peer' && typeof e.nodeId === 'string') peers.add(e.nodeId);
    if (e.event === 'gone' && typeof e.nodeId === 'string') peers.delete(e.nodeId);
  }
  return peers;
}

const sorted = (s: Set<string>): string[] => [...s].sort();

if (unavailable !== undefined) {
  announceSkip('test/netns/discovery.test.ts', unavailable);
  test.skip(`netns discovery (SKIPPED: ${unavailable})`, () => {});
} else {
  const ctx: Partial<Ctx> = {};
  let dSeenAt = 0;

  test.before(() => {
    ctx.bed = createBed('chain4', 'disc');
    ctx.procs = new Map();
  });

  test.after.always(async () => {
    await Promise.all([...(ctx.procs?.values() ?? [])].map((p) => p.stop(2_000)));
    ctx.bed?.down();
  });

  const start = (key: string, ns: string, args: string[]): NsProcess => {
    const p = startNodeInNetns(ns, SCRIPT, [...args, '--log', 'debug'], { name: key });
    ctx.procs!.set(key, p);
    return p;
  };

  test.serial(
    'each node discovers exactly its neighbours; other clusters and protocol versions are ignored',
    async (t) => {
      const bed = ctx.bed!;
      const [A, B, C, D] = ['A', 'B', 'C', 'D'].map((n) => bed.node(n).ns) as [string, string, string, string];
      const a = start('A', A, ['--node', 'A', '--cluster', CLUSTER, '--port', '7101']);
      const b = start('B', B, ['--node', 'B', '--cluster', CLUSTER, '--port', '7102']);
      const c = start('C', C, ['--node', 'C', '--cluster', CLUSTER, '--port', '7103']);
      // D announces a 2 s TTL, so the neighbours' cache refresh (80%, 90%) runs many times here.
      const d = start('D', D, ['--node', 'D', '--cluster', CLUSTER, '--port', '7104', '--ttl', '2']);
      // X: another cluster, on both of B's links. Y: our cluster, protocol version 2, in C.
      const x = start('X', B, ['--node', 'X', '--cluster', 'some-other-cluster', '--port', '7105']);
      const y = start('Y', C, ['--node', 'Y', '--cluster', CLUSTER, '--port', '7106', '--pv', '2']);

      const peer = (p: NsProcess, id: string) => p.waitForEvent((e) => e.event === 'peer' && e.nodeId === id, 15_000);
      const [ab, ba, bc, cb, cd, dc] = await Promise.all([
        peer(a, 'B'),
        peer(b, 'A'),
        peer(b, 'C'),
        peer(c, 'B'),
        peer(c, 'D').then((e) => {
          dSeenAt = Date.now();
          return e;
        }),
        peer(d, 'C'),
      ]);
      // Endpoints: the neighbour's address on the shared segment and its link port.
      t.deepEqual(ab, { event: 'peer', nodeId: 'B', host: '10.77.1.2', port: 7102 });
      t.deepEqual(ba, { event: 'peer', nodeId: 'A', host: '10.77.1.1', port: 7101 });
      t.deepEqual(bc, { event: 'peer', nodeId: 'C', host: '10.77.2.3', port: 7103 });
      t.deepEqual(cb, { event: 'peer', nodeId: 'B', host: '10.77.2.2', port: 7102 });
      t.deepEqual(cd, { event: 'peer', nodeId: 'D', host: '10.77.3.4', port: 7104 });
      t.deepEqual(dc, { event: 'peer', nodeId: 'C', host: '10.77.3.3', port: 7103 });

      // The foreign nodes were heard and judged (logged at debug), so their absence below is a
      // decision, not a packet still in flight.
      const ignored = (p: NsProcess, id: string, reason: string) =>
        p.waitForStderr(
          (l) =>
            l.includes('mdns: ignoring node') && l.includes(`"nodeId":"${id}"`) && l.includes(`"reason":"${reason}"`),
          15_000,
        );
      await Promise.all([
        ignored(a, 'X', 'other-cluster'),
        ignored(b, 'X', 'other-cluster'),
        ignored(c, 'X', 'other-cluster'),
        ignored(b, 'Y', 'other-protocol'),
        ignored(c, 'Y', 'other-protocol'),
        ignored(d, 'Y', 'other-protocol'),
        ignored(x, 'A', 'other-cluster'),
        ignored(x, 'C', 'other-cluster'),
        ignored(y, 'B', 'other-protocol'),
        ignored(y, 'D', 'other-protocol'),
      ]);
      t.deepEqual(sorted(peersOf(a)), ['B']);
      t.deepEqual(sorted(peersOf(b)), ['A', 'C']);
      t.deepEqual(sorted(peersOf(c)), ['B', 'D']);
      t.deepEqual(sorted(peersOf(d)), ['C']);
      t.deepEqual(sorted(peersOf(x)), []);
      t.deepEqual(sorted(peersOf(y)), []);
      for (const p of [a, b, c, d, x, y])
        t.false(
          p.events().some((e) => e.event === 'conflict'),
          `${p.name} saw a name conflict`,
        );
    },
  );

  test.serial('a node started with a node id already in use on the link backs off (probe conflict)', async (t) => {
    const bed = ctx.bed!;
    // Same id as A, in B's namespace, only on B's link to A: A answers its probes.
    const dup = start('dupA', bed.node('B').ns, [
      '--node',
      'A',
      '--cluster',
      CLUSTER,
      '--port',
      '7199',
      '--interfaces',
      'to-A',
    ]);
    const conflict = await dup.waitForEvent((e) => e.event === 'conflict', 10_000);
    t.like(conflict, { iface: 'to-A', from: '10.77.1.1' });
    await dup.stop();
    t.false(
      ctx
        .procs!.get('A')!
        .events()
        .some((e) => e.event === 'conflict'),
      'the established node kept its name',
    );
    t.false(
      ctx
        .procs!.get('B')!
        .events()
        .some((e) => e.event === 'gone' && e.nodeId === 'A'),
      'B never lost A',
    );
  });

  test.serial('a stopped node says goodbye: its neighbours drop it at once', async (t) => {
    const b = ctx.procs!.get('B')!;
    const a = ctx.procs!.get('A')!;
    const c = ctx.procs!.get('C')!;
    const fromA = a.lines().length;
    const fromC = c.lines().length;
    const started = Date.now();
    t.is(await b.stop(), 0);
    await b.waitForLine(/"event":"closed"/, 1).catch(() => t.fail('B did not close cleanly'));
    await Promise.all([
      a.waitForEvent((e) => e.event === 'gone' && e.nodeId === 'B', 5_000, fromA),
      c.waitForEvent((e) => e.event === 'gone' && e.nodeId === 'B', 5_000, fromC),
    ]);
    const ms = Date.now() - started;
    t.log(`neighbours dropped B ${ms} ms after SIGTERM`);
    // Goodbye records are kept one more second (RFC 6762 §10.1), plus the 1 s cache sweep.
    t.true(ms < 3_500, `took ${ms} ms`);
  });

  test.serial(
    'a node that dies without a goodbye is dropped when its TTL runs out; until then it stayed',
    async (t) => {
      const c = ctx.procs!.get('C')!;
      const d = ctx.procs!.get('D')!;
      // D's TTL is 2 s: C keeps it only by re-querying (browse, and 80%/90% of the TTL). What
      // is tested is time itself: D outlives three of its TTLs in C's cache.
      await eventually('three TTLs of D in C', 8_000, () => (Date.now() - dSeenAt >= 3 * 2_000 ? true : undefined));
      t.false(
        c.events().some((e) => e.event === 'gone' && e.nodeId === 'D'),
        'C dropped D while it was alive',
      );
      const from = c.lines().length;
      const started = Date.now();
      await d.kill();
      await c.waitForEvent((e) => e.event === 'gone' && e.nodeId === 'D', 6_000, from);
      const ms = Date.now() - started;
      t.log(`C dropped D ${ms} ms after SIGKILL (TTL 2 s)`);
      t.true(ms <= 4_500, `took ${ms} ms`);
    },
  );
}
