// MeshNode's settings: overlay size and routing timings. Their defaults, with the reasons for
// them, are in defaults.ts (with every other mesh timing and limit). Checked once at start.

import { meshDefaults } from './defaults.ts';

export interface MeshConfig {
  minLinks: number;
  maxLinks: number;
  lsaRefreshMs: number;
  lsaMaxAgeMs: number;
  dialBackoffMs: number;
  dialBackoffMaxMs: number;
  maxDialsInFlight: number;
  advertiseDebounceMs: number;
  unackedDeadMs: number;
  linkUnackedBytes: number;
  outageHoldEvents: number;
  outageHoldBytes: number;
  outageHoldMs: number;
  holdbackMs: number;
}

export const defaultMeshConfig: MeshConfig = {
  minLinks: meshDefaults.minLinks,
  maxLinks: meshDefaults.maxLinks,
  lsaRefreshMs: meshDefaults.lsaRefreshMs,
  lsaMaxAgeMs: meshDefaults.lsaMaxAgeMs,
  dialBackoffMs: meshDefaults.dialBackoffMs,
  dialBackoffMaxMs: meshDefaults.dialBackoffMaxMs,
  maxDialsInFlight: meshDefaults.maxDialsInFlight,
  advertiseDebounceMs: meshDefaults.advertiseDebounceMs,
  unackedDeadMs: meshDefaults.unackedDeadMs,
  linkUnackedBytes: meshDefaults.linkUnackedBytes,
  outageHoldEvents: meshDefaults.outageHoldEvents,
  outageHoldBytes: meshDefaults.outageHoldBytes,
  outageHoldMs: meshDefaults.outageHoldMs,
  holdbackMs: meshDefaults.holdbackMs,
};

export function checkMeshConfig(c: MeshConfig): string | undefined {
  if (!Number.isInteger(c.minLinks) || c.minLinks < 1) return 'mesh.minLinks: must be an integer >= 1';
  if (!Number.isInteger(c.maxLinks) || c.maxLinks < c.minLinks) return 'mesh.maxLinks: must be an integer >= minLinks';
  if (c.lsaMaxAgeMs <= c.lsaRefreshMs * 2) return 'mesh.lsaMaxAgeMs: must exceed twice lsaRefreshMs';
  if (c.dialBackoffMaxMs < c.dialBackoffMs) return 'mesh.dialBackoffMaxMs: must be at least dialBackoffMs';
  return undefined;
}
