// Every timing and size of the mesh, with the reason for its default. Checked once at start.

export interface MeshConfig {
  /** Links each node tries to keep. Two keeps a node reachable when one neighbour dies. */
  minLinks: number;
  /** Above this, redundant links are dropped (never one that would disconnect the overlay). */
  maxLinks: number;
  /** Own advertisement re-flooded this often, so a silently vanished node ages out. */
  lsaRefreshMs: number;
  /** An advertisement not refreshed for this long is dropped: four refreshes missed. */
  lsaMaxAgeMs: number;
  /** First retry delay after a failed dial; doubled per failure up to dialBackoffMaxMs. */
  dialBackoffMs: number;
  dialBackoffMaxMs: number;
  /** Dials in progress at once; a Pi on Wi-Fi should not open a burst of handshakes. */
  maxDialsInFlight: number;
  /** Registrations and subscriptions are re-advertised this long after a change, batched. */
  advertiseDebounceMs: number;
  /** Publications remembered to drop duplicates after route changes. */
  dedupEntries: number;
}

export const defaultMeshConfig: MeshConfig = {
  minLinks: 2,
  maxLinks: 4,
  lsaRefreshMs: 30_000,
  lsaMaxAgeMs: 120_000,
  dialBackoffMs: 1_000,
  dialBackoffMaxMs: 60_000,
  maxDialsInFlight: 2,
  advertiseDebounceMs: 25,
  dedupEntries: 65_536,
};

export function checkMeshConfig(c: MeshConfig): string | undefined {
  if (!Number.isInteger(c.minLinks) || c.minLinks < 1) return 'mesh.minLinks: must be an integer >= 1';
  if (!Number.isInteger(c.maxLinks) || c.maxLinks < c.minLinks) return 'mesh.maxLinks: must be an integer >= minLinks';
  if (c.lsaMaxAgeMs <= c.lsaRefreshMs * 2) return 'mesh.lsaMaxAgeMs: must exceed twice lsaRefreshMs';
  return undefined;
}
