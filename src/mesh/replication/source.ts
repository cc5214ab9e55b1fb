// What the Replicator replicates: sources of independent records, each owning the keys with its
// prefixes. The security store is one (realms, groups, users, grants, sources); other state that
// must be the same on every node (OAuth2 public keys, refresh tokens, revoked tokens) is another,
// so one version table, one anti-entropy and one flood serve them all.

import type { SecurityStore } from '../../security/store.ts';
import { fromRecords, toRecords, type RecordValue } from './records.ts';

export interface RecordSource {
  /** Whether the record `key` is this source's (by its prefix). */
  owns(key: string): boolean;
  /** Every current record (expired ones left out). */
  snapshot(): Map<string, RecordValue>;
  /**
   * Applies remote changes (undefined: deleted) in one transaction, without announcing them to
   * `subscribe` listeners; returns the value each key holds afterwards (a source may drop what
   * it cannot hold, e.g. a user whose realm is gone). Throws when nothing could be applied.
   */
  apply(changes: ReadonlyMap<string, RecordValue | undefined>): ReadonlyMap<string, RecordValue | undefined>;
  /** `listener` runs after each local change (sync then records new versions). */
  subscribe(listener: () => void): () => void;
  /**
   * When a record stops mattering (ms since the epoch), for records that expire (a revoked
   * token's entry is useless once the token has expired). Past it every node forgets the record
   * and its version, with no tombstone: such records would otherwise pile up for ever.
   */
  expiresAt?(value: RecordValue): number | undefined;
}

/**
 * The security store as records (records.ts): an import of the merged document applies them.
 * It owns every key no other source owns (`ownedElsewhere`): whatever kinds the security
 * document holds (realms, groups, users, grants, sources, and any added later) are its own.
 */
export function securitySource(store: SecurityStore, ownedElsewhere: (key: string) => boolean): RecordSource {
  return {
    owns: (key) => !ownedElsewhere(key),
    snapshot: () => toRecords(store.exportDocument()),
    apply(changes) {
      const merged = toRecords(store.exportDocument());
      for (const [key, value] of changes) {
        if (value === undefined) merged.delete(key);
        else merged.set(key, value);
      }
      // Replication applies remote changes through the import, so this is where they end sessions.
      store.importDocument(fromRecords(merged));
      const after = toRecords(store.exportDocument());
      return new Map([...changes.keys()].map((key) => [key, after.get(key)]));
    },
    subscribe: (listener) => store.subscribe(() => listener()),
  };
}
