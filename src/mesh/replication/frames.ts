// Replication's own frames, carried in the mesh envelope beside the routing frames, and their
// validator: another node is a peer like any other, so every field is checked before use.

import type { NodeId } from '../node-id.ts';
import type { RecordValue } from './records.ts';

export interface ReplicaRecord {
  key: string;
  hlc: string;
  node: NodeId;
  deleted: boolean;
  value?: RecordValue;
  /** For a deletion of a record that expires: when its tombstone may be forgotten (ms since the epoch). */
  expires?: number;
  /** The writer's (`node`'s) Ed25519 signature over the record as written (trust/record-signature.ts). */
  sig?: Uint8Array;
}

export type ReplicationFrame =
  | { t: 'repl-push'; records: ReplicaRecord[] }
  | { t: 'repl-digest'; digest: string }
  // `more`: further parts of the same list follow (a list too large for one frame is split).
  | { t: 'repl-versions'; versions: [string, string, NodeId, boolean][]; reply: boolean; more?: boolean };

/** Deeper than any record the stores write; bounds the walk below. */
const MAX_VALUE_DEPTH = 32;

/**
 * Whether `v` is plain JSON: a record is signed and kept as JSON text (trust/record-signature.ts),
 * and what JSON cannot hold (a BigInt, a byte string, NaN) could never have been signed.
 */
function isJson(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object' || depth >= MAX_VALUE_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return false;
  for (const k in v) if (!isJson((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

export function validateReplicationFrame(v: Record<string, unknown>): ReplicationFrame | string {
  const isStr = (x: unknown): x is string => typeof x === 'string';
  if (v.t === 'repl-digest') return isStr(v.digest) ? (v as unknown as ReplicationFrame) : 'repl-digest: bad digest';
  if (v.t === 'repl-versions') {
    return Array.isArray(v.versions) &&
      typeof v.reply === 'boolean' &&
      (v.more === undefined || typeof v.more === 'boolean') &&
      v.versions.every(
        (x) =>
          Array.isArray(x) && x.length === 4 && isStr(x[0]) && isStr(x[1]) && isStr(x[2]) && typeof x[3] === 'boolean',
      )
      ? (v as unknown as ReplicationFrame)
      : 'repl-versions: bad fields';
  }
  if (v.t === 'repl-push') {
    return Array.isArray(v.records) &&
      v.records.every((r: unknown) => {
        const x = r as Record<string, unknown>;
        return (
          typeof r === 'object' &&
          r !== null &&
          isStr(x.key) &&
          isStr(x.hlc) &&
          /^\d{15}\.\d{6}$/.test(x.hlc) &&
          isStr(x.node) &&
          typeof x.deleted === 'boolean' &&
          (x.expires === undefined || Number.isSafeInteger(x.expires)) &&
          (x.sig === undefined || (x.sig instanceof Uint8Array && x.sig.length === 64)) &&
          (x.value === undefined ||
            (typeof x.value === 'object' && x.value !== null && !Array.isArray(x.value) && isJson(x.value, 0)))
        );
      })
      ? (v as unknown as ReplicationFrame)
      : 'repl-push: bad records';
  }
  return `unknown replication frame ${String(v.t)}`;
}
