// What MeshLinks is started with, checked once at construction, and what it reports.

import type { Logger } from '../../log.ts';
import type { NodeId } from '../routing/frames.ts';
import type { Direction } from './connection-state.ts';
import type { MeshTrust } from '../trust/membership.ts';
import { MAX_FRAME } from './framing.ts';
import { FRAME_BYTES_MIN, meshDefaults } from '../defaults.ts';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface MeshLinksOptions {
  nodeId: NodeId;
  /** Nodes with another cluster name are refused (they are told apart by a hash of the name). */
  clusterName: string;
  /** Shared by every node of the cluster; proves membership. Never sent, never logged. */
  clusterSecret: string;
  listen: { host: string; port: number };
  /**
   * Who may link (node keys, admissions, removals). Without it (tests of the links alone), the
   * node gets a new key and anyone proving the cluster secret is let in.
   */
  trust?: MeshTrust;
  /** Encrypts links. With `ca`, peers must also present a certificate it signed (mutual TLS). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer | (string | Buffer)[] };
  // Timings and limits: see defaults.ts for what each means and why its default.
  heartbeatIntervalMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Default: meshDefaults.maxQueuedFrames x maxFrameBytes. */
  maxQueuedBytes?: number;
  maxPendingHandshakes?: number;
  seedRetryMs?: number;
  seedRetryMaxMs?: number;
  oversizeLogIntervalMs?: number;
  integrityLogIntervalMs?: number;
  logger?: Logger;
}

export interface LinkStatus {
  peer: NodeId;
  address: string;
  direction: Direction;
  tls: boolean;
  /** Round-trip time of the last heartbeat, ms (undefined until the first PONG). */
  rttMs: number | undefined;
  uptimeMs: number;
  /** Since the last octet from the peer. */
  silentMs: number;
  bytesIn: number;
  bytesOut: number;
  queuedBytes: number;
}

export interface MeshLinksStatus {
  node: NodeId;
  cluster: string;
  listening: { host: string; port: number } | undefined;
  tls: boolean;
  links: LinkStatus[];
  handshakes: { address: string; direction: Direction; state: string; peer?: NodeId }[];
  seeds: { address: string; node?: NodeId; state: 'dialing' | 'waiting' | 'linked' | 'self' }[];
}

/** The first problem with the options, as a sentence; undefined when there is none. */
export function checkOptions(o: MeshLinksOptions): string | undefined {
  if (typeof o.nodeId !== 'string' || o.nodeId.length === 0 || o.nodeId.length > 256)
    return 'nodeId must be a non-empty string (at most 256 characters)';
  if (typeof o.clusterName !== 'string' || o.clusterName.length === 0) return 'clusterName must be a non-empty string';
  if (typeof o.clusterSecret !== 'string' || o.clusterSecret.length === 0)
    return 'clusterSecret must be a non-empty string';
  const hb = o.heartbeatIntervalMs ?? meshDefaults.heartbeatIntervalMs;
  const dead = o.deadAfterMs ?? meshDefaults.deadAfterMs;
  if (!Number.isFinite(hb) || hb < 10) return 'heartbeatIntervalMs must be >= 10';
  if (!Number.isFinite(dead) || dead < 2 * hb) return 'deadAfterMs must be at least twice heartbeatIntervalMs';
  const hs = o.handshakeTimeoutMs ?? meshDefaults.handshakeTimeoutMs;
  if (!Number.isFinite(hs) || hs < 100) return 'handshakeTimeoutMs must be >= 100';
  const max = o.maxFrameBytes ?? meshDefaults.maxFrameBytes;
  if (!Number.isInteger(max) || max < FRAME_BYTES_MIN) return `maxFrameBytes must be an integer >= ${FRAME_BYTES_MIN}`;
  if (
    o.maxQueuedBytes !== undefined &&
    (!Number.isInteger(o.maxQueuedBytes) || o.maxQueuedBytes < Math.min(max, MAX_FRAME))
  )
    return 'maxQueuedBytes must be an integer >= maxFrameBytes';
  if (o.maxPendingHandshakes !== undefined && (!Number.isInteger(o.maxPendingHandshakes) || o.maxPendingHandshakes < 1))
    return 'maxPendingHandshakes must be an integer >= 1';
  const seedMin = o.seedRetryMs ?? meshDefaults.seedRetryMs;
  if (!Number.isFinite(seedMin) || seedMin < 10) return 'seedRetryMs must be >= 10';
  if (
    !Number.isFinite(o.seedRetryMaxMs ?? meshDefaults.seedRetryMaxMs) ||
    (o.seedRetryMaxMs ?? meshDefaults.seedRetryMaxMs) < seedMin
  )
    return 'seedRetryMaxMs must be at least seedRetryMs';
  if (!Number.isInteger(o.listen.port) || o.listen.port < 0 || o.listen.port > 65_535)
    return 'listen.port must be 0..65535';
  return undefined;
}
