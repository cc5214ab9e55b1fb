// The "mesh" section of the configuration file: cluster identity, links, discovery, and the
// mesh's timings and limits.

import { z } from 'zod';
import { FRAME_BYTES_MAX, FRAME_BYTES_MIN, meshDefaults as md } from '../mesh/defaults.ts';
import { host, intIn, port } from './fields.ts';

export function meshSchema() {
  // A seed is dialled: port 0 means nothing there, and one over 65535 failed only when dialled
  // (after the mesh listener had opened), in a Node error naming no field.
  const hostPort = z.string().refine(
    (s) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(s);
      return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
    },
    { error: 'expected "HOST:PORT" with PORT 1..65535' },
  );

  return z
    .strictObject({
      // Off by default: a single board needs no mesh, and links open a port beyond loopback.
      enabled: z.boolean({ error: 'expected true or false' }).default(false),
      // Stable identity of this node; generated on first start and kept in the data folder if unset.
      nodeId: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1..64 letters, digits, "_" or "-"' })
        .optional(),
      cluster: z
        .strictObject({
          // Nodes with another cluster name ignore each other (mDNS announces a hash of it).
          name: z.string().min(1, { error: 'expected a non-empty name' }).default('wampmesh'),
          // Proves membership on every link; never sent or announced.
          secret: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
          // Whether proving the secret admits a node not admitted yet (bootstrap). Turn it off once
          // the cluster has formed: a stolen secret then lets no new node in; new nodes are
          // admitted with `wampmesh mesh admit NODE`. The secret still protects every link.
          secretJoin: z.boolean({ error: 'expected true or false' }).default(true),
        })
        .prefault({}),
      // Links must reach other boards, so the default listens on all interfaces.
      listen: z.strictObject({ host: host().default('0.0.0.0'), port: port().default(8091) }).prefault({}),
      // For networks without multicast: addresses of other nodes' link ports.
      seeds: z.array(hostPort).default([]),
      // Discovery by DNS-SD over mDNS on these interfaces (names or IPv4 addresses; empty = all).
      mdns: z.boolean({ error: 'expected true or false' }).default(true),
      interfaces: z.array(z.string().min(1)).default([]),
      tls: z.strictObject({ cert: z.string(), key: z.string(), ca: z.string().optional() }).optional(),
      // Timings and limits. Defaults, and why they are what they are: src/mesh/defaults.ts.
      // 2..4 links: survives one neighbour dying, stays cheap on a Pi.
      minLinks: intIn(1, 64).default(md.minLinks),
      maxLinks: intIn(1, 256).default(md.maxLinks),
      heartbeatIntervalMs: intIn(100, 60_000).default(md.heartbeatIntervalMs),
      deadAfterMs: intIn(200, 600_000).default(md.deadAfterMs),
      handshakeTimeoutMs: intIn(100, 600_000).default(md.handshakeTimeoutMs),
      maxFrameBytes: intIn(FRAME_BYTES_MIN, FRAME_BYTES_MAX).default(md.maxFrameBytes),
      // Unset: twice maxFrameBytes.
      maxQueuedBytes: intIn(FRAME_BYTES_MIN, 1024 * 1024 * 1024).optional(),
      lsaRefreshMs: intIn(1_000, 3_600_000).default(md.lsaRefreshMs),
      lsaMaxAgeMs: intIn(2_001, 86_400_000).default(md.lsaMaxAgeMs),
      dialBackoffMs: intIn(100, 600_000).default(md.dialBackoffMs),
      dialBackoffMaxMs: intIn(100, 3_600_000).default(md.dialBackoffMaxMs),
      mdnsTtlSec: intIn(2, 4500).default(md.mdnsTtlSec),
      mdnsQueryIntervalMs: intIn(1_000, 3_600_000).default(md.mdnsQueryIntervalMs),
      antiEntropyMs: intIn(1_000, 86_400_000).default(md.antiEntropyMs),
      unackedDeadMs: intIn(100, 600_000).default(md.unackedDeadMs),
      linkUnackedBytes: intIn(65_536, 1024 * 1024 * 1024).default(md.linkUnackedBytes),
      outageHoldEvents: intIn(0, 10_000_000).default(md.outageHoldEvents),
      outageHoldBytes: intIn(0, 1024 * 1024 * 1024).default(md.outageHoldBytes),
      outageHoldMs: intIn(0, 86_400_000).default(md.outageHoldMs),
      holdbackMs: intIn(0, 600_000).default(md.holdbackMs),
    })
    .refine((m) => m.maxLinks >= m.minLinks, { error: 'must be at least minLinks', path: ['maxLinks'] })
    .refine((m) => m.deadAfterMs >= 2 * m.heartbeatIntervalMs, {
      error: 'must be at least twice heartbeatIntervalMs',
      path: ['deadAfterMs'],
    })
    .refine((m) => m.maxQueuedBytes === undefined || m.maxQueuedBytes >= m.maxFrameBytes, {
      error: 'must be at least maxFrameBytes',
      path: ['maxQueuedBytes'],
    })
    .refine((m) => m.lsaMaxAgeMs > 2 * m.lsaRefreshMs, {
      error: 'must exceed twice lsaRefreshMs',
      path: ['lsaMaxAgeMs'],
    })
    .refine((m) => m.dialBackoffMaxMs >= m.dialBackoffMs, {
      error: 'must be at least dialBackoffMs',
      path: ['dialBackoffMaxMs'],
    });
}
