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
import { MeshTrust } from '../mesh/trust/membership.ts';
import { loadOrCreateNodeKey, type NodeKey, parseKeyText } from '../mesh/trust/node-key.ts';
import { loadStatements, saveStatements } from '../mesh/trust/statement-file.ts';
import type { LocalResult } from '../router/local-procedures.ts';
import type { RecordSource } from '../mesh/replication/source.ts';
import type { SecurityStore } from '../security/store.ts';
import type { Db } from '../store/database.ts';
import type { Router } from '../router/router.ts';
import { StartError } from './errors.ts';

export interface MeshRuntime {
  readonly node: MeshNode;
  readonly links: MeshLinks;
  readonly trust: MeshTrust;
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
  let key: NodeKey;
  try {
    key = loadOrCreateNodeKey(dataDir);
  } catch (e) {
    throw new StartError(`mesh: node key: ${(e as Error).message}`);
  }
  const membersFile = path.join(dataDir, 'mesh-members.json');
  const trust = new MeshTrust({
    self: nodeId,
    key,
    secretJoin: settings.cluster.secretJoin,
    statements: loadStatements(membersFile, log),
    save: (statements) => saveStatements(membersFile, statements, log),
    now: Date.now,
    logger: log,
  });
  log.info({ key: trust.status().key, secretJoin: trust.secretJoin }, 'mesh node key');
  const links = new MeshLinks({
    nodeId,
    trust,
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
          trust,
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
    trust,
    // Before the links' own end-of-tick write (net/end-of-tick.ts): seals and events in one envelope.
    soon: (fn) => process.nextTick(fn),
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
    trust,
    nodeId,
    port,
    async stop() {
      clearInterval(ticker);
      await discovery?.close();
      await links.close();
    },
  };
}

/** The admin API's mesh procedures beside status: admit and remove (`wampmesh mesh admit|remove`). */
export function meshAdminProcedures(trust: MeshTrust): Record<string, (args: unknown[]) => LocalResult> {
  const invalid = (message: string): LocalResult => ({ error: 'wamp.error.invalid_argument', args: [message] });
  return {
    'wampmesh.mesh.admit': (args) => {
      const [node, options] = args as [unknown, { key?: unknown } | undefined];
      if (typeof node !== 'string' || node.length === 0) return invalid('admit: expected the node id');
      let key: Uint8Array | undefined;
      if (options?.key !== undefined) {
        key = typeof options.key === 'string' ? parseKeyText(options.key) : undefined;
        if (key === undefined) return invalid('admit: "key" must be a public key as 43 base64url characters');
      }
      const s = trust.admit(node, key);
      return typeof s === 'string' ? invalid(s) : { args: [{ admitted: node, key: trust.status().members[node] }] };
    },
    'wampmesh.mesh.remove': (args) => {
      const [node] = args;
      if (typeof node !== 'string' || node.length === 0) return invalid('remove: expected the node id');
      const s = trust.remove(node);
      return typeof s === 'string' ? invalid(s) : { args: [{ removed: node }] };
    },
  };
}
