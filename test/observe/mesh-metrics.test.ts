// The mesh part of /metrics, from two real router processes linked through a TCP relay: links,
// reachable nodes and link octets while the link is up, and an integrity failure (a frame
// injected by the relay, which knows no keys) counted on both sides. Replication lag, which
// needs a node kept behind for a while, under the simulator (test/mesh/sim.ts).

import { randomBytes } from 'node:crypto';
import test from 'ava';
import { encodeLinkFrame, LinkFrameType } from '../../src/mesh/links/framing.ts';
import { TAG_SIZE } from '../../src/mesh/links/integrity.ts';
import { cbor } from '../../src/serializers/cbor.ts';
import { linkProxy } from '../helpers/link-proxy.ts';
import { promtoolCheck, scrape } from '../helpers/metrics.ts';
import { waitFor } from '../helpers/raw-client.ts';
import type { RouterProcess } from '../helpers/router-process.ts';
import { startMeshNode } from '../helpers/mesh-node.ts';
import { SimNetwork } from '../mesh/sim.ts';

async function meshRouter(
  t: { teardown(fn: () => unknown): void },
  node: string,
  seeds: string[],
): Promise<RouterProcess> {
  return startMeshNode(t, {
    node,
    seeds,
    cluster: { name: 'test', secret: 'correct horse battery staple' },
    mesh: { maxLinks: 4 },
    args: ['--http', '127.0.0.1:0'],
  });
}

const portOf = (r: RouterProcess, transport: string): number =>
  r.listeners.find((l) => l.transport === transport)!.port;
const sample = async (r: RouterProcess, series: string): Promise<number | undefined> =>
  (await scrape(portOf(r, 'http'))).samples.get(series);

test('mesh links, reachable nodes, link octets and integrity failures', async (t) => {
  const a = await meshRouter(t, 'alpha', []);
  const proxy = await linkProxy(t, portOf(a, 'mesh'));
  const b = await meshRouter(t, 'beta', [`127.0.0.1:${proxy.port}`]);
  for (const r of [a, b]) {
    await waitFor(
      async () =>
        (await sample(r, 'wampmesh_mesh_links')) === 1 && (await sample(r, 'wampmesh_mesh_nodes_reachable')) === 1,
      20_000,
      'the link up on both',
    );
  }
  const { samples, text } = await scrape(portOf(a, 'http'));
  t.true(samples.get('wampmesh_mesh_link_received_bytes_total{peer="beta"}')! > 0);
  t.true(samples.get('wampmesh_mesh_link_sent_bytes_total{peer="beta"}')! > 0);
  t.is(samples.get('wampmesh_mesh_integrity_failures_total'), 0);
  t.true(samples.has('wampmesh_replication_records'));
  t.is(samples.get('wampmesh_mesh_trust_refused_total{reason="forgedRecord"}'), 0);
  t.is(samples.get('wampmesh_mesh_trust_refused_total{reason="forgedLsa"}'), 0);
  t.true(samples.has('wampmesh_replication_lag_seconds{peer="beta"}'));
  t.is(samples.get('wampmesh_mesh_events_unacked'), 0);
  t.is(samples.get('wampmesh_mesh_events_outage_held'), 0);
  t.is(samples.get('wampmesh_mesh_events_dropped_total{reason="outageHold"}'), 0);
  t.is(samples.get('wampmesh_mesh_events_given_up_total'), 0);
  const check = await promtoolCheck(text);
  t.is(check.code, 0, check.output);
  // The two new nodes differ at first (each made its own admin user): the first exchange
  // evens them out within moments, far sooner than the next anti-entropy round (60 s).
  for (const [r, peer] of [
    [a, 'beta'],
    [b, 'alpha'],
  ] as const) {
    await waitFor(
      async () => (await sample(r, `wampmesh_replication_lag_seconds{peer="${peer}"}`)) === 0,
      10_000,
      `no replication lag toward ${peer}`,
    );
  }

  // A MESH frame and a made-up TAG from the relay: beta refuses the batch and closes the link.
  const conn = proxy.conns.at(-1)!;
  conn.toDialer.inject(
    Buffer.concat([
      encodeLinkFrame(LinkFrameType.MESH, cbor.encode([{ t: 'noise' }] as unknown[])),
      encodeLinkFrame(LinkFrameType.TAG, randomBytes(TAG_SIZE)),
    ]),
  );
  await waitFor(
    async () => (await sample(b, 'wampmesh_mesh_integrity_failures_total'))! >= 1,
    10_000,
    'the failure counted on beta',
  );
  await waitFor(
    async () => (await sample(a, 'wampmesh_mesh_integrity_failures_total'))! >= 1,
    10_000,
    'the failure counted on alpha (told by beta)',
  );
  // Beta redials its seed: the link comes back.
  await waitFor(
    async () => (await sample(b, 'wampmesh_mesh_links')) === 1 && proxy.conns.length >= 2,
    20_000,
    'the link back up',
  );
  t.pass();
});

test('replication lag: how long a node has known it lacks a record its peer holds, per peer', (t) => {
  const net = new SimNetwork(23, {}, { replicate: true });
  net.addNode('A');
  net.addNode('B');
  net.connectSegment('A', 'B');
  net.run(3000);
  const lag = (id: string) =>
    (net.nodes.get(id)!.mesh.status() as { replication: { lagMs: Record<string, number> } }).replication.lagMs;
  t.deepEqual(lag('B'), { A: 0 });
  // A record too large for B's frames: A cannot push it, and anti-entropy tells B it lacks it.
  net.maxFrameBytes.set('B', 8_192);
  const a = net.nodes.get('A')!.security!.store;
  a.createRealm({ uri: 'com.big', authmethods: ['ticket'] });
  const doc = a.exportDocument();
  (doc.realms.find((r) => r.uri === 'com.big')!.users as unknown[]).push({
    authid: 'big',
    meta: { note: 'x'.repeat(10_000) },
  });
  a.importDocument(doc);
  net.run(61_000); // one anti-entropy round (antiEntropyMs)
  const behind = lag('B').A!;
  t.true(behind > 0, `B knows it is behind A (${behind} ms)`);
  t.deepEqual(lag('A'), { B: 0 }, 'A lacks nothing of B');
  net.run(30_000);
  t.true(lag('B').A! >= behind + 30_000, 'and the lag grows while it stays behind');
  // B takes large frames again: the next round brings the record, and the lag is 0.
  net.maxFrameBytes.delete('B');
  net.run(61_000);
  t.is(net.nodes.get('B')!.security!.store.getUser('com.big', 'big')?.authid, 'big');
  t.deepEqual(lag('B'), { A: 0 });
});
