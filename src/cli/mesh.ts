// Starts this router's part in the mesh when the config enables it: the link listener, the
// MeshNode that routes over it, static seeds, and mDNS discovery.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MeshSettings } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { meshDefaults } from '../mesh/defaults.ts';
import { splitHostPort } from '../net/address.ts';
import { MdnsDiscovery } from '../mesh/discovery/mdns.ts';
import { MeshLinks } from '../mesh/links/links.ts';
import { MeshNode } from '../mesh/routing/node.ts';
import { Replicator } from '../mesh/replication/replicator.ts';
import type { RecordSource } from '../mesh/replication/source.ts';
import type { SecurityStore } from '../security/store.ts';
import type { Db } from '../store/database.ts';
import type { Router } from '../router/router.ts';
import { StartError } from './errors.ts';

export interface MeshRuntime {
  readonly node: MeshNode;
  readonly links: MeshLinks;
  readonly nodeId: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The node id in the config, else the one kept in the data folder, else a new one kept there. */
export function nodeIdFor(settings: MeshSettings, dataDir: string): string {
  if (settings.nodeId !== undefined) return settings.nodeId;
  const file = path.join(dataDir, 'node-id');
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{1,64}$/.test(kept)) return kept;
  } catch {
    /* first start */
  }
  const id = `n-${crypto.randomBytes(6).toString('hex')}`;
  fs.writeFileSync(`${file}.tmp`, `${id}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return id;
}

export async function startMesh(
  settings: MeshSettings,
  router: Router,
  dataDir: string,
  logger: Logger,
  state?: { db: Db; store: SecurityStore; sources?: readonly RecordSource[] },
): Promise<MeshRuntime> {
  const nodeId = nodeIdFor(settings, dataDir);
  const log = logger.child({ component: 'mesh', node: nodeId });
  const read = (file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new StartError(`mesh.tls: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const links = new MeshLinks({
    nodeId,
    clusterName: settings.cluster.name,
    clusterSecret: settings.cluster.secret!,
    listen: settings.listen,
    logger: log,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    deadAfterMs: settings.deadAfterMs,
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
    maxFrameBytes: settings.maxFrameBytes,
    ...(settings.maxQueuedBytes !== undefined && { maxQueuedBytes: settings.maxQueuedBytes }),
    ...(settings.tls !== undefined && {
      tls: {
        cert: read(settings.tls.cert),
        key: read(settings.tls.key),
        ...(settings.tls.ca !== undefined && { ca: read(settings.tls.ca) }),
      },
    }),
  });
  // Realms, users, grants and sources are the same on every node of the cluster, and so is the
  // state of other sources (OAuth2 public keys and tokens).
  const replicator =
    state === undefined
      ? undefined
      : new Replicator({
          node: nodeId,
          db: state.db,
          store: state.store,
          ...(state.sources !== undefined && { sources: state.sources }),
          logger: log,
          antiEntropyMs: settings.antiEntropyMs,
        });
  const config = {
    minLinks: settings.minLinks,
    maxLinks: settings.maxLinks,
    lsaRefreshMs: settings.lsaRefreshMs,
    lsaMaxAgeMs: settings.lsaMaxAgeMs,
    dialBackoffMs: settings.dialBackoffMs,
    dialBackoffMaxMs: settings.dialBackoffMaxMs,
    unackedDeadMs: settings.unackedDeadMs,
    linkUnackedBytes: settings.linkUnackedBytes,
    outageHoldEvents: settings.outageHoldEvents,
    outageHoldBytes: settings.outageHoldBytes,
    outageHoldMs: settings.outageHoldMs,
    holdbackMs: settings.holdbackMs,
  };
  const node = new MeshNode({
    id: nodeId,
    router,
    driver: links,
    config,
    logger: log,
    ...(replicator !== undefined && { replicator }),
  });
  links.attach(node);
  let port: number;
  try {
    ({ port } = await links.start());
  } catch (e) {
    throw new StartError(
      `cannot listen for mesh links on ${settings.listen.host}:${settings.listen.port}: ${(e as Error).message}`,
    );
  }
  for (const seed of settings.seeds) {
    const { host, port: seedPort } = splitHostPort(seed);
    links.addSeed(host, seedPort);
  }
  let discovery: MdnsDiscovery | undefined;
  if (settings.mdns) {
    discovery = new MdnsDiscovery({
      nodeId,
      clusterName: settings.cluster.name,
      linkPort: port,
      logger: log,
      ttlSec: settings.mdnsTtlSec,
      queryIntervalMs: settings.mdnsQueryIntervalMs,
      ...(settings.interfaces.length > 0 && { interfaces: settings.interfaces }),
      onPeer: (peer, endpoint) => {
        links.setPeerAddress(peer, endpoint);
        node.peerDiscovered(peer);
      },
      onPeerGone: (peer) => node.peerLost(peer),
    });
    await discovery.start();
  }
  const ticker = setInterval(() => node.tick(), meshDefaults.tickMs);
  return {
    node,
    links,
    nodeId,
    port,
    async stop() {
      clearInterval(ticker);
      await discovery?.close();
      await links.close();
    },
  };
}
